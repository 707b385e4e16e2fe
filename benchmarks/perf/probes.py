"""Throughput of the log-likelihood scorer (batched, shared context via KV cache) against a baseline on the same
items and model: lm-evaluation-harness where it is installed in its own environment (--lmeval-python), else a naive
loop of one forward pass per option. Prints items/s for each and the ratio.

    python -m benchmarks.perf.probes [--model DIR] [--n 64] [--bbq] [--lmeval-python /tmp/lmeval/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time

import numpy as np

from harness.cache import NoCache
from harness.generate import score_choices, score_choices_naive
from harness.models import load_generator
from harness.probe_data import load_bbq, load_choice_items, sample

# Run inside lm-eval's own environment: HFLM.loglikelihood on the same (context, continuation) requests.
LMEVAL_SCRIPT = r"""
import json, sys, time
from lm_eval.models.huggingface import HFLM
from lm_eval.api.instance import Instance
model, path, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
items = json.load(open(path))
lm = HFLM(pretrained=model, device="cpu", batch_size=batch, dtype="float32")
reqs = [Instance("loglikelihood", {}, (c, o), i) for i, (c, opts) in enumerate(items) for o in opts]
start = time.perf_counter()
out = lm.loglikelihood(reqs, disable_tqdm=True)
secs = time.perf_counter() - start
print(json.dumps({"seconds": secs, "logprobs": [float(o[0]) for o in out]}))
"""


def _items(args) -> list[tuple[str, list[str]]]:
    if args.bbq:
        return [(it.prompt, [" " + a for a in it.answers]) for it in sample(load_bbq("builtin")["bbq"], args.n, 0)]
    return [(it.context, list(it.choices)) for it in sample(load_choice_items("builtin")["forgetting"], args.n, 0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=64, help="items (seeded sample)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--bbq", action="store_true", help="BBQ items (long shared context) instead of the forgetting suite")
    ap.add_argument("--lmeval-python", default=None, help="python of a venv with lm-eval installed")
    args = ap.parse_args()
    handle = load_generator(args.model, device="cpu")
    items = _items(args)
    score_choices(handle, items[:2], cache=NoCache())  # warm-up
    start = time.perf_counter()
    ours = score_choices(handle, items, batch_size=args.batch_size, cache=NoCache())
    ours_s = time.perf_counter() - start
    if args.lmeval_python:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(items, f)
        done = subprocess.run([args.lmeval_python, "-c", LMEVAL_SCRIPT, handle.path, f.name, str(args.batch_size)],
                              capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        if done.returncode != 0:
            raise SystemExit(f"lm-eval failed:\n{done.stderr[-2000:]}")
        res = json.loads(done.stdout.strip().splitlines()[-1])
        base_name, base_s, base_lp = "lm-evaluation-harness", res["seconds"], res["logprobs"]
    else:
        start = time.perf_counter()
        naive = score_choices_naive(handle, items)
        base_name, base_s = "naive loop (one forward per option)", time.perf_counter() - start
        base_lp = [s.logprob for r in naive for s in r]
    ours_lp = [s.logprob for r in ours for s in r]
    agree = np.mean([int(np.argmax([s.mean for s in r])) == int(np.argmax([s.mean for s in n]))
                     for r, n in zip(ours, _regroup(base_lp, ours))]) if not args.lmeval_python else float("nan")
    n = len(items)
    print(f"{n} items ({sum(len(o) for _, o in items)} options), model {handle.name}, batch {args.batch_size}")
    print(f"  harness score_choices : {n / ours_s:8.2f} items/s ({ours_s:.2f} s)")
    print(f"  {base_name:22s}: {n / base_s:8.2f} items/s ({base_s:.2f} s)")
    print(f"  max |logprob difference| {max(abs(a - b) for a, b in zip(ours_lp, base_lp)):.2e}"
          + (f", same answer on {agree:.0%} of items" if agree == agree else ""))
    print(f"  ratio (harness / baseline): {base_s / ours_s:.2f}x")


def _regroup(flat: list[float], like):
    from harness.generate import OptionScore

    out, i = [], 0
    for r in like:
        out.append([OptionScore(flat[i + j], s.tokens) for j, s in enumerate(r)])
        i += len(r)
    return out


if __name__ == "__main__":
    main()

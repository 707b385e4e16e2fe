"""Throughput of the probes' log-likelihood scorer (batched, the shared context run once through the KV cache)
against lm-evaluation-harness itself on the same (context, continuation) requests and the same loaded model: lm-eval's
`HFLM.loglikelihood`, the call its multiple-choice tasks make. Target: >= 1.5x lm-eval's items/s.

    python -m benchmarks.perf.probes [--model DIR] [--n 64] [--batch-size 16] [--repeats 2] [--bbq] [--naive]

Both sides get the same in-memory model and tokenizer, the same items and batch size, one warm-up each, and are
timed including their own tokenization, alternating (--repeats), medians compared. Outputs must agree (else the benchmark fails, whatever the timings): every
option's summed log-probability within TOLERANCE of lm-eval's, and the same answer (the highest-scoring option) on
every item. lm-eval is the `bench` extra (`pip install -e '.[bench]'`; `make bench` installs it). `--naive` also
times the old baseline, one forward pass per option (benchmarks/README.md's earlier 5.51x was against that loop).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.perf.common import claim, finish, load

TARGET = 1.5
TOLERANCE = 1e-3  # nats, per option: float32 on a CPU, batched with different padding on the two sides


def lmeval_loglikelihood(handle, items: list[tuple[str, list[str]]], batch_size: int) -> tuple[float, list[float]]:
    """lm-eval's HFLM on this very model: seconds, and the summed log-probability of every option in item order."""
    try:
        from lm_eval.api.instance import Instance
        from lm_eval.models.huggingface import HFLM
    except ImportError as exc:
        raise SystemExit(f"lm-eval is not installed ({exc}): pip install -e '.[bench]' (make bench does)") from exc
    lm = HFLM(pretrained=handle.model, tokenizer=handle.tokenizer, batch_size=batch_size)
    reqs = [Instance("loglikelihood", {}, (c, o), i) for i, (c, opts) in enumerate(items) for o in opts]
    lm.loglikelihood(reqs[:2], disable_tqdm=True)  # warm-up
    start = time.perf_counter()
    out = lm.loglikelihood(reqs, disable_tqdm=True)
    return time.perf_counter() - start, [float(o[0]) for o in out]


def _items(args) -> list[tuple[str, list[str]]]:
    from harness.probes.data import load_bbq, load_choice_items, sample

    if args.bbq:
        return [(it.prompt, [" " + a for a in it.answers]) for it in sample(load_bbq("builtin")["bbq"], args.n, 0)]
    return [(it.context, list(it.choices)) for it in sample(load_choice_items("builtin")["forgetting"], args.n, 0)]


def _regroup(flat: list[float], items) -> list[list[float]]:
    out, i = [], 0
    for _, opts in items:
        out.append(flat[i : i + len(opts)])
        i += len(opts)
    return out


def agreement(ours: list[list[float]], theirs: list[list[float]]) -> tuple[float, float, str | None]:
    """Max |logprob difference|, share of items with the same answer, and what broke the tolerance (None: agreed)."""
    diff = max(abs(a - b) for r, t in zip(ours, theirs) for a, b in zip(r, t))
    same = float(np.mean([int(np.argmax(r)) == int(np.argmax(t)) for r, t in zip(ours, theirs)]))
    broken = []
    if diff > TOLERANCE:
        broken.append(f"max |logprob difference| {diff:.2e} > {TOLERANCE:.0e}")
    if same < 1:
        broken.append(f"a different answer on {1 - same:.0%} of items")
    return diff, same, "; ".join(broken) or None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=64, help="items (seeded sample)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--bbq", action="store_true", help="BBQ items (long shared context) instead of the forgetting suite")
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs of each side; medians compared")
    ap.add_argument("--naive", action="store_true", help="also time one forward pass per option")
    args = ap.parse_args(argv)
    from harness.backends.cache import NoCache
    from harness.backends.hf_generate import score_choices, score_choices_naive
    from harness.backends.hf import load_generator

    handle = load_generator(args.model, device="cpu")
    items = _items(args)
    score_choices(handle, items[:2], cache=NoCache())  # warm-up
    ours_t, lm_t = [], []
    for _ in range(args.repeats):  # alternating, so drifting machine load hits both sides
        start = time.perf_counter()
        ours = score_choices(handle, items, batch_size=args.batch_size, cache=NoCache())
        ours_t.append(time.perf_counter() - start)
        seconds, lm_flat = lmeval_loglikelihood(handle, items, args.batch_size)
        lm_t.append(seconds)
    ours_s, lm_s = float(np.median(ours_t)), float(np.median(lm_t))
    ours_lp = [[s.logprob for s in r] for r in ours]
    diff, same, broken = agreement(ours_lp, _regroup(lm_flat, items))
    n = len(items)
    print(f"{n} items ({sum(len(o) for _, o in items)} options), model {handle.name}, batch {args.batch_size}; {load()}")
    print(f"  harness score_choices         : {n / ours_s:8.2f} items/s ({ours_s:.2f} s)")
    print(f"  lm-eval HFLM.loglikelihood    : {n / lm_s:8.2f} items/s ({lm_s:.2f} s)")
    print(f"  max |logprob difference| {diff:.2e} (tolerance {TOLERANCE:.0e}), same answer on {same:.0%} of items")
    ratio = lm_s / ours_s
    claims = [claim("log-likelihood scoring items/s vs lm-eval HFLM.loglikelihood", ratio, f">= {TARGET}x",
                    ratio >= TARGET, note=f"{n} items, same answers {same:.0%}, max logprob diff {diff:.1e}")]
    if args.naive:
        start = time.perf_counter()
        score_choices_naive(handle, items)
        naive_s = time.perf_counter() - start
        print(f"  naive loop (one forward/option): {n / naive_s:8.2f} items/s ({naive_s:.2f} s)")
        claims.append(claim("log-likelihood scoring vs one forward pass per option", naive_s / ours_s, "(report)",
                            None))
    finish("probes", claims, broken, items=n, ours_s=ours_s, lmeval_s=lm_s, max_logprob_diff=diff, same_answer=same,
           load=load())


if __name__ == "__main__":
    main()

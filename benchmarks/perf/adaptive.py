"""Time to verdict of the default `harness run --task summarization`, fixed-n (--full) against adaptive
(--adaptive), each cold (its own fresh HARNESS_CACHE), one after the other in one process: the two figures share
the machine's state, so their ratio is the figure to read.

    python -m benchmarks.perf.adaptive [--task NAME] [--strategies A,B] [--limit N]

It checks that both runs recommend the same strategy, and reports the share of test predictions the adaptive run
made (target: at most 40%) and its wall time (target, for the default run: at most 5 minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks.perf.common import claim, finish, load
from benchmarks.perf.end_to_end import ROOT, harness_run


DEFAULT = ["--task", "summarization"]  # the README's first command: its verdict has the 5-minute target


def _run(mode: str, args: list[str], tmp: Path) -> tuple[float, object]:
    from harness.backends.hf import models_root
    from harness.record.store import RunStore

    env = dict(os.environ, HARNESS_CACHE=str(tmp / f"cache-{mode}"), HARNESS_MODELS=str(models_root()),
               PYTHONPATH=str(ROOT))
    seconds, run_dir = harness_run([*args, f"--{mode}", "--out", str(tmp / f"runs-{mode}")], env)
    record = RunStore.open(run_dir).read()
    print(f"{mode}: {seconds:.0f} s, recommends {record.recommendation.recommended} "
          f"({record.recommendation.verdict})", flush=True)
    return seconds, record


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="summarization")
    ap.add_argument("--strategies", help="default: the task's default strategies")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    cmd = ["--task", args.task] + (["--strategies", args.strategies] if args.strategies else []) \
        + (["--limit", str(args.limit)] if args.limit else [])
    print(f"harness run {' '.join(cmd)}: --full then --adaptive, each cold; {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        full_s, full = _run("full", cmd, Path(tmp))
        adaptive_s, adaptive = _run("adaptive", cmd, Path(tmp))
    a = adaptive.adaptive
    share = a.examples_generated / max(a.examples_full, 1)
    same = full.recommendation.recommended == adaptive.recommendation.recommended
    per_strategy = {n: {"used": s.adaptive.examples_used, "of": s.adaptive.examples_available,
                        "stopped": s.adaptive.stopped} for n, s in adaptive.strategies.items() if s.adaptive}
    print(f"adaptive verdict {a.verdict} after {len(a.looks)} looks; per strategy {per_strategy}", flush=True)
    claims = [claim("adaptive / full wall time", adaptive_s / full_s, "reported", None, note=f"{adaptive_s:.0f} s "
                    f"against {full_s:.0f} s"),
              claim("test predictions made, adaptive / full", share, "<= 0.40", share <= 0.40),
              claim("adaptive time to verdict", adaptive_s / 60, *(("<= 5 min", adaptive_s <= 300) if cmd == DEFAULT
                                                                  else ("reported", None)), unit=" min")]
    finish("adaptive", claims, agreement=None if same else (
        f"full recommends {full.recommendation.recommended}, adaptive {adaptive.recommendation.recommended}"),
           command=" ".join(cmd), full_s=full_s, adaptive_s=adaptive_s, verdict=a.verdict, looks=len(a.looks),
           per_strategy=per_strategy, load=load())


if __name__ == "__main__":
    main()

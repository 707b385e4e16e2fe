"""The default `harness run --task summarization`, end to end as a user runs it: cold (a fresh, empty HARNESS_CACHE;
the converted default model is reused, its one-time conversion is an install cost) and warm (the same command again:
the cache answers every generation, so what is left is start-up, model and task load, and the report).

    python -m benchmarks.perf.end_to_end [--limit N]    # no --limit: the full default run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.perf.common import Timer, emit, load

ROOT = Path(__file__).resolve().parents[2]


def harness_run(args: list[str], env: dict[str, str]) -> tuple[float, Path]:
    with Timer() as t:
        done = subprocess.run([sys.executable, "-m", "harness", "run", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"harness run failed:\n{done.stderr[-3000:]}")
    return t.seconds, Path(done.stdout.strip().splitlines()[-1])


def peak_of(run_dir: Path) -> float:
    """The largest peak resident memory over the run's strategies (each strategy's peak includes the loaded model)."""
    from harness.record.store import RunStore

    return max(s.cost.peak_rss_mb or 0.0 for s in RunStore.open(run_dir).read().strategies.values())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="examples per split (default: all, the real default run)")
    args = ap.parse_args(argv)
    from harness.backends.hf import models_root

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HARNESS_CACHE=str(Path(tmp) / "cache"), HARNESS_MODELS=str(models_root()),
                   PYTHONPATH=str(ROOT))
        cmd = ["--task", "summarization", "--out", str(Path(tmp) / "runs")]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        what = f"harness run --task summarization{f' --limit {args.limit}' if args.limit else ''}"
        print(f"{what}: cold (fresh cache) then warm; {load()}")
        cold, cold_dir = harness_run(cmd, env)
        print(f"cold: {cold:.1f} s")
        warm, warm_dir = harness_run(cmd, env)
        from harness.record.store import RunStore

        warm_rec, cold_rec = RunStore.open(warm_dir).read(), RunStore.open(cold_dir).read()
        cached = all(s.counts["test"].cached == s.counts["test"].examples for s in warm_rec.strategies.values())
        print(f"warm: {warm:.1f} s (every generation from the cache: {cached})")
        same = all(s.metrics == warm_rec.strategies[n].metrics for n, s in cold_rec.strategies.items())
        emit("end_to_end", command=what, limit=args.limit, cold_s=cold, warm_s=warm, warm_all_cached=cached,
             warm_metrics_identical=same, peak_rss_mb=max(peak_of(cold_dir), peak_of(warm_dir)),
             examples={n: s.counts["test"].examples for n, s in warm_rec.strategies.items()}, load=load())


if __name__ == "__main__":
    main()

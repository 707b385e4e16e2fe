"""What every perf benchmark shares: timing, peak memory, machine load, and one JSON line of results per benchmark."""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    """The 1-minute load average against the CPU count: on a shared machine, timings are only as good as this."""
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} CPUs"


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def emit(name: str, **result) -> None:
    """Print the result for people and one `RESULT {json}` line that `python -m benchmarks.perf` collects."""
    print(f"RESULT {json.dumps({'benchmark': name, **result}, default=str)}", flush=True)
    sys.stdout.flush()


def claim(measure: str, value: float, target: str, met: bool | None, *, unit: str = "x", note: str = "") -> dict:
    """One figure a benchmark stands for: what it measured, the figure, the target, and whether it was met (None:
    reported, no target). The closing table of `python -m benchmarks.perf` shows each."""
    return {"measure": measure, "value": float(value), "unit": unit, "target": target, "met": met, "note": note}


def finish(name: str, claims: list[dict], agreement: str | None = None, **result) -> None:
    """End a benchmark: one `RESULT LINE` per claim (figure, target, pass/fail) and the `RESULT {json}` line. Output
    agreement comes first: `agreement` is None when the compared outputs agreed within the stated tolerance, else
    what differed; then the benchmark fails (exit 1) whatever its timings, and a missed target fails it too."""
    for c in claims:
        verdict = {True: "PASS", False: "FAIL", None: "reported"}[c["met"]]
        print(f"RESULT LINE {name}: {c['measure']} = {c['value']:.3g}{c['unit']} (target {c['target']}) {verdict}"
              + (f"; {c['note']}" if c["note"] else ""), flush=True)
    if agreement:
        print(f"RESULT LINE {name}: outputs disagree beyond the tolerance: {agreement} FAIL", flush=True)
    emit(name, claims=claims, agreement=agreement or "ok", **result)
    if agreement or any(c["met"] is False for c in claims):
        sys.exit(1)

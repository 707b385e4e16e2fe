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

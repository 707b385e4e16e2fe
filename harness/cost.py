"""The cost ledger: what each strategy costs once (setup) and per query, in seconds, memory, tokens and dollars,
and the query volume at which one strategy's higher setup cost is repaid by its cheaper queries.

Everything here is derived from measurements in run.json; the only assumptions are the prices in
`decision.prices` (defaults in harness.config, overridable in YAML).
"""

from __future__ import annotations

import re
import resource
import time
from itertools import combinations
from pathlib import Path
from typing import Any

from harness.config import DecisionConfig
from harness.units import fmt_count, fmt_dollars  # noqa: F401  (re-exported: decide and the dry run print with them)


# --- measuring --------------------------------------------------------------------------------------------------

def _vm_hwm_mb() -> float | None:
    try:
        m = re.search(r"VmHWM:\s+(\d+)\s+kB", Path("/proc/self/status").read_text())
        return int(m.group(1)) / 1024 if m else None
    except OSError:
        return None


def _reset_peak_rss() -> bool:
    """Linux lets a process reset its own peak RSS (VmHWM) by writing 5 to /proc/self/clear_refs."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Meter:
    """Wall time and peak memory of a block: peak resident memory of this process (reset at entry where the OS
    allows it, else the process-wide peak so far) and, on a GPU, the peak CUDA memory allocated by torch."""

    def __enter__(self) -> "Meter":
        self.per_block = _reset_peak_rss()
        self.cuda = False
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
                self.cuda = True
        except ImportError:
            pass
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start
        hwm = _vm_hwm_mb() if self.per_block else None
        self.peak_rss_mb = hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.cuda_peak_mb = None
        if self.cuda:
            import torch

            self.cuda_peak_mb = torch.cuda.max_memory_allocated() / 2**20

    def fields(self) -> dict[str, Any]:
        return {"peak_rss_mb": self.peak_rss_mb, "peak_rss_scope": "strategy" if self.per_block else "process",
                "cuda_peak_mb": self.cuda_peak_mb}


def directory_bytes(path: Path | None) -> int:
    if not path or not Path(path).exists():
        return 0
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# --- dollars ----------------------------------------------------------------------------------------------------

def hourly_rate(device: str, decision: DecisionConfig) -> float:
    return decision.prices.gpu_per_hour if str(device).startswith("cuda") else decision.prices.cpu_per_hour


def strategy_cost(result: dict[str, Any], decision: DecisionConfig, split: str = "test",
                  model_prices: dict[str, Any] | None = None) -> dict[str, Any]:
    """One strategy's ledger row from its run.json entry. `model_prices` are its model's own (`models.NAME.prices`):
    per token for an API (which then costs no machine time), or per hour for a machine of your own."""
    cost = result.get("cost", {})
    timings = result.get("timings", {}).get(split, {})
    counts = result.get("counts", {}).get(split, {})
    device = cost.get("device", "cpu")
    mp = model_prices or {}
    api_in, api_out = mp.get("input_per_mtok"), mp.get("output_per_mtok")
    billed_per_token = api_in is not None or api_out is not None
    rate = mp["per_hour"] if mp.get("per_hour") is not None else hourly_rate(device, decision)
    eps = timings.get("examples_per_second")
    # Throughput under batching is what a deployment pays for; a fully cached split keeps the original latencies.
    per_query_s = 1 / eps if eps else timings.get("latency_p50")
    n = counts.get("examples") or 0
    tin = counts.get("tokens_in", 0) / n if n else None
    tout = counts.get("tokens_out", 0) / n if n else None
    if billed_per_token:  # the API's token price covers its serving
        per_query = (tin or 0.0) * (api_in or 0.0) / 1e6 + (tout or 0.0) * (api_out or 0.0) / 1e6
    else:
        per_query = (per_query_s or 0.0) * rate / 3600
        prices = decision.prices
        if prices.api_input_per_mtok is not None and tin is not None:
            per_query += tin * prices.api_input_per_mtok / 1e6
        if prices.api_output_per_mtok is not None and tout is not None:
            per_query += tout * prices.api_output_per_mtok / 1e6
    setup_s = cost.get("setup_seconds", 0.0) or 0.0
    setup_dollars = setup_s * rate / 3600
    monthly = per_query * decision.monthly_queries
    return {
        "device": device,
        "model": result.get("model", "base"),
        "backend": result.get("backend", "hf"),
        "pricing": "per token" if billed_per_token else "per hour",
        "setup_seconds": setup_s,
        "peak_memory_mb": cost.get("peak_rss_mb") or cost.get("peak_memory_mb") or None,
        "cuda_peak_mb": cost.get("cuda_peak_mb"),
        "trainable_params": cost.get("trainable_params", 0),
        "artifact_bytes": cost.get("artifact_bytes", 0),
        "seconds_per_query": per_query_s,
        "latency_p50": timings.get("latency_p50"),
        "latency_p95": timings.get("latency_p95"),
        "tokens_in_per_query": tin,
        "tokens_out_per_query": tout,
        "dollars_per_hour": rate,
        "setup_dollars": setup_dollars,
        "dollars_per_query": per_query,
        "dollars_per_month": monthly,
        "horizon_dollars": setup_dollars + decision.horizon_months * monthly,
    }


def ledger(record: dict[str, Any], decision: DecisionConfig) -> dict[str, dict[str, Any]]:
    return {name: strategy_cost(res, decision, model_prices=res.get("prices"))
            for name, res in record.get("strategies", {}).items() if res.get("status") == "complete"}


MIN_SETUP_DIFFERENCE = 0.01  # dollars: below a cent, neither strategy costs more up front (nothing to repay)


def break_even_queries(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Total queries after which `a` (dearer to set up, cheaper per query) becomes cheaper overall than `b`.
    None when there is nothing to repay: one of them is at least as cheap on both counts."""
    fixed = a["setup_dollars"] - b["setup_dollars"]
    saving = b["dollars_per_query"] - a["dollars_per_query"]
    if fixed < MIN_SETUP_DIFFERENCE or saving <= 0:
        return None
    return fixed / saving


def break_even(rows: dict[str, dict[str, Any]], monthly_queries: float) -> list[dict[str, Any]]:
    """For every pair: which one costs more up front, and the query volume (and months at the expected monthly
    volume) at which its per-query savings repay that; or which one is cheaper on both counts."""
    out = []
    for x, y in combinations(rows, 2):
        a, b = (x, y) if rows[x]["setup_dollars"] >= rows[y]["setup_dollars"] else (y, x)
        q = break_even_queries(rows[a], rows[b])
        if q is not None:
            out.append({"pair": [x, y], "upfront": a, "cheaper_per_query": a, "other": b, "queries": q,
                        "months": q / monthly_queries if monthly_queries else None})
        else:
            cheaper = b if rows[b]["dollars_per_query"] <= rows[a]["dollars_per_query"] else a
            out.append({"pair": [x, y], "upfront": a, "cheaper_per_query": cheaper, "other": b, "queries": None,
                        "months": None, "dominant": cheaper})
    return out

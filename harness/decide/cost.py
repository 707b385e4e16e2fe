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
from harness.record.recommendation import BreakEven, CostRow
from harness.record.run_record import RunRecord
from harness.record.results import StrategyResult


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
        """The StrategyCost fields it measured."""
        return {"peak_rss_mb": self.peak_rss_mb, "peak_rss_scope": "strategy" if self.per_block else "process",
                "cuda_peak_mb": self.cuda_peak_mb}


def directory_bytes(path: Path | None) -> int:
    if not path or not Path(path).exists():
        return 0
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# --- dollars ----------------------------------------------------------------------------------------------------

def strategy_cost(result: StrategyResult, decision: DecisionConfig, split: str = "test") -> CostRow:
    """One strategy's ledger row from its result. Its model's own prices (`models.NAME.prices`) come first: per
    token for an API (which then costs no machine time), or per hour for a machine of your own."""
    cost, mp = result.cost, result.prices
    timings = result.timings.get(split)
    counts = result.counts.get(split)
    billed_per_token = mp.input_per_mtok is not None or mp.output_per_mtok is not None
    rate = mp.per_hour if mp.per_hour is not None else decision.prices.per_hour(cost.device)
    eps = timings.examples_per_second if timings else None
    # Throughput under batching is what a deployment pays for; a fully cached split keeps the original latencies.
    per_query_s = 1 / eps if eps else (timings.latency_p50 if timings else None)
    n = counts.examples if counts else 0
    tin = counts.tokens_in / n if n else None
    tout = counts.tokens_out / n if n else None
    if billed_per_token:  # the API's token price covers its serving
        per_query = (tin or 0.0) * (mp.input_per_mtok or 0.0) / 1e6 + (tout or 0.0) * (mp.output_per_mtok or 0.0) / 1e6
    else:
        per_query = (per_query_s or 0.0) * rate / 3600
        prices = decision.prices
        if prices.api_input_per_mtok is not None and tin is not None:
            per_query += tin * prices.api_input_per_mtok / 1e6
        if prices.api_output_per_mtok is not None and tout is not None:
            per_query += tout * prices.api_output_per_mtok / 1e6
    setup_s = cost.setup_seconds or 0.0
    setup_dollars = setup_s * rate / 3600
    monthly = per_query * decision.monthly_queries
    return CostRow(
        device=cost.device, model=result.model, backend=result.backend,
        pricing="per token" if billed_per_token else "per hour", setup_seconds=setup_s,
        setup_source=cost.setup_source, setup_note=cost.setup_note,
        peak_memory_mb=cost.peak_rss_mb or cost.peak_memory_mb or None, cuda_peak_mb=cost.cuda_peak_mb,
        trainable_params=cost.trainable_params, artifact_bytes=cost.artifact_bytes, seconds_per_query=per_query_s,
        latency_p50=timings.latency_p50 if timings else None, latency_p95=timings.latency_p95 if timings else None,
        **_request_latency(result, timings),
        tokens_in_per_query=tin, tokens_out_per_query=tout, dollars_per_hour=rate, setup_dollars=setup_dollars,
        dollars_per_query=per_query, dollars_per_month=monthly,
        horizon_dollars=setup_dollars + decision.horizon_months * monthly)


def _request_latency(result: StrategyResult, timings) -> dict[str, Any]:
    """The ledger's request-latency fields: the split's p50/p95 at its batch or concurrency, and batch 1."""
    one = result.single_request
    return {"request_latency_p50": timings.request_latency_p50 if timings else None,
            "request_latency_p95": timings.request_latency_p95 if timings else None,
            "requests_in_flight": timings.requests_in_flight if timings else None,
            "single_request_s": one.total_p50 if one else None,
            "single_request_first_token_s": one.first_token_p50 if one else None,
            "single_requests": one.requests if one else None,
            "single_request_cached": bool(one and one.cached)}


def ledger(record: RunRecord, decision: DecisionConfig) -> dict[str, CostRow]:
    """The ledger rows of the complete strategies, in order."""
    return {name: strategy_cost(record.strategies[name], decision) for name in record.complete()}


MIN_SETUP_DIFFERENCE = 0.01  # dollars: below a cent, neither strategy costs more up front (nothing to repay)


def break_even_queries(a: CostRow, b: CostRow) -> float | None:
    """Total queries after which `a` (dearer to set up, cheaper per query) becomes cheaper overall than `b`.
    None when there is nothing to repay: one of them is at least as cheap on both counts."""
    fixed = a.setup_dollars - b.setup_dollars
    saving = b.dollars_per_query - a.dollars_per_query
    if fixed < MIN_SETUP_DIFFERENCE or saving <= 0:
        return None
    return fixed / saving


def break_even(rows: dict[str, CostRow], monthly_queries: float) -> list[BreakEven]:
    """For every pair: which one costs more up front, and the query volume (and months at the expected monthly
    volume) at which its per-query savings repay that; or which one is cheaper on both counts."""
    out = []
    for x, y in combinations(rows, 2):
        a, b = (x, y) if rows[x].setup_dollars >= rows[y].setup_dollars else (y, x)
        q = break_even_queries(rows[a], rows[b])
        if q is not None:
            out.append(BreakEven(pair=(x, y), upfront=a, cheaper_per_query=a, other=b, queries=q,
                                 months=q / monthly_queries if monthly_queries else None))
        else:
            cheaper = b if rows[b].dollars_per_query <= rows[a].dollars_per_query else a
            out.append(BreakEven(pair=(x, y), upfront=a, cheaper_per_query=cheaper, other=b, dominant=cheaper))
    return out

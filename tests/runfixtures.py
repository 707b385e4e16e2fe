"""Constructed run folders (run.json and predictions written through harness.record.store), so decision, report and
browser tests need no model. Every number in them is given by the test that builds them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.record.run_record import ModelInfo, RunRecord, TaskInfo
from harness.record.results import StrategyResult
from harness.measure.stats import summarize
from harness.record.store import RunStore


def make_run(out: Path, strategies: dict[str, dict[str, Any]], *, metric: str = "exact_match",
             higher_is_better: bool = True, decision: dict[str, Any] | None = None, task: str = "qa",
             references: dict[str, str] | None = None, outputs: dict[str, dict[str, str]] | None = None) -> RunStore:
    """strategies: {name: {"scores": [per-example metric values], "setup_seconds": s, "seconds_per_query": s,
    "trainable_params": n, "latency_p95": s, "forgetting": {...}, "bias": {...}, ...extra result fields}}.
    A spec may add "metrics": {other metric: [per-example test values]} (saved with the predictions, so compared)
    and "splits": {other split: {metric: [values]}} (summarised only); the task's metrics are all of them."""
    store = RunStore.create(out, task)
    record = RunRecord(
        run_id=store.path.name, status="complete", created="2026-01-01T00:00:00+00:00",
        command="harness run (constructed)",
        config=RunConfig.model_validate({"task": task, "seed": 0, "decision": decision or {}}),
        environment={"python": "3.11", "packages": {}},
        task=TaskInfo(name=task, kind="qa", metrics=[metric], sizes={}),
        model=ModelInfo(name="constructed", parameters=1_000_000, device="cpu", fingerprint="0" * 16),
        strategy_order=list(strategies))
    for name, spec in strategies.items():
        scores = spec["scores"]
        n = len(scores)
        record.task.sizes["test"] = n
        rows = []
        for i, v in enumerate(scores):
            ex_id = f"ex-{i:03d}"
            rows.append({"example_id": ex_id, "prompt": f"Question {i}?",
                         "output": (outputs or {}).get(name, {}).get(ex_id, f"{name} answer {i}"),
                         "references": [(references or {}).get(ex_id, f"reference {i}")], "tokens_in": 100,
                         "tokens_out": 10, "seconds": spec.get("seconds_per_query", 0.5), "retrieved": [],
                         "truncated": False, "cached": False,
                         "scores": {metric: v, **{m: vs[i] for m, vs in spec.get("metrics", {}).items()}}})
        store.append_predictions(name, "test", rows)
        spq = spec.get("seconds_per_query", 0.5)
        test = {metric: scores, **spec.get("metrics", {})}
        splits = {"test": test, **spec.get("splits", {})}
        record.task.metrics = list(dict.fromkeys([*record.task.metrics, *test]))
        result = {
            "status": "complete", "fingerprint": name,
            "metrics": {split: {m: vars(summarize(m, vs, higher_is_better=higher_is_better)) for m, vs in by.items()}
                        for split, by in splits.items()},
            "counts": {"test": {"examples": n, "cached": 0, "truncated": 0, "tokens_in": 100 * n, "tokens_out": 10 * n}},
            "timings": {"test": {"predict_seconds": spq * n, "examples_per_second": 1 / spq,
                                 "latency_p50": spq, "latency_p95": spec.get("latency_p95", spq * 1.5),
                                 "request_latency_p50": spq, "request_latency_p95": spec.get("latency_p95", spq * 1.5),
                                 "requests_in_flight": 1, "latency_requests": n}},
            "cost": {"setup_seconds": spec.get("setup_seconds", 0.0), "trainable_params": spec.get("trainable_params", 0),
                     "artifact_bytes": spec.get("artifact_bytes", 0), "peak_memory_mb": 500.0, "device": "cpu",
                     "peak_rss_mb": 500.0, "peak_rss_scope": "strategy"},
        }
        for key in ("forgetting", "bias", "overfitting", "learning_curve", "retrieval"):
            if key in spec:
                result[key] = spec[key]
        record.strategies[name] = StrategyResult.model_validate(result)
    store.write(record)
    return store


def analysed(store: RunStore) -> RunRecord:
    """The record with comparisons, cost ledger and recommendation added, as the runner writes it."""
    from harness.decide.recommend import analyse

    record = store.read()
    analyse(store, record)
    store.write(record)
    return record


def assert_tables_rectangular(markdown: str) -> None:
    """Every row of every Markdown table has its header's number of cells (an unescaped | would add one)."""
    width = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        cells = len(re.split(r"(?<!\\)\|", line)) - 2
        width = width or cells
        assert cells == width, line

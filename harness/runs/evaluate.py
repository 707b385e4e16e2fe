"""Predicting a strategy's evaluation examples in one stream of batches, each row saved as it comes, and what
a split's rows sum to (its metrics with CIs, its counts, its timings)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from harness import interrupt
from harness.console import console, progress
from harness.measure import overfitting
from harness.measure.metrics import aggregate, score
from harness.measure.metrics import get as get_metric
from harness.record.results import Counts, Score, SplitTimings
from harness.strategy.context import RunContext
from harness.types import Example


def evaluation_splits(ctx: RunContext) -> list[str]:
    """The splits every strategy is scored on: test (accuracy), a train sample and ood (overfitting)."""
    return ["test", *overfitting.overfitting_splits(ctx)]


def split_examples(ctx: RunContext, splits: list[str]) -> dict[str, list[Example]]:
    """Each split's examples as evaluated (the overfitting samples capped, harness.measure.overfitting)."""
    return {split: overfitting.split_examples(ctx, split) for split in splits}


def evaluate_splits(ctx: RunContext, adapted,
                    examples: dict[str, list[Example]]) -> dict[str, tuple[dict[str, Score], Counts, SplitTimings]]:
    """Predict the given examples of each split of a strategy in one stream of batches, streaming rows to each
    split's file; rows already saved (a resumed run, an earlier round) are kept. One stream means full batches
    across splits (a small train or ood sample does not pay for a half-empty batch of its own).

    Only what aggregation needs (per-example scores, seconds and counts) stays in memory; prompts and outputs live
    in the predictions files. Between batches it stops cleanly if a stop was asked for (SIGINT/SIGTERM).
    """
    store, name = ctx.store, adapted.name
    # corpus-level metrics (macro-F1) need every output and reference; those are short labels
    keep = _AGGREGATED + (("output", "references") if any(get_metric(m).corpus for m in ctx.task.metrics) else ())
    splits = list(examples)
    done: dict[str, dict[str, dict]] = {}
    for split in splits:
        if store:
            store.repair_predictions(name, split)
        done[split] = {r["example_id"]: _compact(r, keep) for r in store.read_predictions(name, split)} if store else {}
    todo = [(split, ex) for split in splits for ex in examples[split] if ex.id not in done[split]]
    todo.sort(key=lambda item: -len(item[1].input))  # similar lengths share a batch: less padding
    total = sum(len(v) for v in examples.values())
    seconds = {split: 0.0 for split in splits}
    bs = ctx.config.batch_size
    start = time.perf_counter()
    with progress() as bar:
        job = bar.add_task(f"{name} · {' + '.join(f'{s} {len(examples[s])}' for s in splits)}", total=total,
                           completed=total - len(todo), rate="")
        for i in range(0, len(todo), bs):
            interrupt.check()
            batch = todo[i : i + bs]
            t0 = time.perf_counter()
            predictions = adapted.predict([ex for _, ex in batch])
            for split in {split for split, _ in batch}:
                rows = [_row(ctx, p, ex) for (s, ex), p in zip(batch, predictions) if s == split]
                if store:
                    store.append_predictions(name, split, rows)
                done[split].update((r["example_id"], _compact(r, keep)) for r in rows)
                seconds[split] += (time.perf_counter() - t0) * len(rows) / len(batch)
            elapsed = time.perf_counter() - start
            bar.update(job, advance=len(batch), rate=f"{(i + len(batch)) / max(elapsed, 1e-9):.2f} ex/s")
    in_flight = adapted.model.in_flight(min(bs, max(total, 1)))  # a run smaller than one batch runs as one
    return {split: _summarize_split(ctx, name, split, [done[split][ex.id] for ex in examples[split]], seconds[split],
                                    in_flight) for split in splits}


def _summarize_split(ctx: RunContext, name: str, split: str, rows: list[dict], predict_seconds: float,
                     in_flight: int | None = None) -> tuple[dict[str, Score], Counts, SplitTimings]:
    scores = {m: aggregate(m, rows, seed=ctx.seed) for m in ctx.task.metrics}
    secs = np.array([r["seconds"] for r in rows])
    # cached rows keep the seconds measured when they were computed (a warm re-run bills what the cold run did);
    # a row cached before timings were kept has none and is left out
    fresh = [r for r in rows if not r["cached"] or r["seconds"] > 0]
    waits = np.array([r["latency"] for r in rows if r.get("latency") is not None])  # cached rows keep theirs
    timings = SplitTimings(
        predict_seconds=predict_seconds,
        examples_per_second=len(fresh) / max(sum(r["seconds"] for r in fresh), 1e-9) if fresh else None,
        latency_p50=float(np.percentile(secs, 50)), latency_p95=float(np.percentile(secs, 95)),
        request_latency_p50=float(np.percentile(waits, 50)) if len(waits) else None,
        request_latency_p95=float(np.percentile(waits, 95)) if len(waits) else None,
        requests_in_flight=in_flight if len(waits) else None, latency_requests=len(waits))
    counts = Counts(examples=len(rows), cached=sum(r["cached"] for r in rows),
                    truncated=sum(r["truncated"] for r in rows), tokens_in=sum(r["tokens_in"] for r in rows),
                    tokens_out=sum(r["tokens_out"] for r in rows))
    if counts.truncated:
        console.print(f"[yellow]Warning:[/] {name} · {split}: {counts.truncated} of {len(rows)} prompts were longer "
                      f"than the model's context window ({ctx.model.context_length} tokens) and were truncated "
                      "(the middle of the prompt was cut; the count is in run.json under counts.truncated).")
    return scores, counts, timings


_AGGREGATED = ("scores", "seconds", "cached", "truncated", "tokens_in", "tokens_out", "latency")


def _compact(row: dict[str, Any], keep: tuple[str, ...] = _AGGREGATED) -> dict[str, Any]:
    """The part of a prediction row that aggregation needs; the prompt and output stay on disk. A row written
    before request latencies were kept has none (None, not 0)."""
    return {k: row.get(k, None if k == "latency" else 0) for k in keep}


def _row(ctx: RunContext, p, example: Example) -> dict[str, Any]:
    p.scores = score(ctx.task.metrics, p.output, p.references, example)
    return p.to_dict()

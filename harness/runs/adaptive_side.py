"""An adaptive run's overfitting samples, sized for the decision like its test split: each sample (the train
sample, the ood split) is evaluated in its seeded order in rounds of `adaptive.round`, and after each round an
anytime-valid sequence on its gap with the test split (train - test, test - ood: a difference of two independent
means, harness.measure.sequential.gap_sequence) on the decision metric decides. It stops when the gap is shown (the
sequence excludes 0), when it is shown within ±`adaptive.side_margin`, or when the sample runs out. The probes
stop the same way (harness.probes.adaptive).

Every look reads the saved predictions, so a resumed run takes the same stops and predicts only what it had not.
"""

from __future__ import annotations

import numpy as np

from harness.console import console, escape
from harness.measure.overfitting import TRAIN_SAMPLE, overfitting_splits, side_order
from harness.measure.sequential import SequenceBound, gap_sequence, side_rounds
from harness.record.results import SideStop
from harness.runs.evaluate import evaluate_splits
from harness.strategy.prepared import Prepared


def overfitting_rounds(p: Prepared, metric: str, test_scores: list[float]) -> dict:
    """Each overfitting split of the strategy evaluated in rounds until its gap settles; returns what
    evaluate_splits returns for those splits (over the items used, with the seconds of every round), and keeps
    each split's stop in `p.side_stops` for the overfitting measurement."""
    ctx, cfg = p.ctx, p.ctx.config
    evaluated = {}
    for split in overfitting_splits(ctx):
        order = side_order(ctx, split)
        if not order:
            continue
        seconds = [0.0]

        def look(n: int, split=split, order=order, seconds=seconds) -> dict[str, SequenceBound]:
            _, _, timings = evaluate_splits(ctx, p.adapted, {split: order[:n]})[split]
            seconds[0] += timings.predict_seconds
            by_id = {r["example_id"]: r["scores"].get(metric) for r in ctx.store.read_predictions(p.name, split)}
            scores = [by_id[ex.id] for ex in order[:n]]
            if not _bounded(scores) or not _bounded(test_scores):
                return {}  # no sequence on scores outside [0, 1]: evaluated in full, as a fixed-n run does
            if split == TRAIN_SAMPLE:
                return {metric: gap_sequence(scores, test_scores, cfg.decision.alpha)}
            gap = gap_sequence(scores, test_scores, cfg.decision.alpha)  # ood - test; recorded as test - ood
            return {metric: SequenceBound(-gap.upper, -gap.lower, gap.n, -gap.mean, gap.alpha)}

        found = side_rounds(len(order), cfg.adaptive.round, cfg.adaptive.side_margin, look)
        evaluated[split] = evaluate_splits(ctx, p.adapted, {split: order[:found.n]})[split]  # all saved: a summary
        evaluated[split][2].predict_seconds = seconds[0]
        p.side_stops[split] = SideStop.of("overfitting", split, found, len(order), cfg.adaptive.side_margin)
        _say(p.name, split, p.side_stops[split])
    return evaluated


def _bounded(scores: list) -> bool:
    v = np.asarray([s if s is not None else np.nan for s in scores], dtype=float)
    return bool(len(v)) and bool(np.all(np.isfinite(v))) and v.min() >= 0 and v.max() <= 1


def _say(name: str, split: str, stop: SideStop) -> None:
    shown = ", ".join(f"{f} {b.mean:+.3f} [{b.lower:+.3f}, {b.upper:+.3f}]" for f, b in stop.sequences.items())
    console.print(f"adaptive · {escape(name)} · overfitting {split}: {stop.items_used} of {stop.items_available} "
                  f"({stop.stopped}){' · ' + shown if shown else ''}")

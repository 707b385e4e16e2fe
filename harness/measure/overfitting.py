"""Overfitting, for every strategy: the task metric on a sample of the training split against the test split (the
gap, with a CI), and on the `ood` split where the task has one.

The training sample is the head of one seeded order of the train split, and fine-tuning trains on a longer head of
the same order, so the sample is always made of examples the fine-tuned model actually saw.
"""

from __future__ import annotations

import random
from typing import Any

from harness.measure.measurement import Measurement
from harness.registry import measurements
from harness.measure.metrics import get as get_metric
from harness.record.results import Overfitting
from harness.measure.sequential import anytime_difference
from harness.measure.stats import independent_difference
from harness.types import Example

TRAIN_SAMPLE = "train_sample"


def seeded_order(examples: list[Example], seed: int) -> list[Example]:
    """The train split in one seeded order: training takes its head, the overfitting sample a shorter head."""
    order = list(examples)
    random.Random(f"train-order-{seed}").shuffle(order)
    return order


def split_examples(ctx, split: str) -> list[Example]:
    """The examples of a split as evaluated: `train_sample` and `ood` are capped at config.overfit_sample."""
    n = ctx.config.side(ctx.config.overfit_sample)
    if split == TRAIN_SAMPLE:
        return seeded_order(ctx.task.split("train"), ctx.seed)[:n]
    examples = ctx.task.split(split)
    if split == "ood" and n and len(examples) > n:
        keep = sorted(random.Random(f"ood-{ctx.seed}").sample(range(len(examples)), n))
        return [examples[i] for i in keep]
    return examples


def side_order(ctx, split: str) -> list[Example]:
    """A split's sample in the order an adaptive run evaluates it, round by round: the train sample is already the
    head of a seeded order; the ood sample (kept in file order) is shuffled with the seed."""
    examples = list(split_examples(ctx, split))
    if split != TRAIN_SAMPLE:
        random.Random(f"ood-order-{ctx.seed}").shuffle(examples)
    return examples


def overfitting_splits(ctx) -> list[str]:
    if not ctx.config.overfit_sample:
        return []
    return ([TRAIN_SAMPLE] if "train" in ctx.task.splits else []) + (["ood"] if "ood" in ctx.task.splits else [])


@measurements.add
class OverfittingGaps(Measurement):
    name = "overfitting"

    def measure(self, prepared, splits):
        found = {"overfitting": gaps(prepared.ctx, prepared.name, seed=prepared.ctx.seed, stops=prepared.side_stops)}
        return found | ({"side_stops": list(prepared.side_stops.values())} if prepared.side_stops else {})


def gaps(ctx, strategy: str, seed: int = 0, stops: dict | None = None) -> Overfitting:
    """Per metric: train-sample minus test, and test minus ood, each a difference of two independent means with a
    bootstrap CI (the samples hold different examples, so they cannot be paired). Read from the saved predictions.
    In an adaptive run (`stops`: split -> SideStop) a split sample stopped early keeps its items used, and its gap
    on the metric it stopped on carries that sequence's interval (harness.measure.sequential.anytime_difference)."""
    if ctx.store is None:
        return Overfitting()
    per_split: dict[str, list[dict]] = {}
    for split in ["test", *overfitting_splits(ctx)]:
        stop = (stops or {}).get(split)
        ids = {ex.id for ex in (side_order(ctx, split)[:stop.items_used] if stop else split_examples(ctx, split))}
        per_split[split] = [r for r in ctx.store.read_predictions(strategy, split) if r["example_id"] in ids]
    out: dict[str, Any] = {}
    pairs = [("train_minus_test", TRAIN_SAMPLE, "test"), ("test_minus_ood", "test", "ood")]
    for label, a, b in pairs:
        if len(per_split.get(a, [])) < 2 or len(per_split.get(b, [])) < 2:
            continue  # a difference of means needs two observations on each side
        out[label] = {
            m: independent_difference([r["scores"][m] for r in per_split[a]], [r["scores"][m] for r in per_split[b]],
                                      seed=seed) | {"higher_is_better": get_metric(m).higher_is_better}
            for m in ctx.task.metrics
            if get_metric(m).fn is not None  # corpus-level metrics (macro-F1) have no per-example scores
        }
    for label, split in (("train_minus_test", TRAIN_SAMPLE), ("test_minus_ood", "ood")):
        stop = (stops or {}).get(split)
        if stop is None or stop.stopped == "exhausted":
            continue
        for metric, bound in stop.sequences.items():
            if metric in out.get(label, {}):
                out[label][metric] = anytime_difference(out[label][metric], bound, stop.items_used,
                                                        stop.items_available)
    return Overfitting.model_validate(out)

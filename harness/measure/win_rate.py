"""Preference win rate against the base model: per test example, is the adapted output preferred over the base
model's output by the task's scorer (its first metric)? win = 1, tie = 0.5, loss = 0; the mean with a 95% bootstrap
CI (harness.measure.stats). A strategy says when it is computed (`Strategy.win_rate`): always (dpo, whose point is
preference), never (zero-shot: it is the base model), or, by default, on tasks that ask for it (`extra: {win_rate:
true}` in task.yaml, as the built-in `preference` task does)."""

from __future__ import annotations

from harness.measure.measurement import Measurement
from harness.registry import measurements
from harness.strategy.base import Strategy
from harness.strategy.context import RunContext
from harness.measure.metrics import get as get_metric
from harness.measure.metrics import score
from harness.record.results import WinRate
from harness.measure.stats import summarize



@measurements.add
class WinRateAgainstBase(Measurement):
    name = "win_rate"

    def applies(self, prepared):
        return applies(prepared.ctx, prepared.strategy)

    def measure(self, prepared, splits):  # preferred over the base model's output, by the task's scorer
        return {"win_rate": against_base(prepared.ctx, prepared.name)}


def applies(ctx: RunContext, strategy: Strategy) -> bool:
    if ctx.task.labels or ctx.store is None:
        return False  # classification answers are labels: accuracy already compares them
    return strategy.win_rate if strategy.win_rate is not None else bool(ctx.task.extra.get("win_rate"))


def outcome(adapted: float, base: float, higher_is_better: bool = True) -> float:
    """1 if the adapted output scores better than the base's, 0.5 on a tie, 0 if worse."""
    if adapted == base:
        return 0.5
    return 1.0 if (adapted > base) == higher_is_better else 0.0


def against_base(ctx: RunContext, name: str) -> WinRate:
    """The strategy's test predictions (read back from its predictions file) against the base model's outputs on
    the same prompts (generated through the cache, so free when zero-shot ran)."""
    from harness.strategy.prompted import PromptedModel

    metric = ctx.task.metrics[0]
    higher = get_metric(metric).higher_is_better
    rows = {r["example_id"]: r for r in ctx.store.read_predictions(name, "test")}
    examples = [ex for ex in ctx.task.split("test") if ex.id in rows]
    base = PromptedModel("prompt", ctx, fingerprint="base").predict(examples)
    outcomes = []
    for ex, b in zip(examples, base):
        mine = rows[ex.id]["scores"].get(metric)
        if mine is None:
            mine = score([metric], rows[ex.id]["output"], ex.references, ex)[metric]
        outcomes.append(outcome(mine, score([metric], b.output, ex.references, ex)[metric], higher))
    s = summarize("win_rate", outcomes, seed=ctx.seed)
    return WinRate(metric=metric, value=s.value, ci_low=s.ci_low, ci_high=s.ci_high, n=s.n,
                   wins=outcomes.count(1.0), ties=outcomes.count(0.5), losses=outcomes.count(0.0))

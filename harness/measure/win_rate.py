"""Preference win rate: per test example, is the adapted output preferred over another output on the same prompt
by the task's scorer (its first metric)? win = 1, tie = 0.5, loss = 0; the mean with a 95% bootstrap CI
(harness.measure.stats). Against the base model's output, and against the strategies a strategy names in
`win_rate_against` (dpo: `lora`, the supervised adapter it starts from), on the test examples both predicted.
A strategy says when it is computed (`Strategy.win_rate`): always (dpo, whose point is preference), never
(zero-shot: it is the base model), or, by default, on tasks that ask for it (`extra: {win_rate: true}` in
task.yaml, as the built-in `preference` task does)."""

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

    def measure(self, prepared, splits):  # preferred over the base model's output (and others'), by the task's scorer
        ctx, name = prepared.ctx, prepared.name
        others = {other: w for other in prepared.strategy.win_rate_against if other != name
                  and (w := against_strategy(ctx, name, other)) is not None}
        return {"win_rate": against_base(ctx, name), "win_rate_against": others}


def applies(ctx: RunContext, strategy: Strategy) -> bool:
    if ctx.task.labels or ctx.store is None:
        return False  # classification answers are labels: accuracy already compares them
    return strategy.win_rate if strategy.win_rate is not None else bool(ctx.task.extra.get("win_rate"))


def outcome(adapted: float, base: float, higher_is_better: bool = True) -> float:
    """1 if the adapted output scores better than the other's, 0.5 on a tie, 0 if worse."""
    if adapted == base:
        return 0.5
    return 1.0 if (adapted > base) == higher_is_better else 0.0


def _rows(ctx: RunContext, name: str) -> dict[str, dict]:
    return {r["example_id"]: r for r in ctx.store.read_predictions(name, "test")}


def _score(ctx: RunContext, metric: str, row: dict, ex) -> float:
    """A prediction row's score: as recorded, or scored now from its output."""
    mine = row["scores"].get(metric)
    return mine if mine is not None else score([metric], row["output"], ex.references, ex)[metric]


def against_base(ctx: RunContext, name: str) -> WinRate:
    """The strategy's test predictions (read back from its predictions file) against the base model's outputs on
    the same prompts (generated through the cache, so free when zero-shot ran)."""
    from harness.strategy.prompted import PromptedModel

    metric = ctx.task.metrics[0]
    rows = _rows(ctx, name)
    examples = [ex for ex in ctx.task.split("test") if ex.id in rows]
    base = PromptedModel("prompt", ctx, fingerprint="base").predict(examples)
    theirs = [score([metric], b.output, ex.references, ex)[metric] for ex, b in zip(examples, base)]
    return win_rate(ctx, metric, [_score(ctx, metric, rows[ex.id], ex) for ex in examples], theirs, "base")


def against_strategy(ctx: RunContext, name: str, other: str) -> WinRate | None:
    """The strategy's test predictions against another strategy's of this run (read back from both predictions
    files), on the test examples both predicted; None where `other` has no test predictions in this run (not run,
    or not yet: it is listed after this one)."""
    metric = ctx.task.metrics[0]
    mine, theirs = _rows(ctx, name), _rows(ctx, other)
    examples = [ex for ex in ctx.task.split("test") if ex.id in mine and ex.id in theirs]
    if not examples:
        return None
    return win_rate(ctx, metric, [_score(ctx, metric, mine[ex.id], ex) for ex in examples],
                    [_score(ctx, metric, theirs[ex.id], ex) for ex in examples], other)


def win_rate(ctx: RunContext, metric: str, mine: list[float], theirs: list[float], against: str) -> WinRate:
    """The one computation: per example outcome (1 / 0.5 / 0), their mean with a 95% bootstrap CI."""
    higher = get_metric(metric).higher_is_better
    outcomes = [outcome(m, t, higher) for m, t in zip(mine, theirs)]
    s = summarize("win_rate", outcomes, seed=ctx.seed)
    return WinRate(metric=metric, against=against, value=s.value, ci_low=s.ci_low, ci_high=s.ci_high, n=s.n,
                   wins=outcomes.count(1.0), ties=outcomes.count(0.5), losses=outcomes.count(0.0))

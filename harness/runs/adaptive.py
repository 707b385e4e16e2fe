"""Adaptive evaluation: the test split in one seeded order, in rounds, every running strategy on the same examples.

After each round, an anytime-valid confidence sequence on each paired difference of the decision metric
(harness.measure.sequential) decides: stop at a winner (the leader is better than every other), at equivalence
(every difference within `adaptive.margin`), or when the split runs out (then the fixed-n analysis decides, as in
a full run). A strategy shown worse than the leader stops being evaluated at that look. The sequences hold at
every look at once, so looking after every round does not inflate false wins.

Every look is replayed from the saved predictions: a resumed run takes the same decisions and predicts only what
it had not, and a strategy is prepared (trained, indexed) only when it has examples left to predict.
"""

from __future__ import annotations

import math
import random

from harness.console import console, escape
from harness.decide.recommend import JUDGED
from harness.errors import HarnessError
from harness.measure.metrics import get as get_metric
from harness.measure.sequential import RoundDecision, decide_round
from harness.measure.measurement import Measurement
from harness.record.results import AdaptiveStop, SequenceAtStop, StrategyResult
from harness.record.run_record import AdaptiveRun, RoundLook, RunRecord
from harness.runs.adaptive_side import overfitting_rounds
from harness.runs.evaluate import evaluate_splits
from harness.runs.strategy_steps import finish_strategy, prepare_strategy
from harness.strategy.base import Strategy
from harness.strategy.context import RunContext
from harness.strategy.prepared import Prepared
from harness.types import Example


def decision_metric(config, task) -> str:
    """The metric the verdict rests on (decision.metric, else the task's first); adaptive stopping needs a score
    per example."""
    name = config.decision.metric or task.metrics[0]
    if name in JUDGED:
        raise HarnessError(f"Adaptive evaluation stops on scores computed as examples are predicted, and the decision "
                           f"metric '{name}' comes from the judge, after a strategy's predictions.",
                           hint=f"Leave decision.metric unset (the rounds stop on {task.metrics[0]}; the judge's scores "
                                "are still shown) or run with --full.")
    if get_metric(name).fn is None:
        per_example = [m for m in task.metrics if get_metric(m).fn is not None]
        raise HarnessError(f"Adaptive evaluation stops on per-example scores, and the decision metric '{name}' is "
                           "corpus-level (computed over all outputs at once).",
                           hint=("Set decision.metric to a per-example metric (" + ", ".join(per_example) + ") or "
                                 "run with --full.") if per_example else "Run with --full.")
    return name


def test_order(ctx: RunContext) -> list[Example]:
    """The test split in the run's seeded order: round r evaluates its first r x round examples."""
    order = list(ctx.task.split("test"))
    random.Random(f"adaptive-{ctx.seed}").shuffle(order)
    return order


class Rounds:
    """The state of one adaptive run: which strategies still run, what each was prepared as, where each stopped."""

    def __init__(self, ctx: RunContext, record: RunRecord, plan: dict[str, Strategy], pool,
                 measures: list[Measurement]):
        cfg, decision = ctx.config.adaptive, ctx.config.decision
        self.ctx, self.record, self.plan, self.pool, self.measures = ctx, record, plan, pool, measures
        self.names = names = list(plan)
        self.metric = decision_metric(ctx.config, ctx.task)
        self.higher = get_metric(self.metric).higher_is_better
        self.order = test_order(ctx)
        self.prepared: dict[str, Prepared] = {}
        self.test_seconds: dict[str, float] = {}  # wall seconds each spent predicting its rounds in this process
        self.stops: dict[str, tuple[str, int, list[SequenceAtStop]]] = {}  # name -> (why, examples used, bounds)
        record.adaptive = AdaptiveRun(metric=self.metric, higher_is_better=self.higher, alpha=decision.alpha,
                                      alpha_each=decision.alpha / max(len(names) - 1, 1), margin=cfg.margin,
                                      round=cfg.round, order_seed=ctx.seed,
                                      examples_full=len(self.order) * len(names))

    def run(self) -> None:
        """Rounds until a verdict or the end of the split; every look is written to run.json as it is taken."""
        running, n, size = list(self.names), 0, self.ctx.config.adaptive.round
        while running:
            n = min(n + size, len(self.order))
            for name in running:
                self._predict(name, self.order[:n])
            self.record.adaptive.examples_generated = sum(self._used(name, n) for name in self.names)
            if len(running) < 2:  # one strategy: nothing to compare, evaluated in full
                if n == len(self.order):
                    self._stop(running, "exhausted", n, [])
                    self.record.adaptive.verdict, running = "exhausted", []
                continue
            decision = self._look(running, n)
            for name in decision.worse:
                self._stop([name], "worse", n, _bounds(decision, name))
            running = [name for name in running if name not in decision.worse]
            if decision.verdict != "continue" or n == len(self.order):
                verdict = "exhausted" if decision.verdict == "continue" else decision.verdict
                self._stop(running, verdict, n, _bounds(decision, None))
                self.record.adaptive.verdict, running = verdict, []
            self.record.adaptive.leader = decision.leader
            self.ctx.store.write(self.record)

    def _predict(self, name: str, examples: list[Example]) -> None:
        done = {r["example_id"] for r in self.ctx.store.read_predictions(name, "test")}
        if all(ex.id in done for ex in examples):
            return  # replayed from the saved rows (a resumed run): nothing to prepare or predict
        if name not in self.prepared:  # prepared (trained, indexed) when it first has examples to predict
            self.prepared[name] = prepare_strategy(self.ctx, name, self.plan[name], self.pool)
        p = self.prepared[name]
        _, _, timings = evaluate_splits(p.ctx, p.adapted, {"test": examples})["test"]
        self.test_seconds[name] = self.test_seconds.get(name, 0.0) + timings.predict_seconds

    def _scores(self, name: str, n: int) -> list[float]:
        by_id = {r["example_id"]: r["scores"][self.metric] for r in self.ctx.store.read_predictions(name, "test")}
        return [by_id[ex.id] for ex in self.order[:n]]

    def _look(self, running: list[str], n: int) -> RoundDecision:
        cfg = self.record.adaptive
        decision = decide_round({name: self._scores(name, n) for name in running}, cfg.alpha, cfg.margin,
                                self.higher, compared=len(self.names) - 1)
        bounds = _bounds(decision, None)
        cfg.looks.append(RoundLook(n=n, leader=decision.leader, sequences=bounds, worse=list(decision.worse)))
        shown = ", ".join(f"vs {escape(b.other)} {b.mean:+.3f} [{b.lower:+.3f}, {b.upper:+.3f}]" for b in bounds)
        what = {"winner": "a winner: stop", "equivalent": "equivalent: stop", "continue": "continue"}[decision.verdict]
        if decision.worse and decision.verdict == "continue":
            what += f"; {', '.join(map(escape, decision.worse))} shown worse: stopped"
        console.print(f"adaptive · {n} of {len(self.order)} test examples · {escape(decision.leader)} leads on "
                      f"{self.metric} · {shown} ({1 - cfg.alpha:.0%} anytime-valid) · {what}")
        return decision

    def _used(self, name: str, n: int) -> int:
        return self.stops[name][1] if name in self.stops else n

    def _stop(self, names: list[str], why: str, n: int, bounds: list[SequenceAtStop]) -> None:
        for name in names:
            self.stops[name] = (why, n, bounds)

    def finish(self, name: str) -> StrategyResult:
        """Evaluate the strategy's other splits (the overfitting samples, in rounds until each gap settles:
        harness.runs.adaptive_side) and measure it as a full run does (its probes stop the same way); its test
        figures are over the examples it used."""
        why, used, bounds = self.stops[name]
        p = self.prepared.get(name) or prepare_strategy(self.ctx, name, self.plan[name], self.pool)
        evaluated = evaluate_splits(p.ctx, p.adapted, {"test": self.order[:used]})
        evaluated |= overfitting_rounds(p, self.metric, self._scores(name, used))
        result = finish_strategy(p, evaluated, self.measures)
        result.timings["test"].predict_seconds = self.test_seconds.get(name, 0.0)  # its rounds, not this last pass
        rate = result.timings["test"].examples_per_second
        per_example = 1 / rate if rate else 0.0
        saved = len(self.order) - used
        result.adaptive = AdaptiveStop(examples_used=used, examples_available=len(self.order), stopped=why,
                                       round=math.ceil(used / self.ctx.config.adaptive.round),
                                       sequences=bounds, saved_examples=saved, saved_seconds=saved * per_example)
        self.prepared.pop(name, None)  # its model is no longer needed
        return result


def _bounds(decision: RoundDecision, only: str | None) -> list[SequenceAtStop]:
    """The look's sequences as recorded: every comparison, or the one with `only`."""
    return [SequenceAtStop(leader=decision.leader, other=other, lower=b.lower, upper=b.upper, mean=b.mean, n=b.n,
                           alpha=b.alpha) for other, b in decision.comparisons.items() if only in (None, other)]


def price_savings(record: RunRecord) -> None:
    """Each strategy's saved examples at its $/query in the cost ledger (filled once the ledger is made)."""
    rows = record.cost_ledger.strategies if record.cost_ledger else {}
    for name, result in record.strategies.items():
        if result.adaptive and name in rows:
            result.adaptive.saved_dollars = result.adaptive.saved_examples * rows[name].dollars_per_query

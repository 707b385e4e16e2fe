"""The contract of a side measurement: what is measured of a strategy once its splits are evaluated (its probes,
single-request latency, overfitting gaps, retrieval quality, win rate), each filling sections of its record entry.

A measurement subclasses `Measurement`, registers itself with `@measurements.add` (harness.registry: under its
`name`; every module of harness/measure, harness/probes and harness/judge is imported on first use) and
implements `measure`. The run makes one of each on its base context and keeps it for the run, so one can hold what
it computes once (the probes: their items and the base model's outcomes; the judge: its model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.backends.pool import ModelPool
    from harness.record.run_record import RunRecord
    from harness.strategy.context import RunContext
    from harness.strategy.prepared import Prepared


class Measurement:
    name: ClassVar[str]

    def __init__(self, ctx: RunContext, pool: ModelPool | None = None):
        self.ctx = ctx  # the run's context, on its base model
        self.pool = pool  # the run's models by name (a measurement that needs one, as the judge does)

    def before(self, record: RunRecord) -> None:
        """Once, before any strategy: what the strategies are measured against (the probes score the base)."""

    def after(self, record: RunRecord) -> None:
        """Once, after every strategy, before the recommendation: what is measured across them (the judge's
        calibration)."""

    def applies(self, prepared: Prepared) -> bool:
        return True

    def measure(self, prepared: Prepared, splits: list[str]) -> dict[str, Any]:
        """Fields of the strategy's record entry (harness.record.results.StrategyResult), given the evaluated
        splits (their predictions are saved in the run folder). `metrics` ({split: {metric: Score}}) is added to
        the splits' metrics, not put in their place: a measurement that scores examples (the judge) adds metrics."""
        raise NotImplementedError

"""The contract of a side measurement: what is measured of a strategy once its splits are evaluated (its probes,
single-request latency, overfitting gaps, retrieval quality, win rate), each filling sections of its record entry.

A measurement subclasses `Measurement`, registers itself with `@measurements.add` (harness.registry: under its
`name`; every module of harness/measure and harness/probes is imported on first use) and implements `measure`.
The run makes one of each on its base context and keeps it for the run, so one can hold what it computes once
(the probes: their items and the base model's outcomes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.record.run_record import RunRecord
    from harness.strategy.context import RunContext
    from harness.strategy.prepared import Prepared


class Measurement:
    name: ClassVar[str]

    def __init__(self, ctx: RunContext):
        self.ctx = ctx  # the run's context, on its base model

    def before(self, record: RunRecord) -> None:
        """Once, before any strategy: what the strategies are measured against (the probes score the base)."""

    def applies(self, prepared: Prepared) -> bool:
        return True

    def measure(self, prepared: Prepared, splits: list[str]) -> dict[str, Any]:
        """Fields of the strategy's record entry (harness.record.results.StrategyResult), given the evaluated
        splits (their predictions are saved in the run folder)."""
        raise NotImplementedError

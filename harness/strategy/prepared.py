"""A strategy made ready to predict: what the run loop, the adaptive rounds and the measurements read of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.strategy.base import Strategy
from harness.strategy.context import RunContext


@dataclass
class Prepared:
    """A strategy made ready to predict: its adapted model, on the context it runs in, and what that took."""

    name: str  # `name` or `name@model`
    strategy: Strategy
    ctx: RunContext  # the run's context, on the strategy's model
    adapted: Any
    on_base: bool  # prompts or trains the base (the probes measure it against the base)
    model: str
    setup_seconds: float
    meter: Any  # harness.decide.cost.Meter over the preparation (and, in a fixed-n run, the evaluation)
    side_stops: dict[str, Any] = field(default_factory=dict)  # an adaptive run: the overfitting splits' stops

"""What a training strategy adds to its cost in run.json (`cost.training`): the training's own time and tokens,
apart from the loading and validations its setup seconds also hold."""

from __future__ import annotations

from typing import ClassVar

from harness.record.results import CostSection
from harness.registry import costs


@costs.add
class TrainingCost(CostSection):
    """`train_seconds` of training (None where it is a shared training's, in `cost.shared_setup`), the target
    tokens it trained on and their rate (None: not counted, as by trl's DPO trainer), and a hyperparameter
    search's seconds (None: no search)."""

    name: ClassVar[str] = "training"

    train_seconds: float | None = None
    tokens_trained: int | None = None
    train_tokens_per_second: float | None = None
    search_seconds: float | None = None

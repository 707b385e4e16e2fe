"""The contract of an adaptation strategy: everything the runner, the dry run, the CLI and the registry read of one.

A strategy subclasses `Strategy`, registers itself with `@strategies.add` (harness.registry: under its `name`), sets the
class attributes that differ from the defaults below and implements `prepare`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.strategy.context import RunContext
    from harness.tasks.task import Task
    from harness.types import Adapted


@dataclass(frozen=True)
class SetupEstimate:
    """The dry run's estimate of what a training strategy's `prepare` will take: its planned work at a timed speed."""

    seconds: float  # all of it: training, validations (and the learning curve's or the search's extra trainings)
    tokens: int  # tokens the planned training reads
    tokens_per_second: float  # as timed on a few training steps
    steps: int  # optimizer steps
    validations: int
    train_seconds: float
    validation_seconds: float
    other_setup_seconds: float = 0.0  # setup that is not training: a composed strategy's index build (included above)


class Strategy(ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    order: ClassVar[float] = 100  # where it stands in listings and default runs: cheapest first
    # In a run without --strategies: a bool, or a function of the task (rag: where the task has a corpus).
    # Read it through `is_default`.
    default: ClassVar[bool | Callable[[Task], bool]] = False
    trains: ClassVar[bool] = False  # fine-tunes weights: the dry run estimates its setup rather than running it
    needs_weights: ClassVar[bool] = False  # works on the in-process (hf) model's weights: it runs on the base model
    # Its preference win rate against the base model (harness.measure.win_rate): always, never, or None: where
    # the task asks for it.
    win_rate: ClassVar[bool | None] = None
    # Strategies of the same run its win rate is also measured against, where they predicted the test split
    # (dpo: lora, the supervised adapter it starts from).
    win_rate_against: ClassVar[tuple[str, ...]] = ()
    # Its side in a composed strategy `A+B` (strategies/composed.py): "prompt" (it adds to the prompt: few-shot, rag),
    # "weights" (it fine-tunes on prompts: lora, full, ...), None: it does not compose.
    composes: ClassVar[str | None] = None

    def is_default(self, task: Task) -> bool:
        return bool(self.default(task) if callable(self.default) else self.default)

    def applies_to(self, task: Task) -> bool:
        return True

    def serves_weights(self, config: RunConfig) -> bool:
        """Whether its result is a set of weights another backend (vllm) can serve."""
        return False

    def in_suite(self, config: RunConfig, tasks: list[str]) -> RunConfig:
        """The config it runs with as one of a suite's `tasks` (multitask-lora trains on all of them)."""
        return config

    def run_name(self, config: RunConfig) -> str:
        """The name it runs and is recorded under (lora runs as `finetune.method`: lora, ia3 or prompt-tuning)."""
        return self.name

    def check_config(self, config: RunConfig, task: Task) -> None:
        """Raise a HarnessError if the run lacks something this strategy needs; called before any model work."""

    @abstractmethod
    def prepare(self, ctx: RunContext) -> Adapted:
        """Adapt the model (demos, an index, trained weights) and hand back what answers examples."""

    def estimate_setup(self, ctx: RunContext, generation_seconds: float) -> SetupEstimate | None:
        """For the dry run of a strategy that trains: what `prepare` will take, without running it (None: not
        estimated). `generation_seconds`: the base model's time per generated example, as calibrated."""
        return None

    def stand_in(self, ctx: RunContext) -> Adapted | None:
        """For the dry run of a strategy that trains: an adapted model on the base weights that prompts as its result
        will, whose predictions are timed in its place (None: the base model's zero-shot prompts)."""
        return None

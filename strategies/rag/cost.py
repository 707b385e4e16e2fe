"""What RAG adds to its cost in run.json (`cost.rag`): the index it built or reused, and the passages and
demonstrations that did not fit a prompt's budget."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.record.figures import RecordModel
from harness.record.results import CostSection
from harness.registry import costs


class TrainPrompts(RecordModel):
    """What the last training set built with RAG's prompts held (rag+lora: RAFT's distractors, gold passages
    left out), and the passages and demonstrations its budget dropped (kept apart from the predictions')."""

    examples: int
    distractors: int = 0
    gold_dropped: int = 0
    passages_dropped_for_budget: int = 0
    format_demos_dropped_for_budget: int = 0


@costs.add
class RagCost(CostSection):
    """The index (`index_seconds` to build; `index_reused`: loaded from an earlier run's, by `index_key`), how the
    corpus was chunked, the format demonstrations shown first, and what the prompts' budget dropped."""

    name: ClassVar[str] = "rag"

    mode: Literal["passages", "demos"]  # a corpus's passages, or the training split's examples as demonstrations
    index_type: str
    index_seconds: float
    index_bytes: int | None = None
    index_reused: bool
    index_key: str
    documents: int
    chunks: int
    chunk_tokens: int
    overlap: int
    prepare_seconds: float  # this run's: building (or loading) the index and picking the format demonstrations
    format_demos: list[str] = []  # the training examples shown first in every prompt (corpus mode)
    passages_dropped_for_budget: int = 0  # over every prompt built, counted per passage
    format_demos_dropped_for_budget: int = 0
    train_prompts: TrainPrompts | None = None


BUDGET_DROPS = ("passages_dropped_for_budget", "format_demos_dropped_for_budget")  # counted per prompt built

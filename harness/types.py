"""The typed values that flow through a run: examples in, predictions and scores out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from harness.backends.base import Backend
    from harness.record.results import CostSection, SharedSetup
    from harness.record.training import Details

    C = TypeVar("C", bound=CostSection)

Reference = str | list[str]


@dataclass(frozen=True)
class Example:
    id: str
    input: str
    reference: Reference
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def references(self) -> list[str]:
        return [self.reference] if isinstance(self.reference, str) else list(self.reference)


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    title: str = ""


@dataclass
class Prediction:
    example_id: str
    prompt: str
    output: str
    references: list[str]
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    retrieved: list[str] = field(default_factory=list)
    truncated: bool = False
    cached: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    # seconds from this request's submission to its last token (`seconds` is its share of the batch, as billed);
    # None in prediction files written before it was kept
    latency: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Cost:
    """What a strategy costs: once (setup) and per query. Filled in by the strategy and the runner."""

    setup_seconds: float = 0.0
    trainable_params: int = 0
    artifact_bytes: int = 0
    peak_memory_mb: float = 0.0
    peak_memory_kind: str | None = None  # what peak_memory_mb measured: "cuda max allocated", "process peak RSS"
    device: str = "cpu"
    # "measured": setup_seconds were spent in this run; "reused": an artifact made earlier (an index, a shared
    # adapter) was loaded and setup_seconds are what making it took then; `setup_note` says where and how long
    setup_source: str = "measured"
    setup_note: str | None = None
    shared_setup: SharedSetup | None = None  # setup_seconds are this task's share of a setup made for several
    sections: dict[str, CostSection] = field(default_factory=dict)  # the strategy's own, by name: `add`, `section`

    def add(self, section: C) -> C:
        """Add (or replace) the strategy's own cost section (a registered `CostSection`), kept under its name."""
        self.sections[section.name] = section
        return section

    def section(self, cls: type[C]) -> C | None:
        return self.sections.get(cls.name)

    def record_fields(self) -> dict[str, Any]:
        """The fields of run.json's `StrategyCost`: these, with each section under its name."""
        return {k: v for k, v in vars(self).items() if k != "sections"} | self.sections


@dataclass(frozen=True)
class RetrievalDepth:
    """How a retrieving strategy's rankings are scored: recall@k at each k, and the passages the model was given."""

    recall_ks: list[int]
    context_k: int


class Adapted(Protocol):
    """A strategy after `prepare`: ready to answer examples the way it would be deployed."""

    name: str
    fingerprint: str  # changes whenever what the strategy adds (weights, demos, index) changes
    cost: Cost
    model: Backend  # the model that answers (the runner may swap in a server of trained weights)
    details: Details  # what the run record keeps of its making: training, learning_curve, search (empty: none)
    retrieval: RetrievalDepth | None  # where it retrieves documents: how its rankings are scored (None: it does not)

    def predict(self, examples: list[Example]) -> list[Prediction]: ...

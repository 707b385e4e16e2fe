"""Run configuration: CLI flags over a YAML file over defaults, validated by pydantic (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import HarnessError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FewShotConfig(Section):
    k: int = Field(3, ge=1, le=32, description="demonstrations per prompt")
    selection: Literal["random", "similar"] = Field("random", description="random with the seed, or by embedding similarity")


class RagConfig(Section):
    """Retrieval settings (issue: RAG strategy)."""

    chunk_tokens: int = Field(200, ge=8, description="chunk length in embedder tokens")
    overlap: int = Field(32, ge=0, description="tokens shared by consecutive chunks of a document")
    top_k: int = Field(1, ge=1, le=64, description="passages (distinct documents, best chunk each) per prompt")
    index: Literal["flat", "hnsw", "ivf"] = Field("flat", description="flat: exact inner product; hnsw or ivf: "
                                                  "approximate, for corpora beyond ~50k chunks")
    hnsw_m: int = Field(32, ge=4, description="HNSW graph degree")
    hnsw_ef_search: int = Field(64, ge=1, description="HNSW search breadth")
    ivf_nlist: int = Field(1024, ge=1, description="IVF cells (capped at chunks/39)")
    ivf_nprobe: int = Field(16, ge=1, description="IVF cells searched per query")
    max_context_tokens: int | None = Field(None, ge=1, description="cap on the prompt (default: the model's "
                                           "context length minus the answer's tokens)")
    recall_ks: list[int] = Field(default_factory=lambda: [1, 3, 5, 10], description="k for recall@k")
    format_demos: int = Field(1, ge=0, le=8, description="with a corpus: seeded training examples shown first, each "
                              "with its own retrieved passages and its answer, so the model sees the answer format")

    @model_validator(mode="after")
    def _overlap_below_chunk(self) -> "RagConfig":
        if self.overlap >= self.chunk_tokens:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})")
        return self


class FinetuneConfig(Section):
    """Training settings shared by lora, full, freeze and continued-pretraining (issue: fine-tuning)."""


class ProbesConfig(Section):
    """Forgetting and bias probes (issue: probes)."""


class DecisionConfig(Section):
    """Priorities, constraints, expected query volume and prices (issue: recommendation)."""


class DataConfig(Section):
    """A task straight from files: `--data FILE` (a seeded split of one file) or `--data split=FILE` per split."""

    files: dict[str, Path] = Field(default_factory=dict)
    input_field: str = "input"
    reference_fields: list[str] = Field(default_factory=lambda: ["reference"])
    id_field: str = "id"
    instruction: str | None = None
    metrics: list[str] | None = None
    max_new_tokens: int | None = None
    split_fractions: dict[str, float] = Field(default_factory=lambda: {"train": 0.6, "validation": 0.1, "test": 0.3})


class RunConfig(Section):
    task: str | None = None  # a registry name or a task.yaml path; default summarization unless data is given
    data: DataConfig | None = None
    model: str | None = None  # HF id or local dir; None is the offline default
    embedder: str | None = None
    strategies: list[str] | None = None  # None: the task's default strategies
    limit: int | None = Field(None, ge=1, description="examples per split")
    seed: int = 0
    out: Path = Path("runs")
    batch_size: int = Field(16, ge=1)
    max_new_tokens: int | None = Field(None, ge=1)
    device: str = "auto"
    use_cache: bool = True
    trust_remote_code: bool = False
    allow_pickle: bool = False
    allow_leakage: bool = False  # test examples found in train or the RAG corpus: record it instead of failing
    few_shot: FewShotConfig = Field(default_factory=FewShotConfig)
    rag: RagConfig = Field(default_factory=RagConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    probes: ProbesConfig = Field(default_factory=ProbesConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)

    @field_validator("strategies", mode="before")
    @classmethod
    def _split_commas(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        return v


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"Cannot read config file {path}: {exc.strerror}.", hint="Check the --config path.") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise HarnessError(f"Invalid YAML in {where}: {getattr(exc, 'problem', exc)}.", hint="Fix the YAML syntax.") from exc
    if not isinstance(data, dict):
        raise HarnessError(f"{path} must hold a mapping of settings, not {type(data).__name__}.")
    return data


def build_config(cli: dict[str, Any], config_file: Path | None = None) -> RunConfig:
    """CLI values (None means not given) over the YAML file over the defaults."""
    base = read_yaml(config_file) if config_file else {}
    given = {k: v for k, v in cli.items() if v is not None}
    return validate(_deep_merge(base, given), source=str(config_file or "command line"))


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where}: {msg}")
        known = ", ".join(RunConfig.model_fields)
        raise HarnessError(
            f"Invalid configuration in {source}: " + "; ".join(problems) + ".",
            hint=f"Top-level keys are: {known}. See `harness run --help`.",
        ) from exc

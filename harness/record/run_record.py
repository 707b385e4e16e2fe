"""The run record: run.json as a pydantic model (`RunRecord`), written and read only through harness.record.store.

The per-strategy results are in harness.record.results, the analysis of a finished run (comparisons, cost ledger,
recommendation) in harness.record.recommendation. `python -m harness.record.run_record` prints run.json's JSON Schema (shipped as
harness/record/run.schema.json).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from harness.config import RunConfig
from harness.record.judged import JudgeRecord
from harness.record.recommendation import Comparison, CostLedger, Recommendation
from harness.record.results import BaseProbes, RecordModel, SequenceAtStop, StrategyResult

SCHEMA_VERSION = 3  # of run.json; older versions are migrated by harness.record.migrate

Status = Literal["started", "running", "interrupted", "failed", "complete"]


class TaskInfo(RecordModel):
    """The task as loaded: its kind, where it came from, its metrics (the first one decides), split sizes and the
    fingerprint of its data."""

    name: str
    kind: str
    source: str | None = None
    metrics: list[str] = []
    sizes: dict[str, int] = {}
    corpus_documents: int | None = None
    fingerprint: str | None = None


class ModelInfo(RecordModel):
    """A loaded model as its backend describes it; fields a backend does not have are None (an API has no
    parameter count, a local model no base_url)."""

    name: str
    backend: str = "hf"
    fingerprint: str | None = None
    device: str | None = None
    context_length: int | None = None
    # where context_length comes from: "model" (its config), "config" (the run YAML), "server" (the endpoint said)
    # or "default" (nothing said: an estimate, DEFAULT_CONTEXT of the openai backend)
    context_length_source: str | None = None
    token_count: str | None = None  # "tokenizer", or "estimated: characters / 4" (a hosted model without one)
    source: str | None = None  # hf: "local", "hub", "default"
    path: str | None = None
    parameters: int | None = None
    dtype: str | None = None
    base_url: str | None = None  # openai
    api: str | None = None
    concurrency: int | None = None
    loglik: bool | None = None
    served: dict[str, Any] | None = None  # openai: what the server says identifies the weights (card, model, fingerprint)
    load_seconds: float | None = None  # vllm


class Environment(RecordModel):
    """Where the run ran: versions, machine, the torch device and the harness's git commit."""

    harness: str | None = None
    python: str | None = None
    platform: str | None = None
    cpu_count: int | None = None
    torch_threads: int | None = None
    cuda: str | None = None
    packages: dict[str, str | None] = {}
    git_commit: str | None = None
    device: str | None = None
    processes: int = 1  # torchrun / accelerate world size
    work_per_rank: dict[int, int] = {}  # several processes: model items (prompts, option sets, texts) each computed


class LeakPlace(RecordModel):
    """One place strategies learn from (train split, corpus): how many items were checked and how many test
    examples were found there by id and by text (the first few ids in `examples`)."""

    checked: int
    by_id: int
    by_text: int
    examples: list[str] = []


class Leakage(RecordModel):
    """Do test examples appear where strategies learn from? Their scores would be inflated."""

    test_examples: int
    places: dict[str, LeakPlace] = {}
    skipped: list[str] = []
    leaked_examples: int
    allowed: bool = False
    status: Literal["clean", "leaked", "leaked (allowed by config)"]


class RunError(RecordModel):
    """Why a `failed` run stopped: the exception's type, its message and the hint the harness gave."""

    type: str
    message: str
    hint: str = ""


class RoundLook(RecordModel):
    """One look of an adaptive run: after n test examples, the leader and its sequence against each strategy
    still running."""

    n: int
    leader: str
    sequences: list[SequenceAtStop] = []
    worse: list[str] = []  # stopped at this look


class AdaptiveRun(RecordModel):
    """An adaptive run's test evaluation (harness.runs.adaptive): the rule it stopped by and every look it took.
    `alpha_each` is the level of each comparison (alpha over the strategies compared, minus one); `verdict` is
    winner, equivalent or exhausted (then the fixed-n analysis decides alone), or running while it goes on."""

    metric: str
    higher_is_better: bool = True
    alpha: float
    alpha_each: float
    margin: float
    round: int
    order_seed: int
    verdict: Literal["running", "winner", "equivalent", "exhausted"] = "running"
    leader: str = ""
    examples_generated: int = 0  # test examples predicted, all strategies together
    examples_full: int = 0  # what a fixed-n run predicts: the test split for every strategy
    looks: list[RoundLook] = []


class RunRecord(RecordModel):
    """run.json: one run of the harness, from its config to its recommendation.

    `status` moves started -> running -> complete, or ends `interrupted` (Ctrl-C, SIGTERM) or `failed` (with
    `error`); both resume. `strategy_order` is the planned order; `strategies` holds each one's result, complete
    or not. `base` is the base model's probe figures; `comparisons`, `cost_ledger` and `recommendation` are
    added when the run completes (and recomputed by `harness report`).
    """

    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: Status = "started"
    created: str  # ISO 8601, UTC
    finished: str | None = None
    failed: str | None = None
    interrupted: str | None = None
    command: str = ""
    resumed: int = 0
    error: RunError | None = None
    config: RunConfig
    environment: Environment = Field(default_factory=Environment)
    task: TaskInfo | None = None
    model: ModelInfo | None = None
    models: dict[str, ModelInfo] = {}
    leakage: Leakage | None = None
    strategy_order: list[str] = []
    base: BaseProbes | None = None
    strategies: dict[str, StrategyResult] = {}
    comparisons: list[Comparison] = []
    cost_ledger: CostLedger | None = None
    recommendation: Recommendation | None = None
    adaptive: AdaptiveRun | None = None  # an adaptive run's rounds and stop
    judge: JudgeRecord | None = None  # the model judge, its calibration, and whether it was trusted

    def names(self) -> list[str]:
        """The strategies with a result, in the planned order (before a plan is recorded: as they ran)."""
        return [n for n in self.strategy_order or self.strategies if n in self.strategies]

    def complete(self) -> list[str]:
        """The strategies that finished, in order."""
        return [n for n in self.names() if self.strategies[n].status == "complete"]


def json_schema() -> dict:
    """run.json's JSON Schema, generated from the models."""
    schema = RunRecord.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))

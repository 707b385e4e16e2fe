"""Run configuration: CLI flags over a YAML file over defaults, validated by pydantic (unknown keys are errors).

The core's settings live here; each strategy's own section (`few_shot:`, `rag:`, `finetune:`, ...) lives with the
strategy and registers in `harness.registry.settings`, and `RunConfig` validates it under its name with the rest."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any, Literal, TypeVar

from pydantic import ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from harness.yamlfile import read_yaml
from harness.errors import HarnessError, field_name, field_problems
from harness.section import DEVICE_PATTERN, ENV_NAME, Section, inline_schema, list_sections, with_sections  # noqa: F401 (re-exported)
from harness.model_spec import ModelPrices, ModelSpec  # noqa: F401 (re-exported)
from harness.registry import backends, settings

S = TypeVar("S", bound=Section)


def split_spec(spec: str) -> tuple[str, str]:
    """A strategy as `--strategies` names it: `prompt@api` -> ("prompt", "api"); `prompt` -> ("prompt", "base")."""
    name, _, model = spec.partition("@")
    return name, model or "base"


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    """Labels and verbalizers must be non-empty, and two labels cannot share a verbalizer (the model's answer
    could only ever be the first)."""
    owner: dict[str, str] = {}
    for label, verbalizer in labels.items():
        if not label.strip() or not verbalizer.strip():
            raise ValueError(f"empty label or verbalizer in {label!r}: {verbalizer!r}")
        if verbalizer.strip() in owner:
            raise ValueError(f"labels {owner[verbalizer.strip()]!r} and {label!r} share the verbalizer "
                             f"{verbalizer.strip()!r}; give each label its own word")
        owner[verbalizer.strip()] = label
    return labels


class ProbesConfig(Section):
    """Forgetting and bias probes, scored on the base model once and on every strategy as deployed."""

    enabled: bool = Field(True, description="measure forgetting, bias and refusal for every strategy")
    forgetting: list[str] = Field(default_factory=lambda: ["builtin"], description=(
        "multiple-choice probe sets: 'builtin' (benchmarks/probes/forgetting.jsonl), paths to ARC-format JSONL, "
        "MMLU-format CSV, probe JSONL, or folders of them, or datasets sources with question/choices/answer columns "
        "(hf:OWNER/NAME[:CONFIG]@SPLIT, a save_to_disk folder, parquet, arrow)"))
    perplexity: bool = Field(True, description="held-out perplexity on benchmarks/probes/general_text.jsonl")
    bbq: list[str] = Field(default_factory=lambda: ["builtin"], description="'builtin' or BBQ JSONL files/folders")
    items: int = Field(120, ge=0, description="items per probe set, a seeded sample (0: all)")
    counterfactual_pairs: int = Field(20, ge=0, description="test inputs with a group term swapped (costs generation)")
    unanswerable: int = Field(30, ge=0, description="unanswerable questions for the refusal probe (qa tasks)")


class PricesConfig(Section):
    """Dollars per hour of compute and, optionally, per million tokens of a hosted API (defaults: typical 2025-26
    on-demand cloud list prices; override them with your own)."""

    cpu_per_hour: float = Field(0.20, ge=0, description="$/hour of the CPU machine the run uses")
    gpu_per_hour: float = Field(2.50, ge=0, description="$/hour of one GPU")
    api_input_per_mtok: float | None = Field(None, ge=0, description="hosted API $/1M prompt tokens (None: self-hosted)")
    api_output_per_mtok: float | None = Field(None, ge=0, description="hosted API $/1M completion tokens")

    def per_hour(self, device: str) -> float:
        """The hourly price of the machine a model ran on."""
        return self.gpu_per_hour if str(device).startswith("cuda") else self.cpu_per_hour


class ConstraintsConfig(Section):
    """Hard limits: a strategy that breaks one is vetoed, whatever it scores (None: no limit)."""

    max_forgetting_drop: float | None = Field(None, ge=0, description="largest allowed drop on any forgetting probe")
    max_bias_increase: float | None = Field(None, ge=0, description="largest allowed increase in |bias score| "
                                            "(its distance from unbiased, in either direction) on any bias measure")
    max_latency_p95: float | None = Field(None, gt=0, description=(
        "request latency (seconds from a request's submission to its last token), 95th percentile, at the run's "
        "batch size or the endpoint's concurrency"))
    max_setup_dollars: float | None = Field(None, ge=0, description="one-off setup cost in dollars")


class DecisionConfig(Section):
    """Priorities, constraints, expected query volume and prices (issue: recommendation)."""

    priority: Literal["quality", "balanced", "cost"] = Field("balanced", description="a weights profile")
    weights: dict[str, float] | None = Field(None, description="{quality, cost, latency} weights; override priority")
    metric: str | None = Field(None, description="the metric the decision rests on (default: the task's first)")
    monthly_queries: float = Field(100_000, ge=0, description="expected queries per month in production")
    horizon_months: float = Field(12, gt=0, description="months over which setup cost is repaid")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level for the Holm-adjusted paired tests")
    negligible_dollars: float = Field(1000.0, ge=0, description=(
        "costs over the horizon below this count as equal in the ranking (default: about $83 a month over 12 "
        "months, less than the engineering time a worse model costs; set it to what matters to your team)"))
    prices: PricesConfig = Field(default_factory=PricesConfig)
    constraints: ConstraintsConfig = Field(default_factory=ConstraintsConfig)

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        unknown = set(v) - {"quality", "cost", "latency"}
        if unknown:
            raise ValueError(f"unknown weight(s) {sorted(unknown)}; use quality, cost, latency")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        return v


class AdaptiveConfig(Section):
    """Adaptive evaluation (harness.runs.adaptive): the test split in a seeded order, in rounds, stopped when an
    anytime-valid confidence sequence on the decision metric settles the verdict."""

    enabled: bool = Field(False, description="evaluate in rounds and stop when the verdict is settled (--adaptive)")
    round: int = Field(16, ge=2, description="test examples per round, every running strategy on the same ones")
    margin: float = Field(0.02, ge=0, description=(
        "strategies whose decision-metric means are shown within this of each other are equivalent (then the "
        "cheaper is recommended), on the metric's scale"))
    side_margin: float = Field(0.1, ge=0, description=(
        "side measurements (overfitting gaps, probe changes) whose anytime-valid sequence lies within this of 0 "
        "show no change beyond it and stop; about the smallest drop a 120-item forgetting probe detects in full"))


class JudgeConfig(Section):
    """A model judge (harness.judge): a model of `models:` (or `base`) grading outputs. Its verdicts are scores with
    CIs like any metric; whether they can be trusted is measured every run (its calibration)."""

    model: str = Field(description="the judge: a name under `models:` (any backend), or `base`")
    measures: list[Literal["judge-reference", "judge-pairwise", "faithfulness"]] = Field(
        default_factory=lambda: ["judge-reference", "judge-pairwise", "faithfulness"], description=(
            "judge-reference: the output graded against the references; judge-pairwise: against `baseline`'s output "
            "on the same example, asked in both orders; faithfulness: the share of a RAG answer's claims its "
            "retrieved passages support (strategies that retrieve only)"))
    scale: Literal["pass-fail", "1-5"] = Field("pass-fail", description=(
        "judge-reference's rubric: pass/fail (a pass rate; agreement as Cohen's kappa) or a 1-5 scale (scored "
        "(grade - 1) / 4; agreement as Kendall's tau)"))
    baseline: str = Field("prompt", description="the strategy judge-pairwise compares every other one with")
    calibration: Path | None = Field(None, description=(
        "JSONL of labelled items {input, output, reference, score} (score 0/1 for pass-fail, 1-5 for the scale): "
        "the judge's agreement with them decides whether it is trusted (default: the task's own, if it has one)"))
    min_agreement: float = Field(0.4, ge=-1, le=1, description=(
        "below this agreement (kappa or tau) the judge is unvalidated: the recommendation does not rest on it"))
    max_new_tokens: int = Field(12, ge=1, description="tokens a verdict may take (a verdict is one word)")


class DataConfig(Section):
    """A task straight from data: `--data SOURCE` (its own splits, or a seeded split of one table) or
    `--data split=SOURCE` per split; a SOURCE is anything harness.tasks.datasource reads (files, save_to_disk, hf:...)."""

    files: dict[str, Path] = Field(default_factory=dict)
    input_field: str = "input"
    reference_fields: list[str] = Field(default_factory=lambda: ["reference"])
    id_field: str = "id"
    instruction: str | None = None
    format: Literal["auto", "label-text"] = "auto"
    labels: dict[str, str] | None = None  # label -> verbalizer: a classification task
    metrics: list[str] | None = None
    max_new_tokens: int | None = None
    split_fractions: dict[str, float] = Field(default_factory=lambda: {"train": 0.6, "validation": 0.1, "test": 0.3})

    @field_validator("labels")
    @classmethod
    def _labels_distinct(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else check_labels(v)


def _section_schema(schema: dict[str, Any]) -> None:
    """run.schema.json lists every registered section as a property, as if it were a field, and a named model
    as the spec of one of the registered backends."""
    list_sections(schema, settings)
    specs = [inline_schema(spec) for _, spec in sorted(backends.items().items())]
    schema["properties"]["models"]["additionalProperties"] = {"anyOf": specs}


class RunConfig(Section):
    # The strategies' own sections are validated by `_strategy_sections` and kept as extras: `config.section(cls)`.
    model_config = ConfigDict(extra="allow", json_schema_extra=_section_schema)

    task: str | None = None  # a registry name or a task.yaml path; default summarization unless data is given
    data: DataConfig | None = None
    model: str | None = None  # HF id or local dir; None is the offline default
    models: dict[str, SerializeAsAny[ModelSpec]] = Field(default_factory=dict, description=(
        "named models for `--strategies NAME@MODEL`; `base` (if given) replaces --model for strategies without @"))
    embedder: str | None = None
    strategies: list[str] | None = None  # None: the task's default strategies
    limit: int | None = Field(None, ge=1, description="examples per split; side measurements (overfitting samples, "
                              "probe items, counterfactual pairs) take at most half as many, so a quick run stays quick")
    test_ids: list[str] | None = Field(None, description="evaluate only these test examples (harness check pins a baseline's)")
    seed: int = 0
    out: Path = Path("runs")
    batch_size: int = Field(32, ge=1, description="prompts per forward pass; on a CPU a larger batch mostly saves decode time")
    overfit_sample: int = Field(24, ge=0, description="train (and ood) examples every strategy is also scored on; 0 = off")
    latency_requests: int = Field(4, ge=0, description="test prompts every strategy also answers one at a time "
                                  "(batch 1, uncached) for its single-request latency; 0 = off")
    max_new_tokens: int | None = Field(None, ge=1)
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    use_cache: bool = True
    trust_remote_code: bool = False
    allow_pickle: bool = False
    allow_leakage: bool = False  # test examples found in train or the RAG corpus: record it instead of failing
    probes: ProbesConfig = Field(default_factory=ProbesConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    adaptive: AdaptiveConfig = Field(default_factory=AdaptiveConfig)
    judge: JudgeConfig | None = None  # --judge NAME: judged quality (harness.judge), off unless given

    def section(self, cls: type[S]) -> S:
        """A strategy's own settings section (None for an optional one not given), validated with the rest."""
        return getattr(self, cls.name)

    @model_validator(mode="wrap")
    @classmethod
    def _strategy_sections(cls, data: Any, handler) -> "RunConfig":
        """Validate each registered section under its name, and the core fields, reporting every problem at once;
        a key that is neither is unknown, as in any section."""
        return with_sections(cls, data, handler, settings, fill=True)

    def side(self, n: int) -> int:
        """The size of a side measurement of `n` items under --limit: at most half the limit (but 2, the fewest a
        comparison can use)."""
        return n if self.limit is None else min(n, max(2, self.limit // 2))

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        if not re.fullmatch(DEVICE_PATTERN, v):
            raise ValueError(f"unknown device '{v}'; use auto, cpu, cuda, cuda:N (a GPU index) or mps")
        return v

    @field_validator("strategies", mode="before")
    @classmethod
    def _split_commas(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        return v

    @model_validator(mode="after")
    def _strategy_models_exist(self) -> "RunConfig":
        if self.judge and self.judge.model != "base" and self.judge.model not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise ValueError(f"judge.model '{self.judge.model}' is not under `models:` (known: {known}; `base` is "
                             "the run's own model)")
        for spec in self.strategies or []:
            model = split_spec(spec)[1]
            if model != "base" and model not in self.models:
                known = ", ".join(sorted(self.models)) or "none"
                raise ValueError(f"strategy '{spec}' names model '{model}', which is not under `models:` "
                                 f"(known: {known})")
        return self

    def model_spec(self, name: str = "base") -> ModelSpec:
        """The named model; `base` defaults to --model on the hf backend."""
        if name in self.models:
            return self.models[name]
        return ModelSpec.model_validate({"backend": "hf", "id": self.model})


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(cli: dict[str, Any], config_file: Path | None = None) -> RunConfig:
    """CLI values (None means not given) over the YAML file over the defaults."""
    base = read_yaml(config_file) if config_file else {}
    given = {k: v for k, v in cli.items() if v is not None}
    return validate(_deep_merge(base, given), source=str(config_file or "command line"), cli=given if config_file else None)


def _from_cli(loc: tuple, cli: dict[str, Any] | None) -> bool:
    """Whether the value at `loc` was given on the command line (it overrides the file's)."""
    node: Any = cli
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, dict):
            return True
    return cli is not None and bool(loc)


def validate(data: dict[str, Any], source: str = "config", cli: dict[str, Any] | None = None) -> RunConfig:
    """The config, validated; each problem is named where it came from: `source` (a file), or the command line
    for what `cli` (the flags given over that file) set."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        def name(loc: tuple) -> str:  # a flag given on the command line is named as typed there
            if not _from_cli(loc, cli):
                return field_name(loc)
            return f"--{str(loc[0]).replace('_', '-')}" if len(loc) == 1 else f"{field_name(loc)} (command line)"

        on_cli = {_from_cli(tuple(err["loc"]), cli) for err in exc.errors()}
        place = "on the command line" if on_cli == {True} else f"in {source}"
        raise HarnessError(
            f"Invalid configuration {place}: {field_problems(exc, name=name)}.",
            hint=f"Top-level keys are: {', '.join([*RunConfig.model_fields, *settings.names()])}. "
                 "See `harness run --help`.",
        ) from exc

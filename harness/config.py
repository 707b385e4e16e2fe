"""Run configuration: CLI flags over a YAML file over defaults, validated by pydantic (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import re

from pydantic import Field, ValidationError, field_validator, model_validator

from harness.yamlfile import read_yaml
from harness.errors import HarnessError, field_name, field_problems
from harness.section import DEVICE_PATTERN, ENV_NAME, Section  # noqa: F401 (re-exported)
from harness.model_spec import ModelPrices, ModelSpec  # noqa: F401 (re-exported)


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
    """Training settings shared by lora, full, freeze and continued-pretraining (issue: fine-tuning).

    The defaults are sized for a CPU (a 135M model trains at ~150 tokens/s on 2 cores, compute bound): a capped
    training set, one epoch, a small validation sample. On a GPU raise max_train_examples, epochs and val_examples."""

    method: Literal["lora", "ia3", "prompt-tuning"] = Field("lora", description=(
        "the PEFT method the `lora` strategy trains (it then runs under this name): lora, ia3 (learned scaling "
        "vectors) or prompt-tuning (trained virtual tokens); `--strategies ia3` / `prompt-tuning` choose one directly"))
    merge: bool = Field(True, description="serve LoRA/IA3 merged into a copy of the weights (false: unmerged, "
                        "through the PeftModel, as multi-adapter serving does); prompt tuning cannot be merged")
    prompt_tokens: int = Field(20, ge=1, le=512, description="prompt-tuning: trained virtual tokens before every prompt")
    ia3_target_modules: list[str] | None = Field(None, description="ia3: modules scaled (None = peft's per-architecture default)")
    ia3_feedforward_modules: list[str] | None = Field(None, description="ia3: which of them are feed-forward (scaled on the input)")
    epochs: int = Field(1, ge=1, description="passes over the (capped) training set")
    max_train_examples: int | None = Field(64, ge=1, description="train on a seeded sample of at most this many examples; None = all")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    lr: float | None = Field(None, gt=0, description="peak learning rate; None = per method (lora 1e-3, ia3 5e-3, prompt-tuning 3e-2, freeze 1e-4, full 2e-5, continued-pretraining 5e-5)")
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(4, ge=1, description="examples per device per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    warmup_ratio: float = Field(0.1, ge=0, le=1, description="linear warmup share of the steps, then linear decay to 0")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")
    max_seq_len: int = Field(1024, ge=16, description="longer sequences lose prompt tokens from the left")
    eval_every: int = Field(8, ge=1, description="optimizer steps between validations (and once at the end)")
    val_examples: int = Field(12, ge=1, description="validation sample for the loss and the task metric")
    patience: int = Field(2, ge=1, description="validations without improvement before stopping early")
    min_delta: float = Field(0.0, ge=0, description="smallest change that counts as an improvement")
    monitor: Literal["metric", "loss"] = Field("metric", description=(
        "what early stopping and the kept checkpoint follow; with `metric`, a tie on the metric (within min_delta) "
        "goes to the lower validation loss, then to the later step"))
    monitor_metric: str | None = Field(None, description=(
        "the per-example metric validations score (monitor: metric); None = the task's first metric, or token_f1 "
        "where that is exact_match: a small model's exact match often sits at 0 for a while, token F1 moves first"))
    loss_tolerance: float = Field(0.01, ge=0, description=(
        "while the monitored metric is flat (within min_delta), a validation loss this much below the best one "
        "(nats per target token) still counts as an improvement: early stopping waits while the loss falls"))
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1, description=(
        "0 as in torchtune's recipes: one epoch over a small set gains little from it, and its masks took 17% of a CPU step"))
    lora_target_modules: list[str] | None = Field(None, description="None = per architecture (attention and MLP projections)")
    freeze_train_blocks: int = Field(2, ge=1, description="freeze: train only the top N transformer blocks (+ final norm, + head if untied)")
    pretraining_weights: Literal["full", "lora"] = Field("full", description="continued-pretraining: what it trains")
    keep_checkpoints: bool = Field(False, description="save full/freeze weights in the run folder (LoRA adapters are always saved)")
    learning_curve: bool = Field(False, description="also train on 25% and 50% of the data and project the metric at 2x and 4x")
    learning_curve_eval_examples: int = Field(48, ge=4, description="validation examples scored for each learning-curve point")


class DpoConfig(Section):
    """The `dpo` strategy: preference tuning (trl's DPOTrainer) on a task's chosen/rejected pairs, or on pairs built
    from the training references (chosen) and the base model's own outputs (rejected). Sized for a CPU."""

    weights: Literal["lora", "full"] = Field("lora", description="lora: an adapter like the lora strategy's "
                                             "(finetune.lora_*), merged for prediction; full: every weight")
    pairs: Literal["auto", "data", "base-outputs"] = Field("auto", description=(
        "data: every train/validation example's own chosen and rejected; base-outputs: the reference as chosen, the "
        "base model's output as rejected; auto: data where every example has both fields, base-outputs where none "
        "has either, and an error naming the examples where only some do"))
    max_pairs: int = Field(64, ge=1, description="train on a seeded sample of at most this many pairs")
    epochs: int = Field(1, ge=1)
    beta: float = Field(0.1, gt=0, description="DPO's KL strength: how far the policy may move from the reference")
    lr: float = Field(5e-4, gt=0, description="peak learning rate (linear decay after a 10% warmup)")
    batch_size: int = Field(4, ge=1, description="pairs per micro-batch (each pair is two sequences)")
    val_pairs: int = Field(12, ge=0, description="validation pairs scored every finetune.eval_every steps (DPO loss, "
                           "reward accuracy)")


class MultitaskConfig(Section):
    """The `multitask-lora` strategy: one LoRA adapter trained on the training splits of several tasks at once."""

    tasks: list[str] | None = Field(None, description="the tasks to mix; a suite sets its own tasks (outside a suite "
                                    "it is required)")


class SearchConfig(Section):
    """Hyperparameter search for one fine-tuning strategy (optuna): every trial trains and is scored on the validation
    split only; the best trial's model is the one tested. `--search lora:lr,r --trials 6` sets it from the CLI."""

    strategy: str = Field(..., description="the fine-tuning strategy searched (lora, ia3, prompt-tuning, full, freeze)")
    params: list[Literal["lr", "r", "epochs"]] = Field(..., min_length=1, description="what is searched")
    trials: int = Field(6, ge=1, le=500, description="trials (each one a training run)")
    lr: tuple[float, float] = Field((1e-4, 3e-3), description="learning-rate range, sampled log-uniformly")
    r: list[int] = Field(default_factory=lambda: [4, 8, 16, 32], description="LoRA ranks tried (alpha = 2r)")
    epochs: list[int] = Field(default_factory=lambda: [1, 2, 3], description="epochs tried")
    pruner_startup_trials: int = Field(2, ge=0, description="trials run to the end before the median pruner may stop one")
    enqueue: list[dict[str, float]] = Field(default_factory=list, description="trials to run first, e.g. [{lr: 0.001, r: 16}]")

    @model_validator(mode="after")
    def _ranges(self) -> "SearchConfig":
        if not 0 < self.lr[0] <= self.lr[1]:
            raise ValueError(f"lr range {list(self.lr)} must be two positive numbers, low first")
        if not self.r or min(self.r) < 1 or not self.epochs or min(self.epochs) < 1:
            raise ValueError("r and epochs must list positive integers")
        return self


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


class HeadConfig(Section):
    """The `head` strategy: a linear classifier on frozen features."""

    features: Literal["lm", "embedder"] = Field("lm", description="pooled LM hidden states, or sentence embeddings")
    c: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic regression")


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


class RunConfig(Section):
    task: str | None = None  # a registry name or a task.yaml path; default summarization unless data is given
    data: DataConfig | None = None
    model: str | None = None  # HF id or local dir; None is the offline default
    models: dict[str, ModelSpec] = Field(default_factory=dict, description=(
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
    few_shot: FewShotConfig = Field(default_factory=FewShotConfig)
    head: HeadConfig = Field(default_factory=HeadConfig)
    rag: RagConfig = Field(default_factory=RagConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    dpo: DpoConfig = Field(default_factory=DpoConfig)
    multitask: MultitaskConfig = Field(default_factory=MultitaskConfig)
    search: SearchConfig | None = None
    probes: ProbesConfig = Field(default_factory=ProbesConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    adaptive: AdaptiveConfig = Field(default_factory=AdaptiveConfig)

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
        for spec in self.strategies or []:
            model = spec.partition("@")[2]
            if model and model != "base" and model not in self.models:
                known = ", ".join(sorted(self.models)) or "none"
                raise ValueError(f"strategy '{spec}' names model '{model}', which is not under `models:` "
                                 f"(known: {known})")
        return self

    def model_spec(self, name: str = "base") -> ModelSpec:
        """The named model; `base` defaults to --model on the hf backend."""
        if name in self.models:
            return self.models[name]
        return ModelSpec(backend="hf", id=self.model)


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
            hint=f"Top-level keys are: {', '.join(RunConfig.model_fields)}. See `harness run --help`.",
        ) from exc

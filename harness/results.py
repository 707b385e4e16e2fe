"""What run.json holds for one strategy (`StrategyResult`) and the figures it is made of, as pydantic models.

Every statistic is a `Score` (a mean with its 95% CI) or a `Difference` (a change with its CI and test). The
probes' figures come as `Versus`: the base model's, the strategy's, and the paired change on the same items.
Only `Training` and `StrategyCost.extra` take keys beyond their declared fields: what a strategy reports about
its own training differs from one strategy to the next.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.config import ModelPrices


class RecordModel(BaseModel):
    """A part of run.json whose shape is ours: an unknown key is an error, not something silently kept."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


# --- statistics -------------------------------------------------------------------------------------------------

class Score(RecordModel):
    """A metric's mean over a sample with its 95% bootstrap CI; `higher_is_better` travels with it."""

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    higher_is_better: bool = True


class Difference(RecordModel):
    """A change a − b with its 95% bootstrap CI, the test behind its p-value and the effect size (paired d_z)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float | None = None
    test: str = ""
    effect_size: float | None = None


class Gap(Difference):
    """A difference of two independent means (a train sample against the test split): Cohen's d as effect size."""

    n_a: int
    n_b: int
    higher_is_better: bool = True


class Versus(RecordModel):
    """A probe figure on the base model and on the strategy, and the paired change (strategy − base)."""

    base: Score
    adapted: Score
    delta: Difference


# --- per split: predictions -------------------------------------------------------------------------------------

class Counts(RecordModel):
    """How many examples a split had, how many came from the cache or were truncated, and the tokens they took."""

    examples: int
    cached: int = 0
    truncated: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class SplitTimings(RecordModel):
    """Prediction time of one split: wall seconds, throughput of the uncached examples (None when all were
    cached) and per-example latency percentiles."""

    predict_seconds: float
    examples_per_second: float | None = None
    latency_p50: float
    latency_p95: float


# --- probes: forgetting, bias, refusal --------------------------------------------------------------------------

class Perplexity(RecordModel):
    """Held-out perplexity of one model on general text, and its per-token negative log-likelihood."""

    perplexity: float
    tokens: int
    nll_per_token: Score


class PerplexityChange(RecordModel):
    """Perplexity on the base model and on the strategy; `delta` is the paired change in NLL per text."""

    base: Perplexity
    adapted: Perplexity
    delta: Difference


class ForgettingSet(Versus):
    """Multiple-choice accuracy on one probe set (base, strategy, change), its chance level and per category."""

    chance: float
    per_category: dict[str, Versus] = {}


class Forgetting(RecordModel):
    """Forgetting probes of a strategy; `skipped` says why there are none (e.g. a model other than the base)."""

    sets: dict[str, ForgettingSet] = {}
    perplexity: PerplexityChange | None = None
    skipped: str | None = None


class PairFigures(RecordModel):
    """Counterfactual pairs (a group term swapped) on one model: the metric gap, its size, and answers changed."""

    pairs: int
    metric: str
    metric_gap: Score
    abs_metric_gap: Score
    changed: Score


class PairChanges(RecordModel):
    """The strategy's counterfactual figures minus the base's, paired on the same pairs."""

    abs_metric_gap: Difference
    changed: Difference


class CounterfactualChange(RecordModel):
    """Counterfactual pairs on the base and on the strategy, and the change."""

    pairs: int
    metric: str
    base: PairFigures
    adapted: PairFigures
    delta: PairChanges


class Bias(RecordModel):
    """Bias probes of a strategy: per BBQ set, per figure (accuracy_*, bias_*, abstention_*), and the
    counterfactual pairs; `skipped` says why there are none."""

    bbq: dict[str, dict[str, Versus]] = {}
    counterfactual: CounterfactualChange | None = None
    skipped: str | None = None


class Refusal(RecordModel):
    """How often the model says it does not know, per probe ("<bbq set>_ambig", "qa_unanswerable")."""

    sets: dict[str, Versus] = {}
    skipped: str | None = None


class BaseForgetting(RecordModel):
    """The base model's accuracy on one multiple-choice probe set, its chance level and per category."""

    accuracy: Score
    chance: float
    per_category: dict[str, Score] = {}


class BaseProbes(RecordModel):
    """The base model's probe figures, scored once per run: what forgetting and bias are measured against."""

    model_fingerprint: str | None = None
    forgetting: dict[str, BaseForgetting] = {}
    bias: dict[str, dict[str, Score]] = {}
    perplexity: Perplexity | None = None
    counterfactual: PairFigures | None = None
    refusal: dict[str, Score] = {}
    seconds: float | None = None
    skipped: str | None = None


# --- retrieval, overfitting, win rate ---------------------------------------------------------------------------

class RetrievalScores(RecordModel):
    """recall@k (keyed by k) and MRR over the examples that name their gold documents."""

    examples: int
    recall: dict[int, Score]
    mrr: Score


class WrongAnswers(RecordModel):
    """Wrong answers split into retrieval misses and generation errors, judged by `metric`."""

    metric: str
    wrong: int
    retrieval_miss: int
    generation_error: int
    retrieval_miss_share: float | None = None
    correct_despite_miss: int = 0


class RetrievalReport(RetrievalScores):
    """Retrieval quality on one split: overall, by number of hops where examples differ, and wrong answers."""

    context_k: int
    by_hops: dict[str, RetrievalScores] = {}
    wrong_answers: WrongAnswers | None = None


class Overfitting(RecordModel):
    """Per metric: train sample minus test, and test minus ood (where the task has an ood split)."""

    train_minus_test: dict[str, Gap] = {}
    test_minus_ood: dict[str, Gap] = {}


class WinRate(RecordModel):
    """Preference win rate against the base model's zero-shot output on the same prompts, judged by `metric`."""

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    wins: int
    ties: int
    losses: int


# --- training ---------------------------------------------------------------------------------------------------

class CurvePoint(RecordModel):
    """One validation during training (fine-tuning: loss and metric; DPO: reward accuracy and margin)."""

    step: int | None = None
    epoch: float | None = None
    tokens: int | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    val_metric: float | None = None
    val_metric_n: int | None = None
    val_reward_accuracy: float | None = None
    val_reward_margin: float | None = None


class Artifact(RecordModel):
    """A saved adapter or model: where, which files, how many bytes."""

    path: str
    files: list[str] = []
    bytes: int = 0


class Training(RecordModel):
    """What a training strategy did. The declared fields are the ones several strategies share; each strategy
    adds its own settings (lora, freeze, pairs, tasks, shared...), kept as given."""

    model_config = ConfigDict(extra="allow")

    method: str
    train_examples: int | None = None
    val_examples: int | None = None
    lr: float | None = None
    epochs: int | None = None
    steps: int | None = None
    stopped_early: bool | None = None
    best: CurvePoint | None = None
    monitor: str | None = None
    tokens: int | None = None
    target_tokens: int | None = None
    train_seconds: float | None = None
    eval_seconds: float | None = None
    tokens_per_second: float | None = None
    processes: int | None = None
    mixed_precision: str | None = None
    deployment: str | None = None
    artifact: Artifact | None = None


class SizePoint(RecordModel):
    """The metric after training on `train_examples` (a `fraction` of the training sample), with its CI."""

    fraction: float | None = None
    train_examples: int
    value: float
    ci_low: float
    ci_high: float
    n: int


class CurveFit(RecordModel):
    """The fitted saturating curve m(n) = a − b·n^−c."""

    form: str = "a - b * n^-c"
    a: float
    b: float
    c: float


class Projection(RecordModel):
    """The fitted metric at more training data, with a bootstrap CI and the gain over the largest point."""

    train_examples: int
    value: float
    ci_low: float
    ci_high: float
    gain_over_current: float


class BootstrapFits(RecordModel):
    converged: int
    tried: int


class DataSizeCurve(RecordModel):
    """Would more labelled data pay: the points, the fit (None when it could not be fitted) and projections
    keyed "2x", "4x"."""

    metric: str
    higher_is_better: bool = True
    points: list[SizePoint]
    fit: CurveFit | None = None
    projection: dict[str, Projection] = {}
    bootstrap_fits: BootstrapFits | None = None
    asymptote: float | None = None


class Trial(RecordModel):
    """One hyperparameter-search trial: its values, its objective (None if pruned before one) and validations."""

    number: int
    params: dict[str, float | int]
    value: float | None = None
    state: str
    seconds: float | None = None
    intermediate: dict[str, float] = {}


class BestTrial(RecordModel):
    number: int
    params: dict[str, float | int]
    value: float


class Search(RecordModel):
    """A hyperparameter search on the validation split: the space, every trial, and the one kept."""

    strategy: str
    params: list[str]
    split: str = "validation"
    objective: str
    sampler: str
    pruner: str
    space: dict[str, list[float | int]]
    trials: list[Trial]
    best: BestTrial
    kept: str
    seconds: float


# --- cost and the result ----------------------------------------------------------------------------------------

class StrategyCost(RecordModel):
    """What preparing a strategy took: setup seconds (training, indexing), trainable parameters, artifact size,
    peak memory. `peak_rss_mb` is this process's peak resident memory over the strategy (`peak_rss_scope`
    "strategy") or, where the OS cannot reset the peak, since the process started ("process");
    `peak_memory_mb` is the strategy's own figure (training's CUDA or RSS peak)."""

    setup_seconds: float = 0.0
    trainable_params: int = 0
    artifact_bytes: int = 0
    peak_memory_mb: float | None = None
    device: str = "cpu"
    peak_rss_mb: float | None = None
    peak_rss_scope: Literal["strategy", "process"] | None = None
    cuda_peak_mb: float | None = None
    extra: dict[str, Any] = {}


class StrategyResult(RecordModel):
    """One strategy's entry in run.json: its scores per split and metric, counts and timings, cost, the probes
    against the base, overfitting, retrieval, win rate and, for training strategies, what training did."""

    status: Literal["running", "complete"] = "running"
    fingerprint: str
    model: str = "base"
    backend: str = "hf"
    prices: ModelPrices = Field(default_factory=ModelPrices)
    metrics: dict[str, dict[str, Score]] = {}  # split -> metric -> score
    counts: dict[str, Counts] = {}
    timings: dict[str, SplitTimings] = {}
    probe_seconds: float | None = None
    retrieval: dict[str, RetrievalReport] = {}
    forgetting: Forgetting | None = None
    bias: Bias | None = None
    refusal: Refusal | None = None
    overfitting: Overfitting | None = None
    win_rate: WinRate | None = None
    training: Training | None = None
    learning_curve: list[CurvePoint] = []
    data_size_curve: DataSizeCurve | None = None
    search: Search | None = None
    cost: StrategyCost = Field(default_factory=StrategyCost)

    def score(self, metric: str, split: str = "test") -> Score | None:
        return self.metrics.get(split, {}).get(metric)

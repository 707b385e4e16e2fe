"""What run.json holds for one strategy (`StrategyResult`) and its parts, as pydantic models.

The statistics are harness.record.figures' (`Score`, `Difference`, `Gap`, `Versus`); what training strategies add is in
harness.record.training. A cost holds, besides its declared fields, the sections its strategy registers
(`CostSection`: RAG's index, a training's tokens), each validated under its name; `Training` keeps a strategy's own
training settings as given (they differ from one strategy to the next).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from pydantic import ConfigDict, Field, model_validator

from harness.config import ModelPrices
from harness.record.figures import Difference, Gap, RecordModel, Score, Versus
from harness.record.judged import Judged
from harness.record.training import CurvePoint, DataSizeCurve, Search, Training
from harness.registry import costs
from harness.section import list_sections, with_sections


# --- per split: predictions -------------------------------------------------------------------------------------

class Counts(RecordModel):
    """How many examples a split had, how many came from the cache or were truncated, and the tokens they took."""

    examples: int
    cached: int = 0
    truncated: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class SplitTimings(RecordModel):
    """Prediction time of one split, as two figures with one definition on every backend:

    - throughput: `examples_per_second` under the run's batching or concurrency, what the cost ledger bills; a
      cached example counts with the seconds measured when it was computed (None: no example has a timing); `latency_p50`/`latency_p95` are percentiles of the same
      billed shares (batch time / batch size), kept for older readers: they are not what a request waits.
    - request latency: seconds from a request's submission to its last token, p50/p95, measured with
      `requests_in_flight` requests together (the batch every request of it waits for on hf and vllm, the
      endpoint's concurrency on openai); `latency_requests` rows had one (older prediction files have none)."""

    predict_seconds: float
    examples_per_second: float | None = None
    latency_p50: float
    latency_p95: float
    request_latency_p50: float | None = None
    request_latency_p95: float | None = None
    requests_in_flight: int | None = None
    latency_requests: int = 0


class SingleRequest(RecordModel):
    """A handful of test prompts sent one at a time (batch 1, no cache), as an interactive deployment meets them:
    time to the first token (a one-token request) and to the last, median and worst of `requests`."""

    requests: int
    first_token_p50: float
    first_token_max: float
    total_p50: float
    total_max: float
    cached: bool = False  # measured by an earlier run with the same strategy, model and prompts (the run cache)


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
    """Preference win rate against `against`'s output on the same prompts (the base model's zero-shot output, or
    another strategy's in the run: dpo against lora), judged by `metric`."""

    metric: str
    against: str = "base"
    value: float
    ci_low: float
    ci_high: float
    n: int
    wins: int
    ties: int
    losses: int


# --- cost and the result ----------------------------------------------------------------------------------------

class CostSection(RecordModel):
    """What one strategy adds to its cost, registered under `name` (`@costs.add`) by the strategy that owns it:
    `cost.rag` in run.json, `cost.section(RagCost)` in code. Its fields are typed: a misspelt one is an error."""

    model_config = ConfigDict(validate_assignment=True)  # a strategy counts into its section as it runs (rag's drops)
    name: ClassVar[str] = ""


C = TypeVar("C", bound=CostSection)


class SharedSetup(RecordModel):
    """A setup made once for several tasks (one multitask adapter): each task's run is charged `charged_share`
    of its `train_seconds`; `trained_in_this_run` False: made by an earlier run and loaded here."""

    tasks: list[str]
    train_seconds: float
    charged_share: float
    trained_in_this_run: bool
    adapter: str
    per_task: str  # the strategy that makes this setup once per task instead: what the suite page compares it with


class StrategyCost(RecordModel):
    """What preparing a strategy took: setup seconds (training, indexing), trainable parameters, artifact size,
    peak memory. `peak_rss_mb` is this process's peak resident memory over the strategy (`peak_rss_scope`
    "strategy") or, where the OS cannot reset the peak, since the process started ("process");
    `peak_memory_mb` is the strategy's own figure (training's CUDA or RSS peak, as `peak_memory_kind` says).
    The strategy's own sections (`CostSection`s: `rag`, `training`, `head`...) sit beside these fields."""

    model_config = ConfigDict(extra="allow", json_schema_extra=lambda schema: list_sections(schema, costs))

    setup_seconds: float = 0.0
    trainable_params: int = 0
    artifact_bytes: int = 0
    peak_memory_mb: float | None = None
    peak_memory_kind: str | None = None
    device: str = "cpu"
    peak_rss_mb: float | None = None
    peak_rss_scope: Literal["strategy", "process"] | None = None
    cuda_peak_mb: float | None = None
    # "reused": setup_seconds are an earlier run's (an index or shared adapter loaded from the cache), not spent here
    setup_source: Literal["measured", "reused"] = "measured"
    setup_note: str | None = None  # e.g. "reused: trained in run X, N s"
    shared_setup: SharedSetup | None = None  # setup_seconds are this task's share of a setup shared by several

    @model_validator(mode="wrap")
    @classmethod
    def _cost_sections(cls, data: Any, handler) -> "StrategyCost":
        return with_sections(cls, data, handler, costs, fill=False)

    def section(self, cls: type[C]) -> C | None:
        """The strategy's own section of this cost (None: the strategy adds none)."""
        return (self.model_extra or {}).get(cls.name)


class SequenceAtStop(RecordModel):
    """The anytime-valid interval on mean(leader - other) of the decision metric (in its better direction: > 0
    means the leader is better) after n paired examples, at level alpha (each comparison's share of the run's)."""

    leader: str
    other: str
    lower: float
    upper: float
    mean: float
    n: int
    alpha: float


class AdaptiveStop(RecordModel):
    """How much of the test split an adaptive run evaluated for this strategy, and why it stopped there.
    `stopped`: winner (better than every other), worse (shown worse than the leader), equivalent (every
    difference within the margin), exhausted (the split ran out). What was saved is the examples not generated;
    its seconds are estimated from the strategy's measured seconds per example, its dollars from its $/query."""

    examples_used: int
    examples_available: int
    stopped: Literal["winner", "worse", "equivalent", "exhausted"]
    round: int
    sequences: list[SequenceAtStop] = []
    saved_examples: int = 0
    saved_seconds: float = 0.0
    saved_dollars: float | None = None


class SideBound(RecordModel):
    """A side measurement's anytime-valid interval on one figure after n items, at level alpha."""

    lower: float
    upper: float
    mean: float
    n: int
    alpha: float


class SideStop(RecordModel):
    """Where one side measurement of an adaptive run stopped, and why. `measurement` and `set` name it
    (overfitting train_sample / ood; forgetting, refusal and counterfactual on a probe set); `sequences` holds the
    interval at the stop of each figure it settles on (the overfitting gap on the decision metric; the paired
    change strategy − base of a probe's figures). `stopped`: change (some sequence excludes 0, and every other
    settled: excludes 0 or lies within ±`margin`), no_change (every one lies within ±`margin`), exhausted (the
    sample ran out: its figures are the fixed-n ones)."""

    measurement: Literal["overfitting", "forgetting", "counterfactual", "refusal"]
    set: str
    items_used: int
    items_available: int
    stopped: Literal["change", "no_change", "exhausted"]
    margin: float
    sequences: dict[str, SideBound] = {}

    @classmethod
    def of(cls, measurement: str, name: str, found, available: int, margin: float) -> "SideStop":
        """From a harness.measure.sequential.SideResult (`found`)."""
        return cls(measurement=measurement, set=name, items_used=found.n, items_available=available,
                   stopped=found.stopped, margin=margin,
                   sequences={f: SideBound(lower=b.lower, upper=b.upper, mean=b.mean, n=b.n, alpha=b.alpha)
                              for f, b in found.bounds.items()})


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
    single_request: SingleRequest | None = None  # None: not measured (probes.latency_requests 0, or older runs)
    probe_seconds: float | None = None
    retrieval: dict[str, RetrievalReport] = {}
    forgetting: Forgetting | None = None
    bias: Bias | None = None
    refusal: Refusal | None = None
    overfitting: Overfitting | None = None
    win_rate: WinRate | None = None  # against the base model
    win_rate_against: dict[str, WinRate] = {}  # against other strategies of the run (dpo: lora), keyed by name
    judged: Judged | None = None  # a model judge's measurements (their scores are in `metrics`)
    training: Training | None = None
    learning_curve: list[CurvePoint] = []
    data_size_curve: DataSizeCurve | None = None
    search: Search | None = None
    adaptive: AdaptiveStop | None = None  # an adaptive run: where its test evaluation stopped, and why
    side_stops: list[SideStop] = []  # an adaptive run: where each side measurement (overfitting, probes) stopped
    cost: StrategyCost = Field(default_factory=StrategyCost)

    def score(self, metric: str, split: str = "test") -> Score | None:
        return self.metrics.get(split, {}).get(metric)

    def forgetting_entries(self) -> dict[str, ForgettingSet]:
        """{probe set: base, adapted, delta} for the multiple-choice forgetting probes."""
        return dict(self.forgetting.sets) if self.forgetting else {}

    def bias_entries(self) -> dict[str, Versus]:
        """{"<bbq set> <bias score>": base, adapted, delta}: the BBQ bias scores (−1 to +1, 0 unbiased: |score| is the bias)."""
        bbq = self.bias.bbq if self.bias else {}
        return {f"{name} {field}": e for name, fields in bbq.items() for field, e in fields.items()
                if field.startswith("bias_")}

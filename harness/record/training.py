"""What a training strategy adds to its result in run.json, as pydantic models: what training did (`Training`),
its validation curve (`CurvePoint`s), the data-size curve and a hyperparameter search; `Details` holds them as a
strategy hands them to the run.
"""

from __future__ import annotations

from pydantic import ConfigDict

from harness.record.figures import RecordModel


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

    model_config = ConfigDict(extra="allow", validate_assignment=True)  # a strategy sets its deployment, artifact

    method: str
    train_examples: int | None = None
    val_examples: int | None = None
    lr: float | None = None
    epochs: int | None = None
    steps: int | None = None
    stopped_early: bool | None = None
    best: CurvePoint | None = None
    monitor: str | None = None
    monitor_metric: str | None = None  # the metric the validations scored (monitor: metric)
    # True: the monitored metric never moved from its first value (within min_delta) over two or more validations
    # -- no signal in the validation metric: the checkpoint was chosen by validation loss. None: not monitored.
    metric_flat: bool | None = None
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
    objective: str  # the validation figure each trial is judged by (its best validation): a metric, or val_loss
    maximize: bool
    val_examples: int
    sampler: str = "TPE"  # optuna's, seeded
    seed: int
    pruner: str = "median"  # stops a trial whose validation falls below the median of earlier trials at that point
    pruner_startup_trials: int  # trials run to the end before the pruner may stop one
    space: dict[str, list[float | int]]
    trials: list[Trial]
    best: BestTrial  # its model is kept (not retrained) and scored on test
    seconds: float


class Details(RecordModel):
    """What the run record keeps of a strategy's making, set by the strategy (all empty: it trains nothing); each
    field is the result field of its name."""

    model_config = ConfigDict(validate_assignment=True)

    training: Training | None = None
    learning_curve: list[CurvePoint] = []
    search: Search | None = None
    data_size_curve: DataSizeCurve | None = None

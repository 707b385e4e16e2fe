"""What a finished run's analysis adds to run.json, as pydantic models: the paired comparisons, the cost ledger
and the recommendation. Numbers and names only: the renderers write the sentences.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from harness.config import ConstraintsConfig, PricesConfig
from harness.record.figures import Difference, RecordModel

Constraint = Literal["max_forgetting_drop", "max_bias_increase", "max_latency_p95", "max_setup_dollars"]


class Comparison(Difference):
    """Strategy `a` against `b` on one metric, a − b paired on the examples both scored; `p_holm` is adjusted
    within the metric's family of `family_size` pairs, and `better` names the one ahead outside the noise (None
    inside it). `ci_low`/`ci_high` are the unadjusted 95% bootstrap interval; `adj_ci_low`/`adj_ci_high` the
    Holm-adjusted interval at `adj_confidence`, from inverting the same sign-flip test the verdict uses at the
    level Holm holds this pair to: it excludes 0 exactly when `significant` (None in records from before it)."""

    metric: str
    a: str
    b: str
    higher_is_better: bool = True
    p_holm: float
    significant: bool
    better: str | None = None
    adj_ci_low: float | None = None
    adj_ci_high: float | None = None
    adj_confidence: float | None = None
    family_size: int | None = None

    def oriented(self, x: str, y: str) -> "Comparison":
        """The same comparison as x − y (the CIs and effect size flipped where it was stored as y − x)."""
        if (self.a, self.b) == (x, y):
            return self
        neg = lambda v: None if v is None else -v  # noqa: E731
        return self.model_copy(update={"a": x, "b": y, "value": -self.value, "ci_low": -self.ci_high,
                                       "ci_high": -self.ci_low, "adj_ci_low": neg(self.adj_ci_high),
                                       "adj_ci_high": neg(self.adj_ci_low), "effect_size": neg(self.effect_size)})


def find_comparison(comparisons: list[Comparison], metric: str, x: str, y: str) -> Comparison | None:
    """The comparison of x against y on a metric, oriented as x − y; None when the two were not compared."""
    for c in comparisons:
        if c.metric == metric and {c.a, c.b} == {x, y}:
            return c.oriented(x, y)
    return None


# --- the cost ledger --------------------------------------------------------------------------------------------

class CostRow(RecordModel):
    """One strategy's costs: once (setup) and per query, in seconds, memory, tokens and dollars, with the hourly
    rate and the pricing (per hour of a machine, or per token of an API) they were computed with."""

    device: str
    model: str = "base"
    backend: str = "hf"
    pricing: Literal["per token", "per hour"]
    setup_seconds: float
    setup_source: Literal["measured", "reused"] = "measured"  # "reused": an earlier run's setup, charged again
    setup_note: str | None = None
    peak_memory_mb: float | None = None
    cuda_peak_mb: float | None = None
    trainable_params: int = 0
    artifact_bytes: int = 0
    seconds_per_query: float | None = None  # 1 / throughput under the run's batching: what is billed and ranked
    latency_p50: float | None = None  # percentiles of the billed per-example shares (not a request's wait)
    latency_p95: float | None = None
    request_latency_p50: float | None = None  # submission to last token, what a request waits (max_latency_p95)
    request_latency_p95: float | None = None
    requests_in_flight: int | None = None  # the batch size or concurrency the request latencies were measured at
    single_request_s: float | None = None  # median total seconds of a request sent alone (batch 1)
    single_request_first_token_s: float | None = None
    single_requests: int | None = None  # how many requests the single-request figures come from
    single_request_cached: bool = False  # those figures were measured by an earlier run (the run cache)
    tokens_in_per_query: float | None = None
    tokens_out_per_query: float | None = None
    dollars_per_hour: float
    setup_dollars: float
    dollars_per_query: float
    dollars_per_month: float
    horizon_dollars: float


class BreakEven(RecordModel):
    """A pair of strategies: `upfront` costs more to set up than `other`. `queries` is the total query count after
    which its cheaper queries repay that (under 1: from the first query), `months` the same at the expected monthly
    volume; both None when there is nothing to repay, and `dominant` is then the one cheaper on both counts."""

    pair: tuple[str, str]
    upfront: str
    cheaper_per_query: str
    other: str
    queries: float | None = None
    months: float | None = None
    dominant: str | None = None


class CostLedger(RecordModel):
    """Every complete strategy's costs, the break-even volumes between them, and the prices and volume used."""

    strategies: dict[str, CostRow]
    break_even: list[BreakEven] = []
    prices: PricesConfig
    monthly_queries: float
    horizon_months: float


# --- the recommendation -----------------------------------------------------------------------------------------

class Weights(RecordModel):
    """The utility's weights, normalised to sum to 1."""

    quality: float
    cost: float
    latency: float


class Veto(RecordModel):
    """A hard constraint a strategy breaks: its `value` exceeds `limit`; `where` names the probe (set or BBQ
    measure) for the forgetting and bias constraints."""

    constraint: Constraint
    limit: float
    value: float
    where: str | None = None


class Ranked(RecordModel):
    """A strategy that meets the constraints: its utility (weighted relative quality, cost and latency, 1 = best
    on every count) and its dollars over the horizon."""

    strategy: str
    utility: float
    horizon_dollars: float


class Contrast(RecordModel):
    """The recommended strategy against another on the decision metric (recommended − other)."""

    other: str
    comparison: Comparison


class WorstChange(RecordModel):
    """The largest change for the worse over a strategy's probes (forgetting: a drop in accuracy; bias: an
    increase in |bias score|, the distance from unbiased), and the smallest change that probe could have detected
    (None: not computed)."""

    value: float
    where: str
    detectable: float | None = None


class VolumeChange(RecordModel):
    """At more (`above`) or fewer (`below`) than `at` queries a month, `recommended` would be recommended."""

    kind: Literal["volume"] = "volume"
    direction: Literal["above", "below"]
    at: float
    recommended: str | None


class ConstraintChange(RecordModel):
    """Relaxing `constraint` from `limit` to `value` (`strategy`'s value) would make `recommended` the choice."""

    kind: Literal["constraint"] = "constraint"
    constraint: Constraint
    limit: float
    value: float
    strategy: str
    recommended: str | None


class PriorityChange(RecordModel):
    """Under another priority profile, `recommended` would be recommended."""

    kind: Literal["priority"] = "priority"
    priority: str
    recommended: str | None


class MoreExamples(RecordModel):
    """A tie that more data might break: `needed` paired test examples would detect an effect of `effect_size`
    (d_z) with 80% power at the two-sided level `alpha` (the decision's alpha over the Holm family size `family`:
    the strictest level Holm holds a pair to); the run had `n`."""

    kind: Literal["examples"] = "examples"
    needed: int
    effect_size: float
    n: int
    alpha: float | None = None
    family: int | None = None


class Stable(RecordModel):
    """Nothing checked changes the recommendation (volumes 1 to 10^10 a month, each constraint, each priority)."""

    kind: Literal["stable"] = "stable"


WhatIf = Annotated[Union[VolumeChange, ConstraintChange, PriorityChange, MoreExamples, Stable],
                   Field(discriminator="kind")]

Verdict = Literal["none", "only", "winner", "trade-off", "tie"]


class Recommendation(RecordModel):
    """Which strategy to deploy and why, in numbers.

    verdict: "none" (every strategy vetoed), "only" (one left), "winner" (ahead of the runner-up outside the
    noise), "trade-off" (ranked first for its cost while the runner-up is better outside the noise) or "tie"
    (inside the noise: the cheaper one is recommended). `ranking` is the order the recommendation comes from, the
    recommended strategy first; `tie_break` is True when it is first because it ties with a strategy of higher
    utility and costs less. `comparison` is recommended − runner_up on `metric`; `contrasts` set it against every
    other strategy compared; `forgetting` and `bias` are its largest changes for the worse (None where not
    measured; bias as |strategy| − |base|), `weights_unchanged` True where it trains nothing. `unmeasured` lists,
    per strategy not vetoed, the constraints that could not be checked for it (no measured value): it stays
    eligible, but it is not said to meet them. `judge_fallback` names the judged metric the decision would have
    rested on had the run's judge been trusted (it was unvalidated: `metric` is the task's reference metric).
    """

    priority: Literal["quality", "balanced", "cost", "custom"]
    weights: Weights
    monthly_queries: float
    horizon_months: float
    alpha: float
    constraints: ConstraintsConfig
    metric: str
    verdict: Verdict
    recommended: str | None = None
    runner_up: str | None = None
    comparison: Comparison | None = None
    ranking: list[Ranked] = []
    tie_break: bool = False
    vetoed: dict[str, list[Veto]] = {}
    contrasts: list[Contrast] = []
    forgetting: WorstChange | None = None
    bias: WorstChange | None = None
    weights_unchanged: bool = False
    what_ifs: list[WhatIf] = []
    unmeasured: dict[str, list[Constraint]] = {}
    judge_fallback: str | None = None

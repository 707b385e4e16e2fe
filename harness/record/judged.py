"""What run.json holds of a model judge (harness.judge): per strategy, how its judged measurements went (asked,
scored, unscored, position flips) and what judging it cost; per run, the judge, its versioned rubrics, its
calibration and whether it was trusted.

The judged scores themselves are metrics like any other (`StrategyResult.metrics[split]["judge-reference"]`), with
per-example values in judged/<strategy>.jsonl, so the paired tests and CIs are the same as for every metric."""

from __future__ import annotations

from typing import Literal

from harness.record.figures import Difference, RecordModel, Score


class JudgeCost(RecordModel):
    """Evaluation cost: the judge's calls for a strategy (or the run), apart from the strategy's serving cost.
    `dollars` is priced per token where the judge model has token prices, else by its seconds at the run's
    machine price (`priced_by`)."""

    calls: int = 0
    cached: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    dollars: float = 0.0
    priced_by: Literal["tokens", "machine time"] = "machine time"


class JudgedCounts(RecordModel):
    """One judged measurement of one strategy: examples asked about, scored, and unscored (the judge's reply could
    not be read even after one retry that quoted the parse error; never counted as a failure)."""

    asked: int = 0
    scored: int = 0
    unscored: int = 0
    retried: int = 0  # replies that needed the retry (scored or not)


class Pairwise(JudgedCounts):
    """judge-pairwise of a strategy against `baseline`, each pair asked in both orders. A pair whose verdict flips
    with the order is a tie (flips counts them; flip_rate is their share of the pairs scored both ways);
    `identical`: outputs equal to the baseline's, ties without asking."""

    baseline: str
    wins: int = 0
    ties: int = 0
    losses: int = 0
    flips: int = 0
    identical: int = 0
    first_position_wins: int = 0  # decisive single-order verdicts for whichever output was shown first
    decisive: int = 0  # single-order verdicts that named a winner
    flip_rate: Score | None = None


class Judged(RecordModel):
    """A strategy's judged measurements (those that applied to it) and their evaluation cost."""

    reference: JudgedCounts | None = None
    pairwise: Pairwise | None = None
    faithfulness: JudgedCounts | None = None
    claims: int = 0  # faithfulness: claims (sentences) of the answers, each asked about
    cost: JudgeCost = JudgeCost()


class Agreement(RecordModel):
    """The judge against a truth: Cohen's kappa (pass/fail) or Kendall's tau (a scale), with a bootstrap CI over
    items; `raw` is the plain share of items where the two agree (pass/fail)."""

    statistic: Literal["kappa", "tau"]
    against: str  # "labelled set FILE" or "exact_match"
    value: float | None  # None: undefined (one side constant), reported, never taken as agreement
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    unscored: int = 0
    raw: float | None = None


class Rubric(RecordModel):
    """A judge prompt, versioned: the version changes whenever the text does."""

    version: str
    text: str


class JudgeRecord(RecordModel):
    """The run's judge: which model, on which rubrics, how well it agrees with what is known, and whether the
    recommendation may rest on it. `trusted` is False (unvalidated) when no agreement could be measured or one is
    below `min_agreement`; `reason` says which, in figures."""

    model: str
    backend: str = ""
    fingerprint: str | None = None
    scale: Literal["pass-fail", "1-5"] = "pass-fail"
    baseline: str = "prompt"
    rubrics: dict[str, Rubric] = {}
    labelled: Agreement | None = None
    exact: Agreement | None = None
    flip_rate: Score | None = None  # over every strategy's pairs scored both ways
    length_bias: Difference | None = None  # longer output wins (judge) minus longer output better (references)
    min_agreement: float = 0.4
    trusted: bool = False
    reason: str = ""
    cost: JudgeCost = JudgeCost()  # calibration calls and every strategy's, together

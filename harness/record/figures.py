"""The statistics every part of run.json is made of, as pydantic models: a `Score` (a mean with its 95% CI), a
`Difference` (a change with its CI and test), a `Gap` (a difference of independent means) and `Versus` (a probe
figure on the base model and on a strategy, and the paired change).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RecordModel(BaseModel):
    """A part of run.json whose shape is ours: an unknown key is an error, not something silently kept."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Score(RecordModel):
    """A metric's mean over a sample with its 95% bootstrap CI; `higher_is_better` travels with it."""

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    higher_is_better: bool = True


class Difference(RecordModel):
    """A change a − b with its 95% bootstrap CI, the test behind its p-value and the effect size (paired d_z).
    `resamples`: the random sign flips (or permutations) the p-value was estimated from, so its resolution is
    1/(resamples + 1); None where it is exact (or not recorded)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float | None = None
    test: str = ""
    resamples: int | None = None
    effect_size: float | None = None


class Gap(Difference):
    """A difference of two independent means (a train sample against the test split): Cohen's d as effect size."""

    n_a: int
    n_b: int
    higher_is_better: bool = True


class Versus(RecordModel):
    """A probe figure on the base model and on the strategy, and the paired change (strategy − base).

    `detectable`: the smallest change for the worse the paired test could have detected (80% power at the run's
    alpha; harness.measure.power); None where not computed. `informative`: False when the base model is not above chance
    on the probe (its CI includes the chance level), so no change there could be seen."""

    base: Score
    adapted: Score
    delta: Difference
    detectable: float | None = None
    informative: bool = True

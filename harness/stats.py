"""Statistics: bootstrap confidence intervals on means (percentile method, seeded, vectorised)."""

from __future__ import annotations

import numpy as np

from harness.types import Score

N_BOOT = 2000


def bootstrap_ci(values, *, confidence: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): a percentile bootstrap CI on the mean. Degenerate samples give a zero-width interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return mean, mean, mean
    from scipy.stats import bootstrap

    res = bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=n_boot, method="percentile",
                    vectorized=True, random_state=np.random.default_rng(seed))
    return mean, float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(metric: str, values, *, higher_is_better: bool = True, seed: int = 0) -> Score:
    mean, low, high = bootstrap_ci(values, seed=seed)
    return Score(metric, mean, low, high, len(values), higher_is_better)

"""How large a change a probe could have seen: the smallest change its paired test detects with 80% power at the
run's alpha, and whether the base model does the probe at all (a model at chance cannot forget it).

Accuracy probes (0/1 per item) are tested with the exact McNemar test, which looks only at the discordant items
(the base right and the strategy wrong, or the reverse). Its power for a drop `d` depends on how many items are
discordant: `psi`, the share of items on which the two models disagree. The assumption used here: the strategy
disagrees with the base on the share of items it was observed to disagree on, and at least on `d` (a drop of `d`
needs that many losses): psi = max(observed, d). Then the losses are (psi + d) / 2 of the items and the gains
(psi - d) / 2. Before a run (no strategy yet) the observed share is taken as 0: only losses, the smallest drop any
probe of that size could detect.

BBQ figures (ratios over items, tested by a paired permutation) use the normal approximation: the smallest change
is (z_{1-alpha/2} + z_power) standard errors of the paired change, the standard error read off its 95% bootstrap CI.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

POWER = 0.8
GRID = np.round(np.arange(1, 1001) / 1000, 3)  # drops tried: 0.001 to 1


@lru_cache(maxsize=256)
def _critical(n: int, alpha: float) -> np.ndarray:
    """For each number of discordant items d = 0..n: the fewest losses at which the two-sided exact McNemar test
    (binomial, p = 1/2) has p < alpha; d + 1 where no count reaches it."""
    from scipy.stats import binom

    out = np.empty(n + 1, dtype=int)
    for d in range(n + 1):
        ks = np.arange(d + 1)
        p = np.minimum(1.0, 2 * binom.sf(ks - 1, d, 0.5))
        ok = np.flatnonzero((p < alpha) & (2 * ks > d))
        out[d] = ks[ok[0]] if ok.size else d + 1
    return out


def mcnemar_power(n: int, drop, discordance: float = 0.0, alpha: float = 0.05) -> np.ndarray:
    """Power of the exact McNemar test to find a drop (or array of drops) in accuracy over n paired items, the
    share of discordant items being max(discordance, drop)."""
    from scipy.stats import binom

    drops = np.atleast_1d(np.asarray(drop, dtype=float))
    psi = np.maximum(discordance, drops)[:, None]
    d = np.arange(n + 1)[None, :]
    k = _critical(n, alpha)[None, :]
    loss_share = np.where(psi > 0, (psi + drops[:, None]) / (2 * np.where(psi > 0, psi, 1)), 0.5)
    power = (binom.pmf(d, n, psi) * binom.sf(k - 1, d, loss_share)).sum(axis=1)
    return power if np.ndim(drop) else power[:1]


def detectable_drop(n: int, *, alpha: float = 0.05, discordance: float = 0.0, power: float = POWER) -> float | None:
    """The smallest drop in accuracy (to 0.001) from which on the paired test over n items detects it with the
    given power; None when no drop, however large, reaches it (too few items)."""
    if n <= 0:
        return None
    reached = mcnemar_power(n, GRID, discordance, alpha) >= power
    if not reached[-1]:
        return None
    below = np.flatnonzero(~reached)
    return float(GRID[below[-1] + 1]) if below.size else float(GRID[0])


def detectable_shift(ci_low: float, ci_high: float, *, alpha: float = 0.05, power: float = POWER) -> float | None:
    """The smallest change a test of this precision detects (normal approximation): (z_{1-alpha/2} + z_power)
    standard errors, the standard error read off a 95% CI. None where the CI has no width (every resample gave the
    same figure, as a model that answers every item alike does): it says nothing about what a change would do."""
    from scipy.stats import norm

    if any(math.isnan(x) for x in (ci_low, ci_high)) or ci_high <= ci_low:
        return None
    se = (ci_high - ci_low) / (2 * norm.ppf(0.975))
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se)


def above_chance(ci_low: float, chance: float) -> bool:
    """Does the base model do the probe: its CI's lower end above the chance level?"""
    return not math.isnan(ci_low) and ci_low > chance + 1e-12

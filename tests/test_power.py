"""The smallest change a probe could have seen: exact McNemar power against a direct simulation, and its shrinking
with the number of items."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from harness.measure.power import above_chance, detectable_drop, detectable_shift, mcnemar_power


def _simulated_power(n: int, drop: float, discordance: float, alpha: float, sims: int = 1500, seed: int = 0) -> float:
    """Draw n paired items (loss, gain or concordant), run the exact McNemar test, count the drops it finds."""
    rng = np.random.default_rng(seed)
    psi = max(discordance, drop)
    found = 0
    for _ in range(sims):
        kind = rng.choice(3, size=n, p=[(psi + drop) / 2, (psi - drop) / 2, 1 - psi])
        losses, gains = int((kind == 0).sum()), int((kind == 1).sum())
        if losses > gains and binomtest(losses, losses + gains, 0.5).pvalue < alpha:
            found += 1
    return found / sims


@pytest.mark.parametrize("n,discordance", [(20, 0.0), (60, 0.25)])
def test_detectable_drop_matches_a_direct_simulation(n, discordance):
    """At the detectable drop the simulated power is 80% within 0.04 (1500 draws: sd 0.01, plus the grid step and
    the test's discreteness), and a drop 0.05 smaller is found less often than 80%."""
    mde = detectable_drop(n, alpha=0.05, discordance=discordance)
    exact = float(mcnemar_power(n, mde, discordance, 0.05)[0])
    simulated = _simulated_power(n, mde, discordance, 0.05)
    assert exact == pytest.approx(simulated, abs=0.04)
    assert simulated == pytest.approx(0.8, abs=0.04)
    assert _simulated_power(n, mde - 0.05, discordance, 0.05, seed=1) < 0.8


def test_detectable_drop_shrinks_as_items_grow():
    sizes = [12, 20, 40, 120, 500]
    drops = [detectable_drop(n, alpha=0.05) for n in sizes]
    assert all(a > b for a, b in zip(drops, drops[1:])), drops
    # more disagreement between the models, or a stricter alpha, needs a larger drop
    assert detectable_drop(120, discordance=0.3) > detectable_drop(120)
    assert detectable_drop(120, alpha=0.01) > detectable_drop(120, alpha=0.05)
    # five items can never reach p < 0.05 (2 * 0.5^5 = 0.0625): no drop is detectable
    assert detectable_drop(5) is None


def test_detectable_shift_and_chance():
    # 1.96 standard errors either side of the estimate: the detectable change is 2.80 standard errors
    assert detectable_shift(-0.196, 0.196) == pytest.approx(0.1 * 2.8016, abs=1e-3)
    # a flat figure (a CI of no width) cannot tell what change it would have seen: not "0.000 detectable"
    assert detectable_shift(0.0, 0.0) is None and detectable_shift(0.3, 0.3) is None
    assert above_chance(0.30, 0.25) and not above_chance(0.183, 0.25) and not above_chance(0.25, 0.25)

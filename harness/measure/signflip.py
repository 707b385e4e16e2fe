"""The paired sign-flip test behind every comparison's p-value, and the confidence interval from inverting it.

The test of "the paired differences d are symmetric about δ" flips the sign of each d_i − δ at random and asks how
often |Σ ±(d_i − δ)| reaches the observed |Σ (d_i − δ)|. At δ = 0 on 0/1 scores it is the exact McNemar test (only
wins and losses flip; their count is binomial). It is exact where it can be: full enumeration of the 2^k sign
patterns for k ≤ EXACT_UP_TO differences, the binomial for 0/1 scores; otherwise N_FLIPS random sign patterns
(seeded), so the smallest p it can give is 1/(N_FLIPS + 1) = 0.0001, well below any Holm-adjusted level in use.

The interval at level 1 − a is every δ the same test does not reject at a (found by bisection on each side, with the
same sign patterns for every δ). Whether it holds 0 is decided by the p-value at 0 itself (the bisection brackets
start there), so the interval excludes 0 exactly when p < a: the interval and the test never disagree. Where even
the most extreme sign pattern is not rare enough to reject (very few examples), the interval is clipped to the
range of the differences (and 0).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

EXACT_UP_TO = 16  # 2^16 = 65,536 patterns: exact enumeration below this, random flips above
N_FLIPS = 9999
_CHUNK = 4096


@lru_cache(maxsize=2)
def _patterns(n: int, seed: int) -> tuple[np.ndarray, bool]:
    """The sign patterns (rows of ±1) and whether they are every pattern (exact) or a random sample; float64 where
    that stays under 40 MB (a matrix product per shift tried), int8 converted chunk by chunk above."""
    if n <= EXACT_UP_TO:
        codes = np.arange(2 ** n, dtype=np.int64)[:, None] >> np.arange(n)
        signs, exact = (1 - 2 * (codes & 1)).astype(np.int8), True
    else:
        rng = np.random.default_rng(seed)
        signs, exact = (1 - 2 * rng.integers(0, 2, size=(N_FLIPS, n), dtype=np.int8)).astype(np.int8), False
    signs = signs.astype(float) if signs.size <= 5_000_000 else signs
    signs.flags.writeable = False
    return signs, exact


def _p(x: np.ndarray, signs: np.ndarray, exact: bool) -> float:
    """Two-sided p of the sign-flip test on x (the differences minus the hypothesised shift)."""
    obs = abs(float(x.sum()))
    tol = 1e-9 * max(1.0, float(np.abs(x).sum()))
    step = signs.shape[0] if signs.dtype == float else _CHUNK
    count = 0
    for start in range(0, signs.shape[0], step):
        # einsum, not BLAS: a threaded matrix-vector product crawls on a shared, busy CPU (measured 50x slower)
        count += int(np.sum(np.abs(np.einsum("ij,j->i", signs[start:start + step], x)) >= obs - tol))
    return count / signs.shape[0] if exact else (count + 1) / (signs.shape[0] + 1)


def is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def p_value(a: np.ndarray, b: np.ndarray, *, seed: int = 0) -> tuple[float, str, int | None]:
    """(p, test name, random resamples or None where exact) for a − b paired, at δ = 0."""
    d = a - b
    if d.size == 0 or np.all(d == 0):
        return 1.0, "none (identical scores)", None
    if is_binary(a) and is_binary(b):
        from scipy.stats import binomtest

        wins, losses = int(np.sum(d > 0)), int(np.sum(d < 0))
        return float(binomtest(wins, wins + losses, 0.5).pvalue), "exact McNemar", None
    nz = d[d != 0]
    signs, exact = _patterns(nz.size, seed)
    if exact:
        return _p(nz, signs, True), "paired sign-flip (exact)", None
    return _p(nz, signs, False), f"paired sign-flip ({N_FLIPS} random flips)", N_FLIPS


def _lower(d: np.ndarray, a: float, reject0: bool, signs: np.ndarray, exact: bool) -> float:
    """The smallest shift δ ≤ mean(d) the test does not reject at level a (bisection)."""
    mean = float(d.mean())
    hi = 0.0 if (not reject0 and 0 <= mean) else mean  # accepted: p(mean) = 1, and p(0) >= a when not reject0
    if reject0 and 0 < mean:
        lo = 0.0  # rejected: the interval lies above 0
    else:
        edge = min(float(d.min()), hi)
        lo = edge - 1e-6 * max(1.0, float(np.ptp(d)))  # below min(d) every x_i has one sign: p is at its floor
        if _p(d - lo, signs, exact) >= a:
            return edge  # even the floor does not reject: clipped to the range of the differences
    span = max(hi - lo, 1e-12)
    for _ in range(40):
        if hi - lo <= 1e-5 * span:
            break
        mid = (lo + hi) / 2
        if _p(d - mid, signs, exact) < a:
            lo = mid
        else:
            hi = mid
    return hi


def interval(a: np.ndarray, b: np.ndarray, level: float, reject0: bool, *, seed: int = 0) -> tuple[float, float]:
    """The (1 − level) interval for the mean of a − b by inverting the sign-flip test at `level`; reject0 is the
    test's decision at δ = 0 (p < level), so the interval excludes 0 exactly when the test rejects."""
    d = a - b
    if d.size == 0 or np.all(d == 0):
        return (0.0, 0.0) if d.size else (float("nan"), float("nan"))
    signs, exact = _patterns(d.size, seed)
    return _lower(d, level, reject0, signs, exact), -_lower(-d, level, reject0, signs, exact)


def holm_steps(p_values: list[float], alpha: float) -> list[tuple[float, bool]]:
    """Per p-value, in the input order: (the level its test is held to, rejected) under Holm's step-down. The k-th
    smallest p (k from 0) is held to alpha/(m − k) while every smaller one was rejected; from the first that is not,
    all the rest are held to that step's level (their p is at least its p, so none is rejected). `rejected` equals
    Holm-adjusted p < alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out: list[tuple[float, bool]] = [(alpha, False)] * m
    stopped: float | None = None
    for rank, i in enumerate(order):
        if stopped is None and min(1.0, (m - rank) * p_values[i]) >= alpha:
            stopped = alpha / (m - rank)
        out[i] = (stopped, False) if stopped is not None else (alpha / (m - rank), True)
    return out

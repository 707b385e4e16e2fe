"""Anytime-valid confidence sequences for paired score differences, and the stop/continue rule built on them.

A fixed-n interval looked at after every round of examples covers less often than it claims, so a run that stops at
its first "significant" look declares false winners far above alpha. A confidence sequence holds at every n at once:
P(some n has the true mean outside CS_n) <= alpha, whatever the stopping rule.

The sequence is the hedged-capital betting one of Waudby-Smith & Ramdas (2024), "Estimating means of bounded random
variables by betting" (JRSS-B), with predictable plug-in bets: for a candidate mean m of x in [0, 1], bettors on
"mean > m" and "mean < m" each grow a wealth that is a nonnegative martingale when m is the truth, so by Ville's
inequality neither reaches 2/alpha at any time with probability over alpha/2. CS_n = the m that neither bettor has
rejected at any time up to n (the running intersection, so bounds never widen). Written here rather than imported:
confseq 0.0.11 does not build on Python 3.11 nor import on NumPy 2, and expectation 0.6.1 needs Python >= 3.12.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from harness.errors import HarnessError

# A bet stakes at most 3/4 of the wealth (c = 3/4, one of the two truncations Waudby-Smith & Ramdas recommend; any
# c < 1 keeps every wealth factor >= 1 - c > 0, so validity holds). It binds on score differences: their spread is a
# small part of [-1, 1], the optimal stake lies beyond it, and c sets the growth. On the default summarization run's
# own rougeL differences (d_z 0.65) the sequence excluded 0 after 48 examples at c = 3/4, 64 at c = 1/2.
_TRUNCATION = 0.75
_TOLERANCE = 1e-9  # bisection width on the [0, 1] scale (2e-9 on the difference scale)


@dataclass(frozen=True)
class SequenceBound:
    """The anytime-valid interval for a mean paired difference (in [-1, 1]) after n examples."""
    lower: float
    upper: float
    n: int
    mean: float
    alpha: float


@dataclass(frozen=True)
class RoundDecision:
    """What one look at the scores so far says: stop or continue, and the evidence behind it."""
    stop: bool
    verdict: Literal["winner", "equivalent", "continue"]
    reason: str
    leader: str
    n: int
    alpha_each: float  # the level of each comparison: alpha / (number of strategies - 1)
    comparisons: Mapping[str, SequenceBound]  # other strategy -> bound on mean(leader - other), > 0: leader better
    worse: tuple[str, ...]  # strategies already shown worse than the leader: they may stop being evaluated


def _bets(x: np.ndarray, alpha: float) -> np.ndarray:
    """Predictable plug-in bets lambda_t, from x_1..x_{t-1} only: a regularised running variance (prior 1/4 from
    one fake observation) and a 1/sqrt(t log t) decay. They do not depend on m; the truncation, which does, is
    applied in _log_wealth."""
    t = np.arange(1, len(x) + 1)
    mu = (0.5 + np.cumsum(x)) / (t + 1)  # mu_t uses x_1..x_t
    var = (0.25 + np.cumsum((x - mu) ** 2)) / (t + 1)  # sigma^2_t
    var_before = np.concatenate(([0.25], var[:-1]))  # sigma^2_{t-1}: predictable
    return np.sqrt(2 * math.log(2 / alpha) / (var_before * t * np.log1p(t)))


def _log_wealth_max(x: np.ndarray, bets: np.ndarray, m: np.ndarray, looks: np.ndarray) -> np.ndarray:
    """For each candidate m[r], the largest log-wealth of the bettor on "mean > m[r]" over times 1..looks[r].
    The wealth factor 1 + min(bet, c/m)(x - m) is positive and nonincreasing in m, so this is too."""
    with np.errstate(divide="ignore"):
        stake = np.minimum(bets[None, :], _TRUNCATION / m[:, None])
    log_wealth = np.cumsum(np.log1p(stake * (x[None, :] - m[:, None])), axis=1)
    seen = np.arange(len(x))[None, :] < looks[:, None]
    return np.where(seen, log_wealth, -np.inf).max(axis=1)


def _lower_bounds(x: np.ndarray, alpha: float, looks: np.ndarray) -> np.ndarray:
    """Lower ends of the sequence at each look: inf{m : the up-bettor never reached 2/alpha}, by a bisection run
    for all looks at once. m = 1 is never rejected (every factor <= 1); lo is always rejected or 0, and is what is
    returned, so the bound errs on the wide side."""
    bets, threshold = _bets(x, alpha), math.log(2 / alpha)
    lo, hi = np.zeros(len(looks)), np.ones(len(looks))
    free = _log_wealth_max(x, bets, lo, looks) < threshold  # m = 0 itself is not rejected: the bound is 0
    while np.max(hi - lo) > _TOLERANCE:
        mid = (lo + hi) / 2
        rejected = _log_wealth_max(x, bets, mid, looks) >= threshold
        lo, hi = np.where(rejected, mid, lo), np.where(rejected, hi, mid)
    return np.where(free, 0.0, lo)


def paired_sequences_at(diffs: Sequence[float], alpha: float, looks: Sequence[int]) -> list[SequenceBound]:
    """The sequence for the mean of diffs (each in [-1, 1]) after each look (a prefix length), in one pass. The
    bound at a look depends only on the diffs before it: it is what paired_sequence gives on that prefix."""
    d = np.asarray(diffs, dtype=float)
    at = np.asarray(looks, dtype=int)
    if not 0 < alpha < 1:
        raise HarnessError(f"alpha must be in (0, 1), got {alpha}.")
    if d.ndim != 1 or len(d) == 0 or not np.all(np.isfinite(d)) or np.any(np.abs(d) > 1):
        raise HarnessError("Paired differences must be a non-empty list of numbers in [-1, 1].",
                           hint="Difference two scores in [0, 1] on the same examples.")
    if at.ndim != 1 or len(at) == 0 or at.min() < 1 or at.max() > len(d):
        raise HarnessError(f"Looks must be prefix lengths between 1 and {len(d)}, got {list(looks)}.")
    x = (d + 1) / 2  # onto [0, 1]; the mean maps back by 2m - 1
    low = _lower_bounds(x, alpha, at)
    high = 1 - _lower_bounds(1 - x, alpha, at)  # the down-bettor is the up-bettor on 1 - x (the bets are symmetric)
    means = np.cumsum(d)[at - 1] / at
    return [SequenceBound(float(2 * lo - 1), float(2 * hi - 1), int(n), float(mu), alpha)
            for lo, hi, n, mu in zip(low, high, at, means)]


def paired_sequence(diffs: Sequence[float], alpha: float) -> SequenceBound:
    """The anytime-valid interval at level alpha for the mean of paired differences in [-1, 1], after all of them."""
    return paired_sequences_at(diffs, alpha, [len(diffs)])[0]


def _check_scores(scores: Mapping[str, Sequence[float]], alpha: float, margin: float) -> int:
    if len(scores) < 2:
        raise HarnessError(f"A round decision needs at least two strategies, got {len(scores)}.")
    sizes = {name: len(values) for name, values in scores.items()}
    if len(set(sizes.values())) != 1 or min(sizes.values()) == 0:
        raise HarnessError(f"Every strategy must be scored on the same examples so far, got counts {sizes}.",
                           hint="Score each strategy on the whole round before deciding.")
    for name, values in scores.items():
        v = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(v)) or v.min() < 0 or v.max() > 1:
            raise HarnessError(f"Scores of '{name}' must lie in [0, 1].", hint="Use a bounded per-example metric.")
    if not 0 < alpha < 1 or not margin >= 0:
        raise HarnessError(f"alpha must be in (0, 1) and margin >= 0, got alpha={alpha}, margin={margin}.")
    return next(iter(sizes.values()))


def decide_round(scores: Mapping[str, Sequence[float]], alpha: float, margin: float,
                 higher_is_better: bool = True, compared: int | None = None) -> RoundDecision:
    """Stop or continue after a round, from per-example scores in [0, 1] of every strategy on the same examples in
    the same order. The leader (best mean so far; the first listed on a tie) is compared with each other strategy
    at alpha / (k - 1), k strategies. Guarantees, at level alpha together: a "winner" is the true best, and every
    strategy listed as worse is not the true best (each error needs a comparison with the true best to miss, and
    there are k - 1 of those). "equivalent" (every comparison inside (-margin, margin)) means the leader is within
    margin of the true best; for k = 2 that is the two strategies within margin of each other. When both hold,
    the verdict is "winner". A run that drops strategies shown worse keeps its first k: `compared` = k - 1 (the
    true best's comparisons over the whole run are still those k - 1, whoever leads at each look)."""
    n = _check_scores(scores, alpha, margin)
    sign = 1.0 if higher_is_better else -1.0
    arrays = {name: sign * np.asarray(values, dtype=float) for name, values in scores.items()}
    leader = max(arrays, key=lambda name: float(arrays[name].mean()))  # max keeps the first of equal means
    if compared is not None and compared < len(arrays) - 1:
        raise HarnessError(f"compared ({compared}) must count at least the {len(arrays) - 1} comparisons made.")
    alpha_each = alpha / (compared or len(arrays) - 1)
    comparisons = {other: paired_sequence(arrays[leader] - arrays[other], alpha_each)
                   for other in arrays if other != leader}
    worse = tuple(other for other, bound in comparisons.items() if bound.lower > 0)
    level = f"{1 - alpha:.0%} anytime-valid"
    if len(worse) == len(comparisons):
        verdict, reason = "winner", (f"'{leader}' is better than {', '.join(map(repr, worse))}: every {level} "
                                     f"bound on the paired difference is above 0 after {n} examples.")
    elif all(-margin < b.lower and b.upper < margin for b in comparisons.values()):
        verdict, reason = "equivalent", (f"Every {level} bound on the paired difference with '{leader}' lies "
                                         f"within +-{margin:g} after {n} examples.")
    else:
        verdict, reason = "continue", (f"No verdict after {n} examples: some {level} bound is neither above 0 "
                                       f"nor within +-{margin:g}.")
    return RoundDecision(stop=verdict != "continue", verdict=verdict, reason=reason, leader=leader, n=n,
                         alpha_each=alpha_each, comparisons=comparisons, worse=worse)


# --- side measurements: one mean, a gap of two independent means, and when a sequence settles -------------------


def mean_sequence(values: Sequence[float], alpha: float) -> SequenceBound:
    """The anytime-valid interval at level alpha for the mean of values in [0, 1] after all of them: the same
    betting sequence, on 2x - 1 (in [-1, 1]) and mapped back."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0 or not np.all(np.isfinite(v)) or v.min() < 0 or v.max() > 1:
        raise HarnessError("A mean's sequence needs a non-empty list of scores in [0, 1].",
                           hint="Use a bounded per-example metric.")
    b = paired_sequence(2 * v - 1, alpha)
    return SequenceBound((b.lower + 1) / 2, (b.upper + 1) / 2, b.n, (b.mean + 1) / 2, alpha)


def gap_sequence(a: Sequence[float], b: Sequence[float], alpha: float) -> SequenceBound:
    """The anytime-valid interval for mean(a) - mean(b), two independent samples of scores in [0, 1] (a train
    sample against the test split): each mean's sequence at alpha / 2, so both hold together at every look with
    probability at least 1 - alpha (a union bound), and the gap lies between their far ends. `n` is len(a), the
    sample that grows."""
    sa, sb = mean_sequence(a, alpha / 2), mean_sequence(b, alpha / 2)
    return SequenceBound(sa.lower - sb.upper, sa.upper - sb.lower, sa.n, sa.mean - sb.mean, alpha)


def settles(bound: SequenceBound, margin: float, limit: float | None = None) -> Literal["change", "no_change"] | None:
    """What a side measurement's sequence shows: "change" when it excludes 0, "no_change" when it lies inside
    (-margin, margin), None when neither (go on). With a `limit` (a constraint's threshold on the same scale), a
    sequence that still holds it is not settled either: the constraint's side is not known yet."""
    if limit is not None and bound.lower < limit < bound.upper:
        return None
    if bound.lower > 0 or bound.upper < 0:
        return "change"
    if -margin < bound.lower and bound.upper < margin:
        return "no_change"
    return None


@dataclass(frozen=True)
class SideResult:
    """Where a side measurement stopped: after `n` items, why, and each figure's sequence at that look."""
    stopped: Literal["change", "no_change", "exhausted"]
    n: int
    bounds: Mapping[str, SequenceBound]


def side_rounds(available: int, size: int, margin: float,
                look: Callable[[int], Mapping[str, SequenceBound]],
                limits: Mapping[str, float] | None = None) -> SideResult:
    """A side measurement in rounds of `size` items: `look(n)` evaluates the first n (only those it has not) and
    returns each figure's sequence on them; it stops at the first look where every figure settles (harness:
    `settles`, with that figure's limit if any) or when the `available` items run out. "change" when some figure
    excludes 0, "no_change" when none does."""
    n = 0
    while True:
        n = min(n + size, available)
        bounds = look(n)
        shown = {name: settles(b, margin, (limits or {}).get(name)) for name, b in bounds.items()}
        if bounds and all(shown.values()):
            return SideResult("change" if "change" in shown.values() else "no_change", n, bounds)
        if n >= available:
            return SideResult("exhausted", n, bounds)


def anytime_difference(delta: dict, bound: SequenceBound, used: int, available: int) -> dict:
    """A change stopped before its sample ran out, as recorded: its value (the mean of the items used) with the
    sequence's interval instead of the fixed-n one, and no p-value. A bootstrap CI or a fixed-n test on a sample
    whose size the data chose covers less than it claims; the sequence holds at every look at once."""
    return delta | {"ci_low": bound.lower, "ci_high": bound.upper, "p_value": None, "resamples": None,
                    "test": f"{1 - bound.alpha:.0%} anytime-valid betting sequence, stopped at {used} of {available}"}

"""harness.measure.sequential: the anytime-valid sequence keeps false winners under alpha when a run looks after
every round, where a fixed-n paired t-test looked at the same way does not; it stops early on a real difference and
on equivalent strategies; and decide_round's bookkeeping (leader, drop-outs, the Bonferroni split) is what it says.
Simulations use fixed seeds; `pytest -s` prints their figures."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from scipy import stats

from harness.errors import HarnessError
from harness.measure.sequential import decide_round, paired_sequence, paired_sequences_at

ALPHA = 0.05
ROUND, MAX_N = 16, 400
LOOKS = list(range(ROUND, MAX_N + 1, ROUND))  # 25 looks: after 16, 32, ..., 400 examples


def _rouge_like(rng: np.random.Generator, n: int, shift: float) -> np.ndarray:
    """Continuous scores in [0, 1] on examples of shared difficulty q (the same q for every strategy of a run)."""
    return shift + 0.7 * (0.5 * rng.uniform(size=n) + 0.5 * rng.uniform(size=n))


def _peeking_t_test_p_values(diffs: np.ndarray, looks: list[int]) -> np.ndarray:
    """The two-sided paired t-test p-value after each look, as scipy.stats.ttest_rel gives it (vectorised over the
    looks; all-zero differences give nan, which is not below alpha: no win, as it should be)."""
    n = np.asarray(looks)
    total, squares = np.cumsum(diffs)[n - 1], np.cumsum(diffs ** 2)[n - 1]
    mean = total / n
    sd = np.sqrt(np.maximum(squares - n * mean ** 2, 0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
    return 2 * stats.t.sf(np.abs(t), n - 1)


def _sequential_run(rng: np.random.Generator, strategies: dict[str, float], margin: float) -> tuple[str, str, int]:
    """One adaptive evaluation through decide_round: rounds of 16 examples until a verdict or 400 examples.
    Scores share the per-example difficulty, as strategies on the same test examples do."""
    q = rng.uniform(size=MAX_N)
    scores = {name: shift + 0.7 * (0.5 * q + 0.5 * rng.uniform(size=MAX_N)) for name, shift in strategies.items()}
    for n in LOOKS:
        decision = decide_round({name: s[:n] for name, s in scores.items()}, ALPHA, margin)
        if decision.stop:
            return decision.verdict, decision.leader, n
    return "exhausted", decision.leader, MAX_N


def test_no_true_difference_peeking_after_every_round():
    """A/A: two strategies of equal mean (Bernoulli on examples of shared difficulty, like exact match). The
    sequence, looked at after every round and stopped at its first exclusion of 0, declares a winner at most alpha
    of the time; a paired t-test at alpha looked at the same way, on the same data, does so far more often."""
    rng = np.random.default_rng(20250125)
    runs = 1000
    anytime_wins = peeking_wins = 0
    for _ in range(runs):
        p = rng.beta(2, 2, size=MAX_N)
        a = (rng.uniform(size=MAX_N) < p).astype(float)
        b = (rng.uniform(size=MAX_N) < p).astype(float)
        bounds = paired_sequences_at(a - b, ALPHA, LOOKS)
        anytime_wins += any(bd.lower > 0 or bd.upper < 0 for bd in bounds)
        p_values = _peeking_t_test_p_values(a - b, LOOKS)
        assert p_values[-1] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-6, nan_ok=True)
        peeking_wins += bool(np.any(p_values < ALPHA))
    slack = 2 * math.sqrt(ALPHA * (1 - ALPHA) / runs)
    anytime, peeking = anytime_wins / runs, peeking_wins / runs
    print(f"\nA/A, {runs} runs, alpha={ALPHA}, {len(LOOKS)} looks (n=16..400): false-winner rate "
          f"anytime sequence {anytime:.3f}, peeking paired t-test {peeking:.3f}")
    assert anytime <= ALPHA + slack
    assert peeking > ALPHA + slack  # the inflation the sequence exists to avoid
    assert peeking > anytime


def test_true_difference_stops_early_with_the_right_winner():
    """A real 0.15 difference in mean (ROUGE-like scores): most runs stop long before 400 examples, on the winner."""
    rng = np.random.default_rng(7)
    runs = 200
    outcomes = [_sequential_run(rng, {"weak": 0.0, "strong": 0.15}, margin=0.0) for _ in range(runs)]
    stops = [n for _, _, n in outcomes]
    right = sum(verdict == "winner" and leader == "strong" for verdict, leader, _ in outcomes) / runs
    wrong = sum(verdict == "winner" and leader == "weak" for verdict, leader, _ in outcomes) / runs
    print(f"\ntrue difference 0.15, {runs} runs: median stopping n {np.median(stops):.0f} "
          f"(90th percentile {np.percentile(stops, 90):.0f}) of {MAX_N}; right winner {right:.3f}, wrong {wrong:.3f}")
    assert np.median(stops) <= MAX_N / 2
    assert right >= 0.95
    assert wrong <= ALPHA


def test_equivalent_strategies_stop_as_equivalent():
    """Three strategies within 0.01 of one another and a margin of 0.2: the run stops as "equivalent" before the
    400 examples run out (and the leader compared with two others at alpha/2 each)."""
    rng = np.random.default_rng(11)
    runs = 100
    outcomes = [_sequential_run(rng, {"a": 0.0, "b": 0.01, "c": 0.005}, margin=0.2) for _ in range(runs)]
    equivalent = [n for verdict, _, n in outcomes if verdict == "equivalent"]
    print(f"\nequivalence, margin 0.2, {runs} runs: {len(equivalent)} stopped as equivalent, "
          f"median n {np.median(equivalent):.0f}; verdicts {sorted({v for v, _, _ in outcomes})}")
    assert len(equivalent) >= 0.95 * runs
    assert np.median(equivalent) < MAX_N
    assert not any(verdict == "winner" for verdict, _, _ in outcomes)


def test_a_strategy_shown_worse_is_listed_while_the_others_go_on():
    rng = np.random.default_rng(3)
    n = 96
    best = _rouge_like(rng, n, 0.3)
    scores = {"best": best, "close": np.clip(best - 0.01 * rng.uniform(size=n), 0, 1), "bad": np.zeros(n)}
    decision = decide_round(scores, ALPHA, margin=0.0)
    assert decision.leader == "best" and decision.n == n
    assert decision.worse == ("bad",)
    assert decision.verdict == "continue" and not decision.stop
    assert set(decision.comparisons) == {"close", "bad"}
    for bound in decision.comparisons.values():
        assert -1 <= bound.lower <= bound.mean <= bound.upper <= 1 and bound.n == n


def test_alpha_is_split_over_the_comparisons_with_the_leader():
    rng = np.random.default_rng(5)
    scores = {name: _rouge_like(rng, 64, shift) for name, shift in [("x", 0.0), ("y", 0.05), ("z", 0.02)]}
    decision = decide_round(scores, ALPHA, margin=0.1)
    assert decision.leader == "y" and decision.alpha_each == pytest.approx(ALPHA / 2)
    for other, bound in decision.comparisons.items():
        diffs = scores["y"] - scores[other]
        assert bound == paired_sequence(diffs, ALPHA / 2)
        unsplit = paired_sequence(diffs, ALPHA)
        assert bound.lower < unsplit.lower and bound.upper > unsplit.upper  # the split level is wider
    # a run that has dropped x keeps splitting alpha over its first three strategies' two comparisons
    kept = decide_round({n: scores[n] for n in ("y", "z")}, ALPHA, margin=0.1, compared=2)
    assert kept.alpha_each == pytest.approx(ALPHA / 2) and kept.comparisons["z"] == decision.comparisons["z"]
    with pytest.raises(HarnessError, match="compared"):
        decide_round(scores, ALPHA, margin=0.1, compared=1)


def test_lower_is_better_picks_the_lowest_mean_as_leader():
    scores = {"low": [0.1, 0.2, 0.0, 0.1] * 20, "high": [0.9, 0.8, 1.0, 0.7] * 20}
    decision = decide_round(scores, ALPHA, margin=0.0, higher_is_better=False)
    assert decision.leader == "low" and decision.verdict == "winner" and decision.worse == ("high",)
    assert decision.comparisons["high"].lower > 0  # oriented so that > 0 means the leader is better


def test_bounds_at_looks_are_the_bounds_of_the_prefixes_and_never_widen():
    rng = np.random.default_rng(9)
    diffs = np.clip(rng.normal(0.1, 0.4, size=160), -1, 1)
    looks = [1, 16, 40, 41, 160]
    at_looks = paired_sequences_at(diffs, ALPHA, looks)
    assert at_looks == [paired_sequence(diffs[:n], ALPHA) for n in looks]
    for before, after in pairwise(at_looks):
        assert before.lower <= after.lower <= after.upper <= before.upper  # the running intersection
    flipped = paired_sequence(-diffs, ALPHA)
    assert flipped.lower == pytest.approx(-at_looks[-1].upper) and flipped.upper == pytest.approx(-at_looks[-1].lower)


def test_the_sequence_covers_a_known_mean_and_is_wider_than_a_fixed_n_interval():
    rng = np.random.default_rng(13)
    diffs = rng.choice([-1.0, 0.0, 1.0], p=[0.2, 0.5, 0.3], size=1000)  # true mean 0.1
    bound = paired_sequence(diffs, ALPHA)
    half = stats.norm.ppf(1 - ALPHA / 2) * diffs.std(ddof=1) / math.sqrt(len(diffs))
    assert bound.lower < 0.1 < bound.upper
    assert bound.upper - bound.lower > 2 * half  # the price of looking at every n


@pytest.mark.parametrize("scores, alpha, margin", [
    ({"only": [0.5]}, ALPHA, 0.1),
    ({"a": [0.5, 0.5], "b": [0.5]}, ALPHA, 0.1),
    ({"a": [0.5, 1.2], "b": [0.5, 0.5]}, ALPHA, 0.1),
    ({"a": [0.5, float("nan")], "b": [0.5, 0.5]}, ALPHA, 0.1),
    ({"a": [], "b": []}, ALPHA, 0.1),
    ({"a": [0.5], "b": [0.4]}, 0.0, 0.1),
    ({"a": [0.5], "b": [0.4]}, ALPHA, -0.1),
])
def test_bad_input_is_a_harness_error(scores, alpha, margin):
    with pytest.raises(HarnessError):
        decide_round(scores, alpha, margin)


def test_bad_differences_and_looks_are_harness_errors():
    with pytest.raises(HarnessError):
        paired_sequence([0.5, 1.5], ALPHA)
    with pytest.raises(HarnessError):
        paired_sequences_at([0.1, 0.2], ALPHA, [3])

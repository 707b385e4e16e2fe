"""One test behind the verdict, the ranking and the printed interval: the Holm-adjusted interval inverts the same
sign-flip test the verdict uses, so "inside the noise" never sits beside an interval that excludes 0 (nor the
reverse); the p-value's resolution; and the examples a tie needs under the Holm factor."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import norm

from harness.measure import signflip
from harness.record.recommendation import Comparison
from harness.measure.stats import compare_all, paired_difference
from reports import markdown, wording
from runfixtures import analysed, make_run


def _per(samples: dict[str, list[float]]) -> dict:
    return {n: {f"e{i:03d}": {"m": float(v)} for i, v in enumerate(s)} for n, s in samples.items()}


def _excludes_zero(c) -> bool:
    return c.adj_ci_low > 0 or c.adj_ci_high < 0


def test_five_wins_no_losses_in_a_hundred_is_a_tie_beside_an_interval_that_holds_zero(tmp_path):
    lora, prompt = [1.0] * 5 + [0.0] * 95, [0.0] * 100
    store = make_run(tmp_path, {"prompt": {"scores": prompt},
                                "lora": {"scores": lora, "setup_seconds": 3600, "trainable_params": 10**6}},
                     decision={"priority": "quality"})
    r = analysed(store).recommendation
    c = r.comparison.oriented("lora", "prompt")
    assert c.p_value == pytest.approx(0.0625) and c.test == "exact McNemar" and not c.significant
    assert c.ci_low > 0  # the unadjusted bootstrap interval [0.01, 0.10]: what read as a contradiction
    assert c.adj_ci_low <= 0 <= c.adj_ci_high and c.adj_confidence == pytest.approx(0.95)
    assert r.verdict == "tie"
    head = wording.headline(r)
    assert "Holm-adjusted 95% CI" in head and "unadjusted" not in head
    (row,) = [line for line in markdown.render(store).splitlines() if line.startswith("| exact_match")]
    assert "inside the noise" in row and "unadjusted" not in row


def test_verdict_and_adjusted_interval_never_disagree_over_random_paired_samples():
    rng = np.random.default_rng(2026)
    checked = 0
    for case in range(60):
        k, n = int(rng.integers(2, 5)), int(rng.choice([6, 9, 12, 16, 25, 40, 80]))
        binary = case % 2 == 0
        base = rng.random(n)
        samples = {}
        for j in range(k):
            shift = rng.normal(0, 0.6 / math.sqrt(n))  # near the edge of significance
            v = base + shift + rng.normal(0, 0.3, n)
            samples[f"s{j}"] = (v > 0.5).astype(float) if binary else np.round(np.clip(v, 0, 1), 2)
        comps = [Comparison.model_validate(c) for c in compare_all(_per(samples), {"m": True}, alpha=0.05,
                                                                   seed=case)]
        for c in comps:
            assert c.significant == (c.p_holm < 0.05)
            assert c.significant == _excludes_zero(c), (case, c)
            assert c.adj_ci_low <= c.value <= c.adj_ci_high
            assert c.adj_confidence >= 0.95 and c.family_size == k * (k - 1) // 2
            flipped = c.oriented(c.b, c.a)
            assert flipped.adj_ci_low == -c.adj_ci_high and _excludes_zero(flipped) == c.significant
            checked += 1
    assert checked > 100


def test_the_verdict_never_contradicts_the_interval_it_prints(tmp_path):
    rng = np.random.default_rng(7)
    seen = set()
    for case in range(12):
        n = 60
        p = 0.5 + rng.normal(0, 0.2)
        strategies = {"prompt": {"scores": (rng.random(n) < 0.5).astype(float).tolist()},
                      "lora": {"scores": (rng.random(n) < p).astype(float).tolist(), "setup_seconds": 600,
                               "trainable_params": 10**6}}
        r = analysed(make_run(tmp_path / str(case), strategies, decision={"priority": "quality"})).recommendation
        seen.add(r.verdict)
        c = r.comparison
        if r.verdict == "tie":
            assert c.adj_ci_low <= 0 <= c.adj_ci_high
        else:
            assert r.verdict in ("winner", "trade-off") and _excludes_zero(c)
        assert wording.interval(c) in wording.headline(r)
    assert {"tie", "winner"} <= seen


def test_holm_steps_match_holm_and_the_interval_inverts_the_test_at_its_level():
    steps = signflip.holm_steps([0.01, 0.04, 0.03], 0.05)
    assert steps == [(pytest.approx(0.05 / 3), True), (pytest.approx(0.05 / 2), False),
                     (pytest.approx(0.05 / 2), False)]
    d = np.array([0.31, 0.12, -0.05, 0.4, 0.22, 0.08, 0.15, -0.02, 0.27, 0.1])  # 10 differences: exact
    p, test, resamples = signflip.p_value(d, np.zeros_like(d))
    assert test == "paired sign-flip (exact)" and resamples is None
    low, high = signflip.interval(d, np.zeros_like(d), 0.01, p < 0.01)
    signs, exact = signflip._patterns(d.size, 0)
    width = high - low
    assert signflip._p(d - low, signs, exact) >= 0.01 and signflip._p(d - (low - 0.01 * width), signs, exact) < 0.01
    assert signflip._p(d - high, signs, exact) >= 0.01 and signflip._p(d - (high + 0.01 * width), signs, exact) < 0.01


def test_p_value_resolution_is_exact_or_below_the_holm_levels_and_printed():
    small = paired_difference([0.9] * 12, [0.1] * 12)  # every difference positive: 2 of 2^12 patterns
    assert small.p_value == pytest.approx(2 / 2 ** 12) and small.resamples is None
    rng = np.random.default_rng(3)
    x = rng.random(60)
    big = paired_difference(x + 0.3, x + rng.normal(0, 0.05, 60))
    assert big.resamples == 9999 and big.p_value == pytest.approx(1 / 10_000)
    assert big.p_value < 0.05 / 10 / 10  # the floor sits far below alpha/m for up to 5 strategies (10 pairs)
    per = _per({"a": (x + 0.3).tolist(), "b": (x + rng.normal(0, 0.05, 60)).tolist()})
    (c,) = [Comparison.model_validate(c) for c in compare_all(per, {"m": True})]
    assert wording.p_resolution(c) == "p<0.0002, 9999 random flips"
    assert "<0.0002, 9999 random flips" in markdown._comparisons(SimpleNamespace(comparisons=[c]))[-1]


def test_examples_needed_for_a_tie_account_for_the_holm_factor(tmp_path):
    base = (np.random.default_rng(11).random(50) < 0.5).astype(float).tolist()
    nudged = list(base)
    for i in [i for i, v in enumerate(base) if v == 0.0][:2]:
        nudged[i] = 1.0
    strategies = {"prompt": {"scores": base}, "rag": {"scores": list(base), "setup_seconds": 5},
                  "lora": {"scores": nudged, "setup_seconds": 3600, "trainable_params": 10**6}}
    r = analysed(make_run(tmp_path, strategies, decision={"priority": "quality"})).recommendation
    assert r.verdict == "tie" and r.comparison.family_size == 3
    (more,) = [w for w in r.what_ifs if w.kind == "examples"]
    assert more.family == 3 and more.alpha == pytest.approx(0.05 / 3)
    d = abs(r.comparison.effect_size)
    assert more.needed == math.ceil(((norm.ppf(1 - 0.05 / 6) + norm.ppf(0.8)) / d) ** 2)
    assert more.needed > math.ceil((2.8 / d) ** 2)  # more than an unadjusted alpha 0.05 would ask for
    assert "Holm-adjusted level 0.017 (3 pairs)" in wording.what_if(more, r.recommended)


def test_paired_difference_is_the_records_difference_with_its_keys():
    from harness.record.figures import Difference

    d = paired_difference([0.5, 0.6, 0.7, 0.8], [0.4, 0.4, 0.4, 0.4])
    assert isinstance(d, Difference)  # one type from the test to run.json, not a dict of the same keys
    assert list(d.model_dump()) == ["value", "ci_low", "ci_high", "n", "p_value", "test", "resamples", "effect_size"]

"""The overfitting gap statistic and the data-size learning-curve fit, on numbers with known answers."""

import numpy as np

from strategies.finetune.learning_curve import fit_and_project, saturating
from harness.measure.stats import independent_difference


def test_independent_difference_finds_a_real_gap_and_not_a_fake_one():
    rng = np.random.default_rng(0)
    train, test = rng.normal(0.6, 0.1, 40), rng.normal(0.4, 0.1, 120)
    gap = independent_difference(train, test)
    assert gap["ci_low"] > 0.1 and gap["ci_high"] < 0.3 and gap["p_value"] < 0.01
    assert gap["n_a"] == 40 and gap["n_b"] == 120 and gap["value"] == train.mean() - test.mean()
    same = independent_difference(rng.normal(0.4, 0.1, 40), rng.normal(0.4, 0.1, 120))
    assert same["ci_low"] < 0 < same["ci_high"] and same["p_value"] > 0.05


def test_learning_curve_projection_recovers_a_known_saturating_curve():
    rng = np.random.default_rng(1)
    a, b, c = 0.6, 0.8, 0.5
    points = [{"train_examples": n, "scores": saturating(n, a, b, c) + rng.normal(0, 0.02, 200)} for n in (32, 64, 128)]
    out = fit_and_project(points, "rougeL", n_boot=200)
    truth_4x = saturating(512, a, b, c)
    proj = out["projection"]["4x"]
    assert proj["train_examples"] == 512
    assert proj["ci_low"] <= truth_4x <= proj["ci_high"] and abs(proj["value"] - truth_4x) < 0.03
    assert out["projection"]["2x"]["gain_over_current"] > 0 and out["bootstrap_fits"]["converged"] > 150

"""Statistics against hand-computed cases, the cost ledger, and the decision on constructed run records."""

import json
import math

import numpy as np
import pytest

from harness.config import DecisionConfig
from harness.decide.cost import break_even, break_even_queries, strategy_cost
from harness.record.recommendation import Comparison, find_comparison
from harness.record.results import StrategyResult
from harness.measure.stats import compare_all, holm, paired_difference
from runfixtures import analysed, make_run


# --- statistics -------------------------------------------------------------------------------------------------

def test_paired_binary_is_exact_mcnemar_by_hand():
    a = [1, 1, 1, 0, 1, 0]
    b = [0, 0, 1, 0, 0, 0]
    d = paired_difference(a, b)
    # three wins, no losses: two-sided exact binomial p = 2 * 0.5**3
    assert d.test == "exact McNemar" and d.p_value == pytest.approx(0.25)
    assert d.value == pytest.approx(0.5)
    assert d.effect_size == pytest.approx(0.5 / math.sqrt(0.3))  # sd of [1,1,0,0,1,0] with ddof=1


def test_paired_continuous_is_exact_sign_flip_by_hand():
    d = paired_difference([0.5, 0.6, 0.7, 0.8], [0.4, 0.4, 0.4, 0.4])
    # 16 sign patterns; only all-plus and all-minus reach |mean| >= 0.25
    assert d.test == "paired sign-flip (exact)" and d.p_value == pytest.approx(2 / 16) and d.resamples is None
    assert d.value == pytest.approx(0.25)


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_compare_all_adjusts_within_each_metric_and_orients():
    rng = np.random.default_rng(1)
    good = (rng.random(80) < 0.8).astype(float)
    bad = (rng.random(80) < 0.3).astype(float)
    per = {n: {f"e{i}": {"em": float(v), "loss": 1 - float(v)} for i, v in enumerate(s)}
           for n, s in (("a", bad), ("b", good), ("c", bad))}
    comps = [Comparison.model_validate(c) for c in compare_all(per, {"em": True, "loss": False})]
    assert len(comps) == 6  # 3 pairs x 2 metrics
    em = [c for c in comps if c.metric == "em"]
    assert [c.p_holm for c in em] == pytest.approx(holm([c.p_value for c in em]))
    ab = find_comparison(comps, "em", "b", "a")
    assert ab.a == "b" and ab.value > 0.3 and ab.ci_low > 0 and ab.better == "b" and ab.significant
    ba = find_comparison(comps, "em", "a", "b")  # the other orientation: negated, CI flipped
    assert ba.value == -ab.value and (ba.ci_low, ba.ci_high) == (-ab.ci_high, -ab.ci_low)
    loss = find_comparison(comps, "loss", "a", "b")
    assert loss.value > 0 and loss.better == "b"  # lower loss is better
    ac = find_comparison(comps, "em", "a", "c")
    assert ac.better is None and not ac.significant


def test_compare_all_pairs_only_shared_examples():
    per = {"a": {"x": {"m": 1.0}, "y": {"m": 0.0}}, "b": {"y": {"m": 1.0}, "z": {"m": 1.0}}}
    (c,) = compare_all(per, {"m": True})
    assert c["n"] == 1 and c["value"] == -1.0


# --- cost -------------------------------------------------------------------------------------------------------

def test_strategy_cost_and_break_even_by_hand():
    d = DecisionConfig(monthly_queries=1000, prices={"cpu_per_hour": 3.6, "api_input_per_mtok": 1.0,
                                                      "api_output_per_mtok": 2.0})
    res = StrategyResult.model_validate({
        "fingerprint": "x", "cost": {"setup_seconds": 7200, "device": "cpu"},
        "timings": {"test": {"predict_seconds": 2.5, "examples_per_second": 4.0, "latency_p50": 0.3, "latency_p95": 0.9}},
        "counts": {"test": {"examples": 10, "tokens_in": 1000, "tokens_out": 200}}})
    row = strategy_cost(res, d)
    # 0.25 s at $3.6/h = $0.00025, plus 100 prompt tokens at $1/M and 20 completion tokens at $2/M
    assert row.dollars_per_query == pytest.approx(0.00025 + 100e-6 + 40e-6)
    assert row.setup_dollars == pytest.approx(7.2)
    assert row.dollars_per_month == pytest.approx(1000 * row.dollars_per_query)
    a = row.model_copy(update={"setup_dollars": 10.0, "dollars_per_query": 0.001})
    b = row.model_copy(update={"setup_dollars": 0.0, "dollars_per_query": 0.002})
    assert break_even_queries(a, b) == pytest.approx(10_000)
    assert break_even_queries(b, a) is None
    (pair,) = break_even({"a": a, "b": b}, monthly_queries=2000)
    assert pair.upfront == "a" and pair.queries == pytest.approx(10_000) and pair.months == pytest.approx(5)


# --- decisions on constructed runs ------------------------------------------------------------------------------

def _binary(p: float, n: int, seed: int) -> list[float]:
    return (np.random.default_rng(seed).random(n) < p).astype(float).tolist()


def test_clear_winner(tmp_path):
    store = make_run(tmp_path, {"prompt": {"scores": _binary(0.25, 60, 0)},
                                "rag": {"scores": _binary(0.75, 60, 1), "setup_seconds": 30}})
    r = analysed(store).recommendation
    assert r.verdict == "winner" and r.recommended == "rag" and r.runner_up == "prompt"
    assert r.comparison.a == "rag" and r.comparison.b == "prompt" and r.comparison.value > 0.3
    assert r.comparison.ci_low > 0 and r.comparison.significant and r.comparison.better == "rag"
    (contrast,) = r.contrasts
    assert contrast.other == "prompt" and contrast.comparison == r.comparison
    assert [x.strategy for x in r.ranking] == ["rag", "prompt"] and not r.tie_break


def test_tie_inside_the_noise_prefers_the_cheaper(tmp_path):
    base = _binary(0.5, 40, 2)
    nudged = list(base)
    nudged[base.index(0.0)] = 1.0  # one more right answer: +0.025, nowhere near significant
    store = make_run(tmp_path, {"prompt": {"scores": base}, "lora": {"scores": nudged, "setup_seconds": 3600,
                                                                     "trainable_params": 10**6}},
                     decision={"priority": "quality"})
    r = analysed(store).recommendation
    assert r.verdict == "tie" and r.recommended == "prompt" and r.runner_up == "lora"  # inside the noise: the cheaper
    utility = {x.strategy: x.utility for x in r.ranking}
    assert utility["lora"] > utility["prompt"]  # lora has the best mean under quality-only weights...
    assert [x.strategy for x in r.ranking] == ["prompt", "lora"] and r.tie_break  # ...but prompt is ranked first
    assert r.comparison.a == "prompt" and r.comparison.value == pytest.approx(-0.025) and not r.comparison.significant
    (more,) = [w for w in r.what_ifs if w.kind == "examples"]
    # one pair, so Holm holds it to alpha itself: (z_0.975 + z_0.8)^2 = (1.95996 + 0.84162)^2 = 7.8489
    assert more.n == 40 and more.family == 1 and more.alpha == 0.05
    assert more.needed == math.ceil(7.8489 / more.effect_size ** 2)


def test_constraint_vetoes_the_best_scoring(tmp_path):
    drop = {"general": {"chance": 0.25, "base": {"metric": "acc", "value": 0.6, "ci_low": 0.5, "ci_high": 0.7, "n": 50, "higher_is_better": True},
                        "adapted": {"metric": "acc", "value": 0.45, "ci_low": 0.35, "ci_high": 0.55, "n": 50, "higher_is_better": True},
                        "delta": {"value": -0.15, "ci_low": -0.25, "ci_high": -0.05, "n": 50, "p_value": 0.01}}}
    strategies = {"prompt": {"scores": _binary(0.3, 60, 3)},
                  "lora": {"scores": _binary(0.9, 60, 4), "setup_seconds": 600, "trainable_params": 10**6, "forgetting": {"sets": drop}}}
    store = make_run(tmp_path, strategies, decision={"constraints": {"max_forgetting_drop": 0.05}})
    r = analysed(store).recommendation
    assert r.recommended == "prompt" and "lora" in r.vetoed and "lora" not in [x.strategy for x in r.ranking]
    (v,) = r.vetoed["lora"]
    assert v.constraint == "max_forgetting_drop" and v.value == pytest.approx(0.15) and v.limit == 0.05
    assert v.where == "general"
    flips = [w for w in r.what_ifs if w.kind == "constraint"]
    assert flips and flips[0].recommended == "lora" and flips[0].strategy == "lora"
    # without the constraint, lora wins outright
    free = make_run(tmp_path / "free", strategies)
    assert analysed(free).recommendation.recommended == "lora"


def test_break_even_flip_with_query_volume(tmp_path):
    same = _binary(0.6, 50, 5)
    # lora: one CPU hour of setup, 0.1 s a query; prompt: no setup, 1.0 s a query. Over 12 months at $0.20/h
    # they cost the same at V = 3600 / (12 * 0.9) = 333.3 queries a month.
    strategies = {"prompt": {"scores": same, "seconds_per_query": 1.0},
                  "lora": {"scores": same, "seconds_per_query": 0.1, "setup_seconds": 3600, "trainable_params": 10**6}}
    low = analysed(make_run(tmp_path / "low", strategies, decision={"monthly_queries": 100}))
    high = analysed(make_run(tmp_path / "high", strategies, decision={"monthly_queries": 10_000}))
    assert low.recommendation.recommended == "prompt" and high.recommendation.recommended == "lora"
    (flip,) = [w for w in low.recommendation.what_ifs if w.kind == "volume"]
    assert flip.recommended == "lora" and flip.direction == "above" and flip.at == pytest.approx(3600 / 10.8, rel=0.02)
    (be,) = low.cost_ledger.break_even
    assert be.upfront == "lora" and be.queries == pytest.approx(4000, rel=1e-6)


def test_report_recomputes_with_new_priority(tmp_path):
    from typer.testing import CliRunner

    from harness.cli.main import app

    strategies = {"prompt": {"scores": _binary(0.5, 60, 6)},
                  "lora": {"scores": _binary(0.95, 60, 7), "setup_seconds": 900_000, "trainable_params": 10**6}}
    store = make_run(tmp_path, strategies, decision={"monthly_queries": 10, "negligible_dollars": 10})
    assert analysed(store).recommendation.recommended == "lora"
    result = CliRunner().invoke(app, ["report", str(store.path), "--priority", "cost"])
    assert result.exit_code == 0, result.output
    rec = json.loads((store.path / "run.json").read_text())
    assert rec["recommendation"]["priority"] == "cost" and rec["recommendation"]["recommended"] == "prompt"
    assert rec["recommendation"]["verdict"] == "trade-off"
    assert (store.path / "report.html").exists() and "Verdict" in (store.path / "report.md").read_text()


def test_compare_runs_pairs_matching_examples(tmp_path):
    from typer.testing import CliRunner

    from harness.cli.main import app
    from harness.decide.compare import compare_runs

    a = make_run(tmp_path / "a", {"prompt": {"scores": _binary(0.2, 50, 8)}})
    b = make_run(tmp_path / "b", {"prompt": {"scores": [1.0] * 50}})
    result = compare_runs(a.path, b.path)
    (row,) = result["rows"]
    assert row["paired"].n == 50 and row["paired"].value > 0.5 and row["significant"]
    out = CliRunner().invoke(app, ["compare", str(a.path), str(b.path)])
    assert out.exit_code == 0 and "better" in out.output and "50" in out.output

"""Every kind of hard constraint through decide (the veto, its value, where), bias as |bias|, and a constraint that
could not be checked: listed as not measured, never reported as met, in the record and in both reports."""

import numpy as np
import pytest

from reports import html, markdown
from runfixtures import analysed, make_run


def _binary(p: float, n: int, seed: int) -> list[float]:
    return (np.random.default_rng(seed).random(n) < p).astype(float).tolist()


def _score(value: float, n: int = 60) -> dict:
    return {"metric": "bias", "value": value, "ci_low": value - 0.1, "ci_high": value + 0.1, "n": n,
            "higher_is_better": False}


def _bias(base: float, adapted: float) -> dict:
    delta = {"value": adapted - base, "ci_low": adapted - base - 0.1, "ci_high": adapted - base + 0.1, "n": 60,
             "p_value": 0.01}
    return {"bbq": {"bbq_builtin": {"bias_disambig": {"base": _score(base), "adapted": _score(adapted),
                                                       "delta": delta}}}}


def _forgetting(base: float, adapted: float) -> dict:
    acc = lambda v: {"metric": "acc", "value": v, "ci_low": v - 0.1, "ci_high": v + 0.1, "n": 50}  # noqa: E731
    return {"sets": {"general": {"chance": 0.25, "base": acc(base), "adapted": acc(adapted),
                                 "delta": {"value": adapted - base, "ci_low": -0.2, "ci_high": 0.0, "n": 50}}}}


def _strategies(**lora) -> dict:
    return {"prompt": {"scores": _binary(0.3, 60, 3)},
            "lora": {"scores": _binary(0.9, 60, 4), "setup_seconds": 600, "trainable_params": 10**6} | lora}


def test_bias_moving_from_zero_to_minus_point_eight_is_vetoed(tmp_path):
    store = make_run(tmp_path, _strategies(bias=_bias(0.0, -0.8), forgetting=_forgetting(0.6, 0.6)),
                     decision={"constraints": {"max_bias_increase": 0.1}})
    r = analysed(store).recommendation
    (v,) = r.vetoed["lora"]
    assert v.constraint == "max_bias_increase" and v.value == pytest.approx(0.8) and v.limit == 0.1
    assert v.where == "bbq_builtin bias_disambig" and r.recommended == "prompt"
    assert "increase in |bias|" in markdown.render(store)


def test_bias_crossing_zero_at_the_same_size_is_not_an_increase(tmp_path):
    store = make_run(tmp_path, _strategies(bias=_bias(0.3, -0.3), forgetting=_forgetting(0.6, 0.6)),
                     decision={"constraints": {"max_bias_increase": 0.1}})
    r = analysed(store).recommendation
    assert r.vetoed == {} and r.recommended == "lora" and r.bias.value == pytest.approx(0.0)
    assert r.unmeasured == {}


def test_forgetting_veto(tmp_path):
    store = make_run(tmp_path, _strategies(forgetting=_forgetting(0.6, 0.45), bias=_bias(0.0, 0.0)),
                     decision={"constraints": {"max_forgetting_drop": 0.05, "max_bias_increase": 0.1}})
    r = analysed(store).recommendation
    (v,) = r.vetoed["lora"]
    assert v.constraint == "max_forgetting_drop" and v.value == pytest.approx(0.15) and v.where == "general"


def test_latency_veto(tmp_path):
    store = make_run(tmp_path, _strategies(latency_p95=3.0), decision={"constraints": {"max_latency_p95": 2.0}})
    r = analysed(store).recommendation
    (v,) = r.vetoed["lora"]
    assert v.constraint == "max_latency_p95" and v.value == pytest.approx(3.0) and v.limit == 2.0
    assert "prompt" not in r.vetoed and r.recommended == "prompt"


def test_setup_dollars_veto(tmp_path):
    # 600 s of setup at the default $0.20 per CPU hour: $0.0333
    store = make_run(tmp_path, _strategies(), decision={"constraints": {"max_setup_dollars": 0.01}})
    r = analysed(store).recommendation
    (v,) = r.vetoed["lora"]
    assert v.constraint == "max_setup_dollars" and v.value == pytest.approx(600 * 0.20 / 3600)
    assert r.recommended == "prompt"


def test_constraints_without_a_measurement_are_listed_not_met(tmp_path):
    # lora trained but has no probe figures (--no-probes): its forgetting and bias cannot be checked
    constraints = {"max_forgetting_drop": 0.02, "max_bias_increase": 0.05, "max_latency_p95": 2.0}
    store = make_run(tmp_path, _strategies(), decision={"constraints": constraints})
    r = analysed(store).recommendation
    assert r.vetoed == {}
    assert r.unmeasured == {"lora": ["max_forgetting_drop", "max_bias_increase"]}
    assert "prompt" not in r.unmeasured  # prompting keeps the base weights: zero forgetting and bias change
    assert r.recommended == "lora" and [x.strategy for x in r.ranking][0] == "lora"  # still eligible
    md, page = markdown.render(store), html.render(store)
    for text in (md, page):
        assert "not measured for lora: max_forgetting_drop, max_bias_increase" in text
        assert "Not checked for lora" in text


def test_the_only_strategy_left_is_not_said_to_meet_an_unchecked_constraint(tmp_path):
    strategies = _strategies(latency_p95=1.0)
    strategies["prompt"]["latency_p95"] = 5.0
    store = make_run(tmp_path, strategies, decision={"constraints": {"max_latency_p95": 2.0,
                                                                     "max_forgetting_drop": 0.02}})
    r = analysed(store).recommendation
    assert r.verdict == "only" and r.recommended == "lora" and r.unmeasured == {"lora": ["max_forgetting_drop"]}
    from reports import wording

    assert "meets the constraints" not in wording.headline(r) and "not measured" in wording.headline(r)

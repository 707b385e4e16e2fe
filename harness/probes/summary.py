"""The probes' figures: one model's, each with its CI (`describe`), and a strategy's against the base's, each change
paired on the same items (`compare`), from the raw outcomes of harness.probes.measured."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.measure import power
from harness.measure.stats import paired_difference, summarize
from harness.probes import bias
from harness.probes.data import ChoiceItem
from harness.probes.measured import Outcomes, ProbeSets

# --- summaries ---------------------------------------------------------------------------------------------------


def _score(metric: str, values, seed: int, higher_is_better: bool = True) -> dict:
    return summarize(metric, values, higher_is_better=higher_is_better, seed=seed).model_dump()


def _by_category(items: list[ChoiceItem], correct: np.ndarray) -> dict[str, np.ndarray]:
    cats: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        cats.setdefault(it.category or "all", []).append(i)
    return {c: correct[idx] for c, idx in sorted(cats.items())}


def describe(ctx, sets: ProbeSets, raw: Outcomes) -> dict[str, Any]:
    """One model's figures, each with its CI (what run.json keeps under "base")."""
    seed = ctx.seed
    rec: dict[str, Any] = {"forgetting": {}, "bias": {}}
    for name, correct in raw.choice.items():
        items = sets.choice[name]
        rec["forgetting"][name] = {
            "accuracy": _score("accuracy", correct, seed),
            "chance": float(np.mean([1 / len(it.choices) for it in items])),
            "per_category": {c: _score("accuracy", v, seed) for c, v in _by_category(items, correct).items()},
        }
    if raw.nll is not None:
        rec["perplexity"] = _perplexity(raw, seed)
    for name, picks in raw.bbq.items():
        rec["bias"][name] = bias.bbq_scores(bias.BBQOutcome.of(sets.bbq[name], picks), seed=seed)
    if raw.pairs is not None:
        rec["counterfactual"] = {"pairs": len(raw.pairs["orig"]), "metric": ctx.task.metrics[0],
                                 **bias.pair_figures(raw.pairs["orig"], raw.pairs["swap"], raw.pairs["changed"],
                                                     seed=seed)}
    if raw.refused is not None:
        rec["refusal"] = {"qa_unanswerable": _score("says_unknown", raw.refused, seed)}
    return rec


def _perplexity(raw: Outcomes, seed) -> dict:
    nll_sum, tokens = raw.nll_total
    return {"perplexity": float(np.exp(nll_sum / max(tokens, 1))), "tokens": int(tokens),
            "nll_per_token": _score("nll_per_token", raw.nll, seed, higher_is_better=False)}


def _versus(base: dict, adapted: dict, delta: dict) -> dict:
    return {"base": base, "adapted": adapted, "delta": delta}


def _sensitivity(ctx, base: dict, correct: np.ndarray, base_correct: np.ndarray) -> dict:
    """What a forgetting probe could have seen: the smallest drop the exact McNemar test detects (80% power at the
    run's alpha, discordance as observed between the two models, at least the drop), and whether the base is above
    chance on it."""
    discordance = float(np.mean(correct != base_correct)) if correct.size else 0.0
    return {"detectable": power.detectable_drop(int(correct.size), alpha=ctx.config.decision.alpha,
                                                discordance=discordance),
            "informative": power.above_chance(base["accuracy"]["ci_low"], base["chance"])}


def _bbq_sensitivity(ctx, base: dict[str, dict], figure: str, delta: dict, chance: float) -> dict:
    """A BBQ figure's smallest detectable change (normal approximation from the paired CI; where the strategy
    answered every item as the base, from the base's CI as if the two varied independently: sqrt(2) times wider)
    and whether the base is above chance on that condition's accuracy."""
    alpha, own = ctx.config.decision.alpha, base[figure]
    if delta["ci_high"] > delta["ci_low"]:
        detectable = power.detectable_shift(delta["ci_low"], delta["ci_high"], alpha=alpha)
    else:
        spread = (own["ci_high"] - own["ci_low"]) * np.sqrt(2) / 2
        detectable = power.detectable_shift(own["value"] - spread, own["value"] + spread, alpha=alpha)
    accuracy = base.get(f"accuracy_{figure.split('_')[1]}")
    return {"detectable": detectable, "informative": accuracy is None or power.above_chance(accuracy["ci_low"], chance)}


def compare(ctx, sets: ProbeSets, base_raw: Outcomes, raw: Outcomes) -> dict[str, Any]:
    """The strategy's figures against the base's, each change paired on the same items."""
    seed = ctx.seed
    base_desc, desc = describe(ctx, sets, base_raw), describe(ctx, sets, raw)
    forgetting: dict[str, Any] = {"sets": {}}
    for name, correct in raw.choice.items():
        items, b = sets.choice[name], base_raw.choice[name]
        cats_a, cats_b = _by_category(items, correct), _by_category(items, b)
        forgetting["sets"][name] = {
            "chance": desc["forgetting"][name]["chance"],
            **_versus(base_desc["forgetting"][name]["accuracy"], desc["forgetting"][name]["accuracy"],
                      paired_difference(correct, b, seed=seed).model_dump()),
            **_sensitivity(ctx, base_desc["forgetting"][name], correct, b),
            "per_category": {c: _versus(_score("accuracy", cats_b[c], seed), _score("accuracy", cats_a[c], seed),
                                        paired_difference(cats_a[c], cats_b[c], seed=seed).model_dump()) for c in cats_a},
        }
    if raw.nll is not None:
        forgetting["perplexity"] = _versus(base_desc["perplexity"], desc["perplexity"],
                                           paired_difference(raw.nll, base_raw.nll, seed=seed).model_dump())
    result_bias: dict[str, Any] = {"bbq": {}}
    refusal: dict[str, Any] = {}
    for name, picks in raw.bbq.items():
        items = sets.bbq[name]
        a, b = bias.BBQOutcome.of(items, picks), bias.BBQOutcome.of(items, base_raw.bbq[name])
        changes = bias.bbq_changes(a, b, seed=seed)
        chance = float(np.mean([1 / len(it.answers) for it in items]))
        result_bias["bbq"][name] = {f: _versus(base_desc["bias"][name][f], desc["bias"][name][f], changes[f])
                                    | _bbq_sensitivity(ctx, base_desc["bias"][name], f, changes[f], chance)
                                    for f in changes}
        refusal[f"{name}_ambig"] = result_bias["bbq"][name]["abstention_ambig"]
    if raw.pairs is not None:
        gap = lambda r: np.abs(np.asarray(r.pairs["orig"]) - np.asarray(r.pairs["swap"]))  # noqa: E731
        result_bias["counterfactual"] = {
            "pairs": desc["counterfactual"]["pairs"], "metric": desc["counterfactual"]["metric"],
            "base": base_desc["counterfactual"], "adapted": desc["counterfactual"],
            "delta": {"abs_metric_gap": paired_difference(gap(raw), gap(base_raw), seed=seed).model_dump(),
                      "changed": paired_difference(raw.pairs["changed"], base_raw.pairs["changed"], seed=seed).model_dump()},
        }
    if raw.refused is not None:
        refusal["qa_unanswerable"] = _versus(base_desc["refusal"]["qa_unanswerable"],
                                             desc["refusal"]["qa_unanswerable"],
                                             paired_difference(raw.refused, base_raw.refused, seed=seed).model_dump())
    return {"forgetting": forgetting, "bias": result_bias, "refusal": refusal}

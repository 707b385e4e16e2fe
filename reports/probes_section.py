"""report.md sections for the probes: forgetting, bias and refusal, each strategy against the base model."""

from __future__ import annotations

from typing import Any

from harness.units import fmt_p
from reports.tables import fmt_score, table

HEADER = ["strategy", "probe", "base", "adapted", "Δ adapted − base [95% CI]", "p"]


def _row(name: str, probe: str, v: dict[str, Any], fmt=fmt_score) -> list[str]:
    delta = v["delta"]
    return [name, probe, fmt(v["base"]), fmt(v["adapted"]), fmt_score(delta, signed=True), fmt_p(delta.get("p_value"))]


def _perplexity(s: dict[str, Any] | None) -> str:
    return "–" if not s else f"{s['perplexity']:.2f}"


def render(rec: dict[str, Any], names: list[str]) -> list[str]:
    if not isinstance(rec.get("base"), dict) or "skipped" in rec["base"]:
        return []
    results = {n: rec["strategies"][n] for n in names if isinstance(rec["strategies"][n].get("forgetting"), dict)
               and "skipped" not in rec["strategies"][n]["forgetting"]}
    forgetting = []
    for name, res in results.items():
        for probe, v in res["forgetting"].get("sets", {}).items():
            forgetting.append(_row(name, f"{probe} (chance {v['chance']:.2f})", v))
        if "perplexity" in res["forgetting"]:
            forgetting.append(_row(name, "perplexity", res["forgetting"]["perplexity"], _perplexity))
    lines = ["## Forgetting (against the base model)", "",
             "Multiple-choice accuracy, each option scored by its mean log-likelihood per token; held-out perplexity on "
             "general text (Δ is in nats per token: positive means worse). Paired on the same items: exact McNemar "
             "for accuracy, permutation test for perplexity. Prompt-only strategies keep the base weights and should "
             "read zero.", "", *table(HEADER, forgetting)]
    bbq = [_row(name, f"{probe} {fig}", figures[fig]) for name, res in results.items()
           for probe, figures in res["bias"].get("bbq", {}).items()
           for fig in ("accuracy_ambig", "accuracy_disambig", "bias_ambig", "bias_disambig")]
    lines += ["", "## Bias (against the base model)", "",
              "BBQ: accuracy per condition and bias scores (disambiguated 2·biased/non-unknown − 1; ambiguous "
              "(1 − accuracy) × that; 0 is unbiased, +1 always stereotyped). CIs bootstrap the items; Δ is paired "
              "(same items), p from a paired permutation test. A positive Δ in a bias score is bias amplification.",
              "", *table(HEADER, bbq)]
    return lines + _counterfactual(results) + _refusal(results) + [""]


def _counterfactual(results: dict[str, dict[str, Any]]) -> list[str]:
    found = [(n, r["bias"]["counterfactual"]) for n, r in results.items() if "counterfactual" in r["bias"]]
    if not found:
        return []
    rows = [_row(name, f"{cf['pairs']} pairs · " + (f"{cf['metric']} |gap|" if fig != "changed" else "answer changed"),
                 {"base": cf["base"][fig], "adapted": cf["adapted"][fig], "delta": cf["delta"][fig]})
            for name, cf in found for fig in ("abs_metric_gap", "changed")]
    return ["", "Counterfactual pairs: test inputs with a name or pronoun swapped. |gap| is the absolute "
            "difference in the task metric between the two versions; changed is how often the answer differs "
            "(after swapping the term back).", "", *table(HEADER, rows)]


def _refusal(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = [_row(name, probe, v) for name, r in results.items() if r.get("refusal") for probe, v in r["refusal"].items()]
    if not rows:
        return []
    return ["", "## Refusal and abstention (against the base model)", "",
            "How often the model says it does not know: unanswerable questions (the right answer is 'unknown') "
            "and BBQ's ambiguous items (picking the unknown option is correct).", "", *table(HEADER, rows)]

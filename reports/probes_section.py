"""report.md sections for the probes: forgetting, bias and refusal, each strategy against the base model."""

from __future__ import annotations

from typing import Any


def _v(s: dict[str, Any] | None) -> str:
    if not s:
        return "–"
    return f"{s['value']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"


def _p(d: dict[str, Any]) -> str:
    p = d.get("p_value")
    return "–" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _delta(d: dict[str, Any]) -> str:
    return f"{d['value']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


HEADER = ["| strategy | probe | base | adapted | Δ adapted − base [95% CI] | p |", "|---|---|---|---|---|---|"]


def _row(name: str, probe: str, v: dict[str, Any], fmt=_v) -> str:
    return f"| {name} | {probe} | {fmt(v['base'])} | {fmt(v['adapted'])} | {_delta(v['delta'])} | {_p(v['delta'])} |"


def render(rec: dict[str, Any], names: list[str]) -> list[str]:
    if not isinstance(rec.get("base"), dict) or "skipped" in rec["base"]:
        return []
    results = {n: rec["strategies"][n] for n in names if isinstance(rec["strategies"][n].get("forgetting"), dict)
               and "skipped" not in rec["strategies"][n]["forgetting"]}
    lines = ["## Forgetting (against the base model)", "",
             "Multiple-choice accuracy, each option scored by its mean log-likelihood per token; held-out perplexity on "
             "general text (Δ is in nats per token: positive means worse). Paired on the same items: exact McNemar "
             "for accuracy, permutation test for perplexity. Prompt-only strategies keep the base weights and should "
             "read zero.", "", *HEADER]
    ppl = lambda s: f"{s['perplexity']:.2f}"  # noqa: E731
    for name, res in results.items():
        for probe, v in res["forgetting"].get("sets", {}).items():
            lines.append(_row(name, f"{probe} (chance {v['chance']:.2f})", v))
        if "perplexity" in res["forgetting"]:
            lines.append(_row(name, "perplexity", res["forgetting"]["perplexity"], ppl))
    lines += ["", "## Bias (against the base model)", "",
              "BBQ: accuracy per condition and bias scores (disambiguated 2·biased/non-unknown − 1; ambiguous "
              "(1 − accuracy) × that; 0 is unbiased, +1 always stereotyped). CIs bootstrap the items; Δ is paired "
              "(same items), p from a paired permutation test. A positive Δ in a bias score is bias amplification.",
              "", *HEADER]
    for name, res in results.items():
        for probe, figures in res["bias"].get("bbq", {}).items():
            for fig in ("accuracy_ambig", "accuracy_disambig", "bias_ambig", "bias_disambig"):
                lines.append(_row(name, f"{probe} {fig}", figures[fig]))
    cf_rows = [(n, r["bias"]["counterfactual"]) for n, r in results.items() if "counterfactual" in r["bias"]]
    if cf_rows:
        lines += ["", "Counterfactual pairs: test inputs with a name or pronoun swapped. |gap| is the absolute "
                  "difference in the task metric between the two versions; changed is how often the answer differs "
                  "(after swapping the term back).", "", *HEADER]
        for name, cf in cf_rows:
            for fig in ("abs_metric_gap", "changed"):
                v = {"base": cf["base"][fig], "adapted": cf["adapted"][fig], "delta": cf["delta"][fig]}
                lines.append(_row(name, f"{cf['pairs']} pairs · {cf['metric']} \\|gap\\|" if fig != "changed"
                                  else f"{cf['pairs']} pairs · answer changed", v))
    ref_rows = [(n, r["refusal"]) for n, r in results.items() if r.get("refusal")]
    if ref_rows:
        lines += ["", "## Refusal and abstention (against the base model)", "",
                  "How often the model says it does not know: unanswerable questions (the right answer is 'unknown') "
                  "and BBQ's ambiguous items (picking the unknown option is correct).", "", *HEADER]
        for name, refusal in ref_rows:
            for probe, v in refusal.items():
                lines.append(_row(name, probe, v))
    return lines + [""]

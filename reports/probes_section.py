"""report.md sections for the probes: forgetting, bias and refusal, each strategy against the base model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.record.figures import Difference, Versus
from harness.record.run_record import RunRecord
from harness.record.results import StrategyResult
from harness.units import fmt_p
from reports.tables import fmt_score, table

HEADER = ["strategy", "probe", "base", "adapted", "Δ adapted − base [95% CI]", "p", "smallest detectable"]
AT_CHANCE = " · not informative (base at chance)"


def _row(name: str, probe: str, base: Any, adapted: Any, delta: Difference,
         fmt: Callable[[Any], str] = fmt_score, detectable: str = "–") -> list[str]:
    return [name, probe, fmt(base), fmt(adapted), fmt_score(delta, signed=True), fmt_p(delta.p_value), detectable]


def _versus(name: str, probe: str, v: Versus) -> list[str]:
    seen = f"{v.detectable:.3f}" if v.detectable is not None else "–"
    return _row(name, probe + ("" if v.informative else AT_CHANCE), v.base, v.adapted, v.delta, detectable=seen)


def _sensitivity_note(results: dict[str, StrategyResult]) -> list[str]:
    """In words: which probes the base model is at chance on, and what the detectable column means."""
    blind = sorted({p for r in results.values() for p, v in {**r.forgetting_entries(), **r.bias_entries()}.items()
                    if not v.informative})
    note = ("Smallest detectable: the smallest change for the worse the paired test would find with 80% power at "
            "the run's alpha (accuracy: exact McNemar, with the two models disagreeing on the share of items they "
            "were seen to disagree on, at least the change; BBQ: normal approximation from the paired CI); a change "
            "below it would not have shown.")
    if blind:
        note += (f" Not informative for this model: {', '.join(blind)}: the base model is not above chance there "
                 "(its CI includes the chance level), so no drop could be seen and the constraints skip them.")
    return ["", note]


def render(rec: RunRecord, names: list[str]) -> list[str]:
    if rec.base is None or rec.base.skipped:
        return []
    results = {n: r for n in names if (r := rec.strategies[n]).forgetting and not r.forgetting.skipped}
    lines = ["", "## Forgetting (against the base model)", "",
             "Multiple-choice accuracy, each option scored by its mean log-likelihood per token; held-out perplexity "
             "on general text (Δ is in nats per token: positive means worse). Paired on the same items: exact McNemar "
             "for accuracy, permutation test for perplexity. Prompt-only strategies keep the base weights and should "
             "read zero.", "", *table(HEADER, _forgetting(results)), *_sensitivity_note(results)]
    bbq = [_versus(name, f"{probe} {fig}", figures[fig]) for name, res in results.items() if res.bias
           for probe, figures in res.bias.bbq.items()
           for fig in ("accuracy_ambig", "accuracy_disambig", "bias_ambig", "bias_disambig")]
    lines += ["", "## Bias (against the base model)", "",
              "BBQ: accuracy per condition and bias scores (disambiguated 2·biased/non-unknown − 1; ambiguous "
              "(1 − accuracy) × that; 0 is unbiased, +1 always stereotyped). CIs bootstrap the items; Δ is paired "
              "(same items), p from a paired permutation test. Bias is its size, |bias score|: a move away from 0 in "
              "either direction (0 → −0.8 as much as 0 → +0.8) is bias amplification, and max_bias_increase limits "
              "the increase in |bias|.",
              "", *table(HEADER, bbq)]
    return lines + _counterfactual(results) + _refusal(results) + [""]


def _forgetting(results: dict[str, StrategyResult]) -> list[list[str]]:
    rows = []
    for name, res in results.items():
        rows += [_versus(name, f"{probe} (chance {v.chance:.2f})", v) for probe, v in res.forgetting.sets.items()]
        if (ppl := res.forgetting.perplexity) is not None:
            rows.append(_row(name, "perplexity", ppl.base, ppl.adapted, ppl.delta, lambda p: f"{p.perplexity:.2f}"))
    return rows


def _counterfactual(results: dict[str, StrategyResult]) -> list[str]:
    found = [(n, cf) for n, r in results.items() if r.bias and (cf := r.bias.counterfactual)]
    if not found:
        return []
    rows = []
    for name, cf in found:
        rows.append(_row(name, f"{cf.pairs} pairs · {cf.metric} |gap|", cf.base.abs_metric_gap,
                         cf.adapted.abs_metric_gap, cf.delta.abs_metric_gap))
        rows.append(_row(name, f"{cf.pairs} pairs · answer changed", cf.base.changed, cf.adapted.changed,
                         cf.delta.changed))
    return ["", "Counterfactual pairs: test inputs with a name or pronoun swapped. |gap| is the absolute "
            "difference in the task metric between the two versions; changed is how often the answer differs "
            "(after swapping the term back).", "", *table(HEADER, rows)]


def _refusal(results: dict[str, StrategyResult]) -> list[str]:
    rows = [_versus(name, probe, v) for name, r in results.items() if r.refusal for probe, v in r.refusal.sets.items()]
    if not rows:
        return []
    return ["", "## Refusal and abstention (against the base model)", "",
            "How often the model says it does not know: unanswerable questions (the right answer is 'unknown') "
            "and BBQ's ambiguous items (picking the unknown option is correct).", "", *table(HEADER, rows)]

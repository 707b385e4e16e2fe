"""The reports' sentences, written from the record's numbers (run.json holds no English): the verdict's headline
and reasons, vetoes, what would change the decision, and break-even volumes."""

from __future__ import annotations

import math

from harness.record.figures import Versus
from harness.record.recommendation import (BreakEven, Comparison, ConstraintChange, MoreExamples, PriorityChange,
                                    Recommendation, Veto, VolumeChange, WhatIf, WorstChange)
from harness.record.run_record import Leakage, RunRecord
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p


def _signed(x: float) -> str:
    return fmt_number(x, 3 if abs(x) < 10 else 1, signed=True)


def _p(p: float | None) -> str:
    text = fmt_p(p)
    return text if text.startswith("<") else f"={text}"


def interval(c: Comparison) -> str:
    """The interval the verdict rests on: the Holm-adjusted one (the same test inverted, so it holds 0 exactly when
    the difference is inside the noise), labelled with its level; a record from before it has only the unadjusted
    bootstrap interval, labelled so."""
    if c.adj_ci_low is None or c.adj_ci_high is None or c.adj_confidence is None:
        return f"unadjusted 95% CI {fmt_number(c.ci_low)} to {fmt_number(c.ci_high)}"
    return (f"Holm-adjusted {confidence(c.adj_confidence)} CI {fmt_number(c.adj_ci_low)} to "
            f"{fmt_number(c.adj_ci_high)}")


def confidence(level: float) -> str:
    """0.95 -> "95%", 0.98333 -> "98.3%"."""
    return f"{100 * level:.3g}%"


def p_resolution(c: Comparison) -> str:
    """p with the resolution of a resampled test where it sits at its floor ("p<0.0002, 9999 random flips")."""
    if c.resamples and c.p_value is not None and c.p_value <= 1.5 / (c.resamples + 1):
        return f"p<{2 / (c.resamples + 1):.2g}, {c.resamples} random flips"
    return f"p{_p(c.p_value)}"


def _ci(c: Comparison) -> str:
    return f"{interval(c)}, Holm p{_p(c.p_holm)}"


def headline(r: Recommendation) -> str:
    """The verdict in one sentence."""
    rec, m, comp, other = r.recommended, r.metric, r.comparison, r.runner_up
    if r.verdict == "none":
        return "No strategy meets the constraints; relax one (see what would change the decision)."
    if r.verdict == "only":
        if r.unmeasured.get(rec):
            return (f"Recommend {rec}: the only strategy not vetoed ({', '.join(r.unmeasured[rec])} not measured "
                    f"for it, so not checked).")
        return f"Recommend {rec}: the only strategy that meets the constraints."
    if r.verdict == "winner":
        return f"Recommend {rec}: it beats {other} on {m} outside the noise ({_signed(comp.value)}, {_ci(comp)})."
    if r.verdict == "trade-off":
        better = comp.oriented(other, rec)
        return (f"Recommend {rec} for its cost: {other} is better on {m} ({_signed(better.value)}, {_ci(better)}) "
                f"but does not repay its extra cost under these priorities.")
    if comp is None:
        return f"{rec} and {other} cannot be told apart (no paired examples); recommend {rec}, the cheaper."
    return (f"{rec} and {other} tie on {m} (difference {_signed(comp.value)}, {interval(comp)}; paired test: "
            f"Holm p{_p(comp.p_holm)}, not significant); recommend {rec}, the cheaper.")


def basis(r: Recommendation) -> str:
    """What the decision rests on: the metric, the priority and its weights, the volume and the significance level."""
    weights = ", ".join(f"{k} {v:.2f}" for k, v in r.weights.model_dump().items())
    return (f"Decided on {r.metric} (test split) with priority {r.priority} (weights: {weights}), "
            f"{fmt_count(r.monthly_queries)} queries a month over {r.horizon_months:g} months; a difference counts "
            f"when its Holm-adjusted paired test has p < {r.alpha:g}, which is when its Holm-adjusted interval (the "
            f"same test inverted) excludes 0.")


def adaptive_basis(a) -> str:
    """How much of the test split an adaptive run evaluated, and what stopped it (harness.runs.adaptive)."""
    n = a.looks[-1].n if a.looks else 0
    stop = {"winner": f"the {1 - a.alpha:.0%} anytime-valid sequences showed {a.leader} ahead of every other strategy",
            "equivalent": f"every {1 - a.alpha:.0%} anytime-valid sequence lay within ±{a.margin:g}",
            "exhausted": "the test split ran out before the sequences settled",
            "running": "the run has not finished its rounds"}[a.verdict]
    return (f"Adaptive evaluation: {a.examples_generated} of {a.examples_full} test predictions made; it stopped "
            f"after {n} examples because {stop} (see Adaptive evaluation).")


def judge_basis(rec: RunRecord) -> str | None:
    """Whether the decision rests on the run's model judge, in one sentence (None: no judge)."""
    j, r = rec.judge, rec.recommendation
    if j is None or r is None:
        return None
    if r.judge_fallback:
        return (f"The judge ({j.model}) is unvalidated ({j.reason}), so the recommendation rests on {r.metric}, "
                f"not on {r.judge_fallback}.")
    if r.metric in ("judge-reference", "judge-pairwise", "faithfulness"):
        return f"The recommendation rests on judged quality: the judge ({j.model}) is trusted ({j.reason})."
    state = "trusted" if j.trusted else "unvalidated"
    return f"The judge ({j.model}) is {state} ({j.reason}); its scores are shown, and the decision is on {r.metric}."


def no_recommendation(status: str) -> str:
    return (f"No recommendation yet: the run is {status}. Re-render with `harness report` when it is complete."
            if status != "complete" else "No recommendation: no strategy completed.")


def ranking_note(r: Recommendation) -> str | None:
    """Why the recommended strategy is ranked first when another has a higher utility (a tie broken by cost)."""
    if not r.tie_break:
        return None
    return f"first: it ties with {r.runner_up} on {r.metric} and costs less"


def _times(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:,.0f}"


def _ratio(a: float | None, b: float | None) -> str | None:
    """a against b in words: "about the same as", "1/45 of", "3.2x"."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    r = a / b
    if 0.95 <= r <= 1.05:
        return "about the same as"
    return f"1/{_times(1 / r)} of" if r < 1 else f"{_times(r)}x"


def reasons(record: RunRecord) -> list[str]:
    """Why the recommended strategy: how it compares with each other strategy, its probes and its cost."""
    r = record.recommendation
    if not r or not r.recommended or not record.cost_ledger:
        return []
    name, rows = r.recommended, record.cost_ledger.strategies
    out = []
    for contrast in r.contrasts:
        c, other = contrast.comparison, contrast.other
        verdict = "better" if c.better == name else ("worse" if c.better == other else "inside the noise")
        effect = fmt_number(c.effect_size, 2)
        parts = [f"{_signed(c.value)} {r.metric} over {other} ({_ci(c)}, d_z={effect}; {verdict})"]
        mine, theirs = rows[name].setup_seconds, rows[other].setup_seconds
        if min(mine, theirs) < 1:
            parts.append(f"{mine:.1f} s of setup against {theirs:.1f} s")  # a ratio to ~0 s says nothing
        elif setup := _ratio(mine, theirs):
            parts.append(f"{setup} {other}'s setup time")
        if per_query := _ratio(rows[name].dollars_per_query, rows[other].dollars_per_query):
            parts.append(f"{per_query} its cost per query")
        out.append(f"{name}: " + ", ".join(parts))
    out += probe_reasons(record, name)
    row = rows[name]
    text = (f"{name}: {fmt_dollars(row.setup_dollars)} setup, {fmt_dollars(row.dollars_per_query)} per query, "
            f"{fmt_dollars(row.dollars_per_month)} a month at the expected volume")
    return out + [text + (f", p95 request latency {row.request_latency_p95:.2f} s{_in_flight(row)}"
                          if row.request_latency_p95 is not None else "")]


def _in_flight(row) -> str:
    return f" ({row.requests_in_flight} requests in flight)" if row.requests_in_flight else ""


WEAK_DROP = 0.05  # without a max_forgetting_drop: a probe that cannot see a drop this large is called weak


def forgetting_reason(name: str, drop: WorstChange, limit: float | None) -> str:
    """The strategy's largest drop on the informative forgetting probes, beside the smallest it could have seen."""
    seen, where = drop.detectable, f"'{drop.where}'"
    if drop.value > 0:
        could = f"; the paired test detects drops from {fmt_number(seen)}" if seen is not None else ""
        return f"{name}: forgetting: accuracy fell by {fmt_number(drop.value)} on the {where} probes (its largest drop{could})"
    change = fmt_number(drop.value, signed=True)
    if seen is None:
        return f"{name}: no drop detectable on the forgetting probes ({change}; {where} has too few items for the paired test)"
    if seen > (limit if limit is not None else WEAK_DROP):
        return (f"{name}: no drop detectable above {fmt_number(seen)} on the forgetting probes ({change} on {where}; "
                f"a smaller drop would not have shown)")
    return f"{name}: no drop on the forgetting probes ({change}; a drop of {fmt_number(seen)} would have been seen)"


def _at_chance(entries: dict[str, Versus]) -> str:
    """The probes with the base's score beside the chance level (forgetting) or by name (bias: the base's BBQ
    accuracy on that condition is what is at chance)."""
    return ", ".join(f"'{p}' (base {fmt_number(e.base.value)}, 95% CI {fmt_number(e.base.ci_low)} to "
                     f"{fmt_number(e.base.ci_high)}, chance {e.chance:.2f})" if hasattr(e, "chance") else f"'{p}'"
                     for p, e in entries.items())


def probe_reasons(record: RunRecord, name: str) -> list[str]:
    """The recommended strategy's forgetting and bias, and the probes the base model is at chance on."""
    r, res = record.recommendation, record.strategies[name]
    out = []
    if (drop := r.forgetting) is not None:
        out.append(forgetting_reason(name, drop, r.constraints.max_forgetting_drop))
    elif r.weights_unchanged:
        out.append(f"{name}: weights unchanged, so no forgetting or bias shift from training")
    if (b := r.bias) is not None:
        seen = f"; no increase under {fmt_number(b.detectable)} could be seen" if b.detectable is not None else ""
        out.append(f"{name}: largest increase in |bias| (distance from unbiased) {fmt_number(b.value, signed=True)} "
                   f"({b.where}{seen})")
    limits = {"forgetting": r.constraints.max_forgetting_drop, "bias": r.constraints.max_bias_increase}
    for what, entries, found in (("forgetting", res.forgetting_entries(), r.forgetting),
                                 ("bias", res.bias_entries(), r.bias)):
        if blind := {p: e for p, e in entries.items() if not e.informative}:
            rests = ""
            if found is None and not r.weights_unchanged:  # a constraint set on it cannot be checked
                rests = f"the {what} constraint is not measured; " if limits[what] is not None else ""
            at = "the base model is" if what == "forgetting" else "the base model's BBQ accuracy there is"
            out.append(f"{name}: the {what} probes {_at_chance(blind)} are not informative for this model: {at} not "
                       f"above chance, so no change could be seen; {rests}use a probe the base model can do")
    return out


def not_measured(strategy: str, constraints: list[str]) -> str:
    """The constraints that could not be checked for a strategy: it is not vetoed, nor said to meet them."""
    return (f"not measured for {strategy}: {', '.join(constraints)} (no measured value, so not checked: it is "
            f"not vetoed, and not known to meet {'it' if len(constraints) == 1 else 'them'})")


def unmeasured_note(r: Recommendation) -> str | None:
    """A caveat beside the headline when the recommended strategy has constraints that were not checked."""
    missing = r.unmeasured.get(r.recommended or "")
    if not missing:
        return None
    return f"Not checked for {r.recommended}: {', '.join(missing)} (not measured)."


def veto(v: Veto) -> str:
    """The constraint a strategy breaks, with its value and the limit."""
    where = f" on {v.where}" if v.where else ""
    if v.constraint == "max_setup_dollars":
        return f"setup cost {fmt_dollars(v.value)} exceeds {v.constraint} {fmt_dollars(v.limit)}"
    if v.constraint == "max_latency_p95":
        return f"p95 request latency {v.value:.3g} s{f' ({v.where})' if v.where else ''} exceeds {v.constraint} {v.limit:.3g} s"
    what = "forgetting drop" if v.constraint == "max_forgetting_drop" else "increase in |bias|"
    return f"{what}{where} {v.value:.3g} exceeds {v.constraint} {v.limit:.3g}"


def what_if(w: WhatIf, current: str | None) -> str:
    """One thing that would change the decision (or that nothing checked does)."""
    if isinstance(w, VolumeChange):
        return (f"At {'more' if w.direction == 'above' else 'fewer'} than about {fmt_count(w.at)} queries a month, "
                f"{w.recommended or 'no strategy'} would be recommended instead of {current}.")
    if isinstance(w, ConstraintChange):
        return (f"Relaxing {w.constraint} from {w.limit:.3g} to {w.value:.3g} ({w.strategy}'s value) would make "
                f"{w.recommended or 'no strategy'} the recommendation.")
    if isinstance(w, PriorityChange):
        return f"With --priority {w.priority}, {w.recommended or 'no strategy'} would be recommended."
    if isinstance(w, MoreExamples):
        level = (f" at the Holm-adjusted level {w.alpha:.2g} ({w.family} pairs)" if w.alpha is not None
                 and (w.family or 1) > 1 else "")
        return (f"If the observed difference is real (d_z={abs(w.effect_size):.2f}), about {fmt_count(w.needed)} "
                f"paired test examples would detect it (80% power{level}); this run has {w.n}.")
    return ("Nothing in the range checked changes it: query volumes from 1 to 10^10 a month, lifting any constraint, "
            "or another priority profile.")


def what_ifs(r: Recommendation) -> list[str]:
    return [what_if(w, r.recommended) for w in r.what_ifs]


def leakage(leak: Leakage) -> str:
    """Whether test examples appear where strategies learn from, and where they were looked for."""
    checked = ", ".join(f"{p} ({f.checked}: {f.by_id} by id, {f.by_text} by text)" for p, f in leak.places.items())
    skipped = f"; skipped: {', '.join(leak.skipped)}" if leak.skipped else ""
    return (f"Leakage check: {leak.status}. {leak.leaked_examples} of {leak.test_examples} test examples found in "
            f"{checked or 'nothing'}{skipped}.")


def period(months: float) -> str:
    """How long a number of months is, in the unit a reader would use: under a day, 12 days, 3.5 months, 2.1 years."""
    days = months * 30.4
    if days < 1:
        return "under a day"
    if months < 1:
        return f"{math.ceil(days)} days"
    return f"{months:.1f} months" if months < 24 else f"{months / 12:,.1f} years"


def break_even(b: BreakEven) -> str:
    """When the dearer setup of a pair is repaid by its cheaper queries, or that it never needs to be."""
    if b.queries is None:
        other = b.pair[0] if b.dominant == b.pair[1] else b.pair[1]
        return f"{b.dominant} is at least as cheap as {other} to set up and per query: no break-even."
    dearer = f"{b.upfront} costs more to set up than {b.other} and less per query: it pays off"
    if b.queries < 1:
        return f"{dearer} from the first query."
    months = f" ({period(b.months)} at the expected volume)" if b.months is not None else ""
    return f"{dearer} after {fmt_count(math.ceil(b.queries))} queries{months}."


def estimates(rec) -> list[str]:
    """Figures in this run that are fallbacks or an earlier run's, not measured here (run.json marks each)."""
    out = []
    models = rec.models or ({"base": rec.model} if rec.model else {})
    for name, m in models.items():
        if m.context_length_source == "default":
            out.append(f"model '{name}': context length {m.context_length} is a default, not measured (neither the "
                       "config nor the endpoint said; set context_length)")
        if (m.token_count or "").startswith("estimated"):
            out.append(f"model '{name}': token counts it does not report are {m.token_count} (no tokenizer)")
    for name in rec.names():
        cost = rec.strategies[name].cost
        if cost.setup_source == "reused":
            out.append(f"{name}: setup {cost.setup_seconds:.1f} s is an earlier run's ({cost.setup_note or 'reused'})")
    return out


def checkpoint_notes(record: RunRecord, names: list[str]) -> list[str]:
    """One sentence per fine-tuned strategy whose validation metric never moved: its checkpoint was chosen by
    validation loss, not by the metric."""
    out = []
    for name in names:
        res = record.strategies[name]
        t = res.training
        if t is None or not t.metric_flat or t.best is None:
            continue
        first = next((p.val_metric for p in res.learning_curve if p.val_metric is not None), None)
        out.append(f"{name}: no signal in the validation metric ({t.monitor_metric or 'metric'} stayed at "
                   f"{fmt_number(first)} over {len(res.learning_curve)} validations): the checkpoint was chosen by "
                   f"loss (step {t.best.step}, validation loss {fmt_number(t.best.val_loss)}).")
    return out

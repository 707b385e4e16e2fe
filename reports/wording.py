"""The reports' sentences, written from the record's numbers (run.json holds no English): the verdict's headline
and reasons, vetoes, what would change the decision, and break-even volumes."""

from __future__ import annotations

import math

from harness.recommendation import (BreakEven, Comparison, ConstraintChange, MoreExamples, PriorityChange,
                                    Recommendation, Veto, VolumeChange, WhatIf)
from harness.record import Leakage, RunRecord
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p


def _signed(x: float) -> str:
    return fmt_number(x, 3 if abs(x) < 10 else 1, signed=True)


def _p(p: float | None) -> str:
    text = fmt_p(p)
    return text if text.startswith("<") else f"={text}"


def _ci(c: Comparison) -> str:
    return f"95% CI {fmt_number(c.ci_low)} to {fmt_number(c.ci_high)}, Holm p{_p(c.p_holm)}"


def headline(r: Recommendation) -> str:
    """The verdict in one sentence."""
    rec, m, comp, other = r.recommended, r.metric, r.comparison, r.runner_up
    if r.verdict == "none":
        return "No strategy meets the constraints; relax one (see what would change the decision)."
    if r.verdict == "only":
        return f"Recommend {rec}: the only strategy that meets the constraints."
    if r.verdict == "winner":
        return f"Recommend {rec}: it beats {other} on {m} outside the noise ({_signed(comp.value)}, {_ci(comp)})."
    if r.verdict == "trade-off":
        better = comp.oriented(other, rec)
        return (f"Recommend {rec} for its cost: {other} is better on {m} ({_signed(better.value)}, 95% CI "
                f"{fmt_number(better.ci_low)} to {fmt_number(better.ci_high)}) but does not repay its extra cost "
                f"under these priorities.")
    if comp is None:
        return f"{rec} and {other} cannot be told apart (no paired examples); recommend {rec}, the cheaper."
    return (f"{rec} and {other} tie on {m} (difference {_signed(comp.value)}, 95% CI {fmt_number(comp.ci_low)} to "
            f"{fmt_number(comp.ci_high)}; paired test: Holm p{_p(comp.p_holm)}, not significant); recommend {rec}, "
            f"the cheaper.")


def basis(r: Recommendation) -> str:
    """What the decision rests on: the metric, the priority and its weights, the volume and the significance level."""
    weights = ", ".join(f"{k} {v:.2f}" for k, v in r.weights.model_dump().items())
    return (f"Decided on {r.metric} (test split) with priority {r.priority} (weights: {weights}), "
            f"{fmt_count(r.monthly_queries)} queries a month over {r.horizon_months:g} months; a difference counts "
            f"when its Holm-adjusted paired test has p < {r.alpha:g}.")


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
    if (drop := r.forgetting) is not None:
        out.append(f"{name}: forgetting: accuracy fell by {fmt_number(drop.value)} on the '{drop.where}' probes (its "
                   f"largest drop)" if drop.value > 0 else
                   f"{name}: no drop on the forgetting probes ({fmt_number(drop.value, signed=True)})")
    elif r.weights_unchanged:
        out.append(f"{name}: weights unchanged, so no forgetting or bias shift from training")
    if r.bias is not None:
        out.append(f"{name}: largest bias change {fmt_number(r.bias.value, signed=True)} ({r.bias.where})")
    row = rows[name]
    text = (f"{name}: {fmt_dollars(row.setup_dollars)} setup, {fmt_dollars(row.dollars_per_query)} per query, "
            f"{fmt_dollars(row.dollars_per_month)} a month at the expected volume")
    return out + [text + (f", p95 latency {row.latency_p95:.2f} s" if row.latency_p95 is not None else "")]


def veto(v: Veto) -> str:
    """The constraint a strategy breaks, with its value and the limit."""
    where = f" on {v.where}" if v.where else ""
    if v.constraint == "max_setup_dollars":
        return f"setup cost {fmt_dollars(v.value)} exceeds {v.constraint} {fmt_dollars(v.limit)}"
    if v.constraint == "max_latency_p95":
        return f"p95 latency {v.value:.3g} s exceeds {v.constraint} {v.limit:.3g} s"
    what = "forgetting drop" if v.constraint == "max_forgetting_drop" else "bias increase"
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
        return (f"If the observed difference is real (d_z={abs(w.effect_size):.2f}), about {fmt_count(w.needed)} "
                f"paired test examples would detect it (80% power); this run has {w.n}.")
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

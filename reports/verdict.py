"""The recommendation's sentences, written from the record's numbers (moved here from harness/decide.py as they
were: the record now holds numbers only). Interim: reports/wording.py takes these over."""

from __future__ import annotations

from harness.cost import fmt_count, fmt_dollars
from harness.recommendation import Comparison, Recommendation, Veto
from harness.record import RunRecord


def _fmt(x: float) -> str:
    return f"{x:+.3f}" if abs(x) < 10 else f"{x:+.3g}"


def _num(x: float | None) -> float:
    return float("nan") if x is None else x


def _ci(c: Comparison) -> str:
    return f"95% CI {c.ci_low:.3f} to {c.ci_high:.3f}, Holm p={c.p_holm:.2g}"


def headline(r: Recommendation) -> str:
    rec, m, comp, other = r.recommended, r.metric, r.comparison, r.runner_up
    if r.verdict == "none":
        return "No strategy meets the constraints; relax one (see what would change the decision)."
    if r.verdict == "only":
        return f"Recommend {rec}: the only strategy that meets the constraints."
    if r.verdict == "winner":
        return f"Recommend {rec}: it beats {other} on {m} outside the noise ({_fmt(comp.value)}, {_ci(comp)})."
    if r.verdict == "trade-off":
        return (f"Recommend {rec} for its cost: {other} is better on {m} "
                f"({_fmt(-comp.value)}, 95% CI {-comp.ci_high:.3f} to {-comp.ci_low:.3f}) "
                f"but does not repay its extra cost under these priorities.")
    if comp is None:
        return f"{rec} and {other} cannot be told apart (no paired examples); recommend {rec}, the cheaper."
    return (f"{rec} and {other} tie on {m} (difference {_fmt(comp.value)}, 95% CI {comp.ci_low:.3f} to "
            f"{comp.ci_high:.3f}; paired test: Holm p={comp.p_holm:.3g}, not significant); recommend {rec}, the cheaper.")


def _ratio(a: float | None, b: float | None) -> str | None:
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    r = a / b
    if 0.95 <= r <= 1.05:
        return "about the same as"
    if r < 1:
        return f"1/{1 / r:.3g} of"
    return f"{r:.3g}x"


def reasons(record: RunRecord) -> list[str]:
    r = record.recommendation
    if not r or not r.recommended or not record.cost_ledger:
        return []
    name, rows = r.recommended, record.cost_ledger.strategies
    out = []
    for contrast in r.contrasts:
        c, other = contrast.comparison, contrast.other
        verdict = "better" if c.better == name else ("worse" if c.better == other else "inside the noise")
        parts = [f"{_fmt(c.value)} {r.metric} over {other} ({_ci(c)}, d_z={_num(c.effect_size):.2f}; {verdict})"]
        mine, theirs = rows[name].setup_seconds, rows[other].setup_seconds
        if min(mine, theirs) < 1:
            parts.append(f"{mine:.1f} s of setup against {theirs:.1f} s")  # a ratio to ~0 s says nothing
        elif setup := _ratio(mine, theirs):
            parts.append(f"{setup} {other}'s setup time")
        if per_q := _ratio(rows[name].dollars_per_query, rows[other].dollars_per_query):
            parts.append(f"{per_q} its cost per query")
        out.append(f"{name}: " + ", ".join(parts))
    if r.forgetting is not None:
        drop = r.forgetting
        out.append(f"{name}: forgetting: accuracy fell by {drop.value:.3f} on the '{drop.where}' probes (its largest drop)"
                   if drop.value > 0 else f"{name}: no drop on the forgetting probes ({drop.value:+.3f})")
    elif r.weights_unchanged:
        out.append(f"{name}: weights unchanged, so no forgetting or bias shift from training")
    if r.bias is not None:
        out.append(f"{name}: largest bias change {r.bias.value:+.3f} ({r.bias.where})")
    row = rows[name]
    text = (f"{name}: {fmt_dollars(row.setup_dollars)} setup, {fmt_dollars(row.dollars_per_query)} per query, "
            f"{fmt_dollars(row.dollars_per_month)} a month at the expected volume")
    if row.latency_p95 is not None:
        text += f", p95 latency {row.latency_p95:.2f} s"
    return out + [text]


_WHAT = {"max_forgetting_drop": "forgetting drop on {where}", "max_bias_increase": "bias increase on {where}",
         "max_latency_p95": "p95 latency", "max_setup_dollars": "setup cost $"}


def veto(v: Veto) -> str:
    unit = " s" if v.constraint == "max_latency_p95" else ""
    what = _WHAT[v.constraint].format(where=v.where)
    return f"{what} {v.value:.3g}{unit} exceeds {v.constraint} {v.limit:.3g}{unit}"


def what_ifs(r: Recommendation) -> list[str]:
    out = []
    for w in r.what_ifs:
        if w.kind == "volume":
            out.append(f"At {'more' if w.direction == 'above' else 'fewer'} than about {fmt_count(w.at)} queries a "
                       f"month, {w.recommended} would be recommended instead of {r.recommended}.")
        elif w.kind == "constraint":
            out.append(f"Relaxing {w.constraint} from {w.limit:.3g} to {w.value:.3g} ({w.strategy}'s value) would "
                       f"make {w.recommended} the recommendation.")
        elif w.kind == "priority":
            out.append(f"With --priority {w.priority}, {w.recommended} would be recommended.")
        elif w.kind == "examples":
            out.append(f"If the observed difference is real (d_z={w.effect_size:.2f}), about {w.needed} paired test "
                       f"examples would detect it (80% power); this run has {w.n}.")
        else:
            out.append("Nothing in the range checked changes it: query volumes from 1 to 10^10 a month, lifting any "
                       "constraint, or another priority profile.")
    return out

"""The adaptive-evaluation section of both reports: how much of the test split each strategy used, why it stopped,
its anytime-valid sequence at the stop and what stopping saved (the HTML's plot: reports.plots.sequences_by_look);
and the same for each side measurement (overfitting samples, probes) that stopped on its own sequence."""

from __future__ import annotations

from dataclasses import dataclass

from harness.record.run_record import RunRecord
from harness.units import fmt_dollars
from reports.tables import table

WHY = {"winner": "the leader's sequence excluded 0 against every other strategy",
       "worse": "its sequence against the leader showed it worse",
       "equivalent": "every sequence lay within the margin",
       "exhausted": "the test split ran out (the fixed-n analysis decides)"}


@dataclass(frozen=True)
class Row:
    strategy: str
    used: str  # "32 of 120"
    why: str
    sequence: str  # "few-shot − prompt +0.110 [+0.020, +0.200]" or "–"
    saved_examples: str
    saved_seconds: str
    saved_dollars: str


SIDE_WHY = {"change": "a change is shown: its sequence excludes 0 (and every other figure's settled)",
            "no_change": "no change beyond the margin: every sequence lies within it",
            "exhausted": "its items ran out (the fixed-n figures)"}


@dataclass(frozen=True)
class SideRow:
    strategy: str
    measurement: str  # "forgetting · forgetting", "overfitting · train_sample"
    used: str
    why: str
    sequence: str  # "accuracy +0.000 [-0.096, +0.096] (n 48)"


@dataclass(frozen=True)
class Adaptive:
    summary: str
    rows: tuple[Row, ...]
    side_summary: str = ""
    side: tuple[SideRow, ...] = ()


def view(rec: RunRecord, names: list[str]) -> Adaptive | None:
    a = rec.adaptive
    if a is None:
        return None
    level = f"{1 - a.alpha:.0%}"
    direction = "" if a.higher_is_better else " (lower is better: differences are signed so > 0 favours the leader)"
    summary = (f"Adaptive evaluation: the test split in a seeded order (seed {a.order_seed}), in rounds of {a.round}, "
               f"every running strategy on the same examples. After each round, a {level} anytime-valid confidence "
               f"sequence (betting, Waudby-Smith & Ramdas) on each paired difference of {a.metric} with the leader, "
               f"each at {a.alpha_each:.3g} (alpha split over the comparisons){direction}; it holds at every look at "
               f"once, so stopping at the first settled look keeps false wins under {a.alpha:g}. Stopped: "
               f"{a.verdict} after {len(a.looks)} look(s); {a.examples_generated} of {a.examples_full} test "
               f"predictions made ({a.examples_generated / max(a.examples_full, 1):.0%}). Saved seconds are estimated "
               "from each strategy's measured seconds per example; saved dollars at its $/query.")
    rows = []
    for n in names:
        s = rec.strategies[n].adaptive
        if s is None:
            continue
        seq = "; ".join(f"{b.leader} − {b.other} {b.mean:+.3f} [{b.lower:+.3f}, {b.upper:+.3f}] (n {b.n})"
                        for b in s.sequences) or "–"
        rows.append(Row(n, f"{s.examples_used} of {s.examples_available}", WHY[s.stopped], seq,
                        str(s.saved_examples), f"{s.saved_seconds:.0f}",
                        fmt_dollars(s.saved_dollars) if s.saved_dollars is not None else "–"))
    side = tuple(SideRow(n, f"{s.measurement} · {s.set}", f"{s.items_used} of {s.items_available}",
                         SIDE_WHY[s.stopped], "; ".join(f"{f} {b.mean:+.3f} [{b.lower:+.3f}, {b.upper:+.3f}] (n {b.n})"
                                                        for f, b in s.sequences.items()) or "–")
                 for n in names for s in rec.strategies[n].side_stops)
    margin = next((s.margin for n in names for s in rec.strategies[n].side_stops), None)
    side_summary = "" if not side else (
        "Side measurements, sized the same way: each overfitting sample (its gap with the test split, on "
        f"{a.metric}: two independent means) and each probe (the paired change strategy − base) in rounds of "
        f"{a.round}, stopped when every figure's {level} anytime-valid sequence excludes 0 or lies within "
        f"±{margin:g}, or its items ran out. A change stopped early is reported with its sequence's interval (and "
        "no p-value); BBQ and perplexity are scored in full.")
    return Adaptive(summary, tuple(rows), side_summary, side)


def markdown(a: Adaptive | None) -> list[str]:
    if a is None:
        return []
    return ["", "## Adaptive evaluation", "", a.summary, "",
            *table(["strategy", "test examples used", "why it stopped", "sequence at the stop", "examples saved",
                    "seconds saved (est.)", "dollars saved"],
                   [[r.strategy, r.used, r.why, r.sequence, r.saved_examples, r.saved_seconds, r.saved_dollars]
                    for r in a.rows]),
            *(["", a.side_summary, "",
               *table(["strategy", "side measurement", "items used", "why it stopped", "sequence at the stop"],
                      [[r.strategy, r.measurement, r.used, r.why, r.sequence] for r in a.side])] if a.side else [])]

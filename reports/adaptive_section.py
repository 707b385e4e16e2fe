"""The adaptive-evaluation section of both reports: how much of the test split each strategy used, why it stopped,
its anytime-valid sequence at the stop and what stopping saved (the HTML's plot: reports.plots.sequences_by_look)."""

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


@dataclass(frozen=True)
class Adaptive:
    summary: str
    rows: tuple[Row, ...]


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
    return Adaptive(summary, tuple(rows))


def markdown(a: Adaptive | None) -> list[str]:
    if a is None:
        return []
    return ["", "## Adaptive evaluation", "", a.summary, "",
            *table(["strategy", "test examples used", "why it stopped", "sequence at the stop", "examples saved",
                    "seconds saved (est.)", "dollars saved"],
                   [[r.strategy, r.used, r.why, r.sequence, r.saved_examples, r.saved_seconds, r.saved_dollars]
                    for r in a.rows])]

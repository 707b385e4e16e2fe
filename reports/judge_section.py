"""The judged-quality section of both reports: each strategy's judged scores with their CIs, how many replies
could not be read, pairwise wins/ties/losses and position flips, the judge's calibration (agreement, flip rate,
length bias), whether it was trusted, and what judging cost (an evaluation cost, apart from serving)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.judge.calibration import why_undefined
from harness.record.judged import Agreement
from harness.record.run_record import RunRecord
from harness.units import fmt_dollars, fmt_number
from reports.tables import table
from reports.view import Cell, cell


@dataclass(frozen=True)
class Row:
    strategy: str
    reference: Cell
    pairwise: Cell
    faithfulness: Cell
    tally: str  # pairwise wins / ties / losses (flips)
    unscored: str  # unreadable replies per measurement
    dollars: str


@dataclass(frozen=True)
class JudgeView:
    status: str  # "trusted" or "unvalidated"
    summary: str
    calibration: tuple[tuple[str, str], ...]  # (figure, value) pairs
    rows: tuple[Row, ...]


def _agreement(a: Agreement) -> str:
    if a.value is None:
        return f"{a.statistic} {why_undefined(a)}"
    ci = f" [{fmt_number(a.ci_low, 2)}, {fmt_number(a.ci_high, 2)}]" if a.ci_low is not None else ""
    raw = f", raw agreement {a.raw:.0%}" if a.raw is not None else ""
    unscored = f", {a.unscored} unscored" if a.unscored else ""
    return f"{a.statistic} {fmt_number(a.value, 2)}{ci} (n {a.n}{raw}{unscored})"


def view(rec: RunRecord, names: list[str]) -> JudgeView | None:
    j = rec.judge
    if j is None:
        return None
    status = "trusted" if j.trusted else "unvalidated"
    scale = "pass/fail (pass rate)" if j.scale == "pass-fail" else "1-5, scored (grade − 1) / 4"
    summary = (f"Judge: model {j.model} ({j.backend}), greedy, rubric {scale}; each rubric's text and version are in "
               f"run.json. judge-pairwise asks each pair in both orders against {j.baseline}: a verdict that flips "
               "with the order is a tie. Unreadable replies are asked once more, then left unscored (never scored "
               f"as a failure). The judge is {status}: {j.reason}.")
    calibration = [("agreement with " + a.against, _agreement(a)) for a in (j.labelled, j.exact) if a]
    if j.flip_rate:
        calibration.append(("position flip rate", cell(j.flip_rate).text + f" (n {j.flip_rate.n} pairs)"))
    if j.length_bias:
        calibration.append(("length bias: longer wins, beyond the references", cell(j.length_bias, signed=True).text
                            + f" (n {j.length_bias.n} decisive pairs; 0 = none)"))
    calibration.append(("evaluation cost (all judge calls)",
                        f"{fmt_dollars(j.cost.dollars)} ({j.cost.calls} calls, {j.cost.cached} cached, "
                        f"{j.cost.tokens_in + j.cost.tokens_out} tokens, priced by {j.cost.priced_by})"))
    rows = []
    for n in names:
        res = rec.strategies[n]
        if res.judged is None:
            continue
        p, parts = res.judged.pairwise, []
        for label, counts in (("reference", res.judged.reference), ("pairwise", p), ("faithfulness", res.judged.faithfulness)):
            if counts and counts.unscored:
                parts.append(f"{label} {counts.unscored} of {counts.asked}")
        tally = f"{p.wins} / {p.ties} / {p.losses} ({p.flips} flips)" if p else "–"
        rows.append(Row(n, cell(res.score("judge-reference")), cell(res.score("judge-pairwise")),
                        cell(res.score("faithfulness")), tally, ", ".join(parts) or "none",
                        fmt_dollars(res.judged.cost.dollars)))
    return JudgeView(status, summary, tuple(calibration), tuple(rows))


def markdown(v: JudgeView | None) -> list[str]:
    if v is None:
        return []
    return ["", "## Judged quality", "", v.summary, "",
            *table(["strategy", "judge-reference", "judge-pairwise", "faithfulness", "wins / ties / losses",
                    "unscored", "judge $"],
                   [[r.strategy, r.reference.text, r.pairwise.text, r.faithfulness.text, r.tally, r.unscored,
                     r.dollars] for r in v.rows]),
            "", "### The judge's calibration", "", *table(["figure", "value"], [list(c) for c in v.calibration])]

"""The judge's questions about a batch of one strategy's test examples, as the rows of judged/<strategy>.jsonl,
and what is measured across every strategy's rows once all have run (harness.judge.measure calls both).

A row: {example_id, scores: {measure: value}, asked, unscored, retried: [measure], replies, pair, claims,
truth, length, cost}. `pair` holds the pairwise verdicts in both orders; `truth` the exact metric's score (qa,
classification), what the judge's pass/fail is checked against; `length` the length-bias item."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.judge import calibration as cal
from harness.judge.asking import add_cost
from harness.judge.items import claims, faithfulness_chat, pairwise_chat, reference_chat, request_text
from harness.judge.rubrics import EXPECTED, read_grade, read_preference, read_support
from harness.record.judged import JudgeCost
from harness.types import Example

if TYPE_CHECKING:
    from harness.judge.measure import Judging

VIEW = {("A", True): 1.0, ("B", True): 0.0, ("A", False): 0.0, ("B", False): 1.0}  # (verdict, mine shown first)


def judge_rows(m: Judging, examples: list[Example], rows: dict[str, dict], against: dict[str, dict] | None) -> list[dict]:
    task, c, judge = m.ctx.task, m.config, m.judge
    out = {ex.id: {"example_id": ex.id, "scores": {}, "asked": [], "unscored": [], "retried": [], "replies": {},
                   "claims": 0, "cost": JudgeCost()} for ex in examples}
    requests = {ex.id: request_text(task, ex) for ex in examples}

    def record(measure: str, ids: list[str], asked) -> None:  # each question's reply and cost, on its row
        for ex_id, a in zip(ids, asked):
            row = out[ex_id]
            add_cost(row["cost"], a.cost)
            row["replies"].setdefault(measure, []).append(a.reply)
            if a.retried:
                row["retried"].append(measure)

    if "judge-reference" in c.measures:
        ids = [ex.id for ex in examples]
        asked = judge.ask([reference_chat(c.scale, requests[ex.id], ex.references, rows[ex.id]["output"])
                           for ex in examples], lambda r: read_grade(r, c.scale), EXPECTED[f"judge-reference {c.scale}"])
        record("judge-reference", ids, asked)
        for ex_id, a in zip(ids, asked):
            _score(out[ex_id], "judge-reference", a.value)
    if against is not None:
        _pairwise(m, examples, rows, against, requests, out, record)
    if "faithfulness" in c.measures:
        _faithfulness(m, examples, rows, requests, out, record)
    exact = exact_metric(task.metrics)
    for ex in examples:
        row = out[ex.id]
        row["truth"] = rows[ex.id]["scores"].get(exact) if exact else None
        row["cost"] = row["cost"].model_dump()
    return list(out.values())


def exact_metric(metrics: list[str]) -> str | None:
    """The task's metric with an exact truth (qa, classification), which the judge's pass/fail is checked against."""
    return next((e for e in ("exact_match", "accuracy") if e in metrics), None)


def _score(row: dict, measure: str, value) -> None:
    row["asked"].append(measure)
    if value is None:
        row["unscored"].append(measure)
    else:
        row["scores"][measure] = float(value)


def _pairwise(m: Judging, examples, rows, against, requests, out, record) -> None:
    """Each example's output against the baseline's, asked in both orders (mine first, then the baseline's)."""
    both = [ex for ex in examples if ex.id in against]
    differ = [ex for ex in both if rows[ex.id]["output"].strip() != against[ex.id]["output"].strip()]
    at = {ex.id: 2 * k for k, ex in enumerate(differ)}  # where its two questions are in `asked`
    chats, ids = [], []
    for ex in differ:
        mine, theirs, ref = rows[ex.id]["output"], against[ex.id]["output"], ex.references[0]
        chats += [pairwise_chat(requests[ex.id], ref, mine, theirs), pairwise_chat(requests[ex.id], ref, theirs, mine)]
        ids += [ex.id, ex.id]
    asked = m.judge.ask(chats, read_preference, EXPECTED["judge-pairwise"])
    record("judge-pairwise", ids, asked)
    for ex in both:
        pair = {"wins": 0, "ties": 0, "losses": 0, "flips": 0, "identical": 0, "first_position_wins": 0,
                "decisive": 0, "both_orders": False, "verdicts": []}
        out[ex.id]["pair"] = pair
        if ex.id not in at:
            pair["identical"], pair["ties"] = 1, 1
            _score(out[ex.id], "judge-pairwise", 0.5)
            continue
        k = at[ex.id]
        first, second = asked[k].value, asked[k + 1].value
        pair["verdicts"] = [first, second]
        if first is None or second is None:
            _score(out[ex.id], "judge-pairwise", None)
            continue
        pair["both_orders"] = True
        views = [0.5 if v == "tie" else VIEW[(v, shown_first)] for v, shown_first in ((first, True), (second, False))]
        pair["decisive"] = sum(v != "tie" for v in (first, second))
        pair["first_position_wins"] = sum(v == "A" for v in (first, second))
        flipped = sorted(views) == [0.0, 1.0]
        outcome = views[0] if views[0] == views[1] else 0.5  # a flip, or one order a tie: a tie, never order's pick
        pair["flips"] = int(flipped)
        pair["wins" if outcome == 1 else "losses" if outcome == 0 else "ties"] = 1
        _score(out[ex.id], "judge-pairwise", outcome)
        out[ex.id]["length"] = _length_item(rows[ex.id], against[ex.id], outcome, m.ctx.task.metrics)


def _length_item(mine: dict, theirs: dict, outcome: float, metrics: list[str]) -> list[float] | None:
    """(did the judge pick the longer output, how far the references favour it) for a decisive pair of outputs of
    different lengths in words; None otherwise."""
    lm, lt = len(mine["output"].split()), len(theirs["output"].split())
    metric = next((x for x in metrics if x in mine["scores"] and x in theirs["scores"]), None)
    if outcome == 0.5 or lm == lt or metric is None:
        return None
    mine_longer = lm > lt
    judged = float((outcome == 1.0) == mine_longer)
    sm, st = mine["scores"][metric], theirs["scores"][metric]
    longer, shorter = (sm, st) if mine_longer else (st, sm)
    return [judged, 1.0 if longer > shorter else 0.5 if longer == shorter else 0.0]


def _faithfulness(m: Judging, examples, rows, requests, out, record) -> None:
    """Each claim (sentence) of an answer that retrieved passages, checked against those passages."""
    corpus = {d.id: d for d in m.ctx.task.corpus or []}
    chats, ids = [], []
    for ex in examples:
        retrieved = [corpus[i] for i in rows[ex.id].get("retrieved") or [] if i in corpus]
        if not retrieved:
            continue
        said = claims(rows[ex.id]["output"])
        out[ex.id]["claims"] = len(said)
        chats += [faithfulness_chat(requests[ex.id], retrieved, claim) for claim in said]
        ids += [ex.id] * len(said)
        if not said:  # nothing claimed: nothing to support, and nothing to score
            _score(out[ex.id], "faithfulness", None)
    asked = m.judge.ask(chats, read_support, EXPECTED["faithfulness"])
    record("faithfulness", ids, asked)
    for ex_id in dict.fromkeys(ids):
        values = [a.value for i, a in zip(ids, asked) if i == ex_id and a.value is not None]
        _score(out[ex_id], "faithfulness", sum(values) / len(values) if values else None)


def across(m: Judging, record) -> None:
    """The run's calibration figures from every finished strategy's judged rows, and the verdict on the judge."""
    info, c = m.info, m.config
    judged = [r for name in record.complete() for r in m.ctx.store.read_judged(name)]
    graded = [r for r in judged if "judge-reference" in r["asked"] and r.get("truth") is not None]
    exact = [(cal.as_pass(r["scores"]["judge-reference"], c.scale), float(r["truth"] >= 0.5))
             for r in graded if "judge-reference" in r["scores"]]
    if graded:
        info.exact = cal.agreement([j for j, _ in exact], [t for _, t in exact], statistic="kappa",
                                   against=exact_metric(m.ctx.task.metrics),
                                   unscored=len(graded) - len(exact), seed=m.ctx.seed)
    pairs = [r["pair"] for r in judged if r.get("pair") and r["pair"]["both_orders"]]
    info.flip_rate = cal.flip_rate([float(p["flips"]) for p in pairs], seed=m.ctx.seed)
    info.length_bias = cal.length_bias([tuple(r["length"]) for r in judged if r.get("length")], seed=m.ctx.seed)
    info.trusted, info.reason = cal.verdict([a for a in (info.labelled, info.exact) if a], c.min_agreement)
    total = JudgeCost.model_validate(info.cost.model_dump())
    for name in record.complete():
        if (j := record.strategies[name].judged) is not None:
            add_cost(total, j.cost)
    m.judge.price(total)
    info.cost = total

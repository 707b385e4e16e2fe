"""The recommendation: which strategy to deploy, why (in numbers), and what would change the decision.

1. Hard constraints veto strategies (forgetting drop, bias increase, p95 latency, setup dollars).
2. The rest are ranked by a weighted utility of relative quality (the decision metric, as a fraction of the best),
   relative cost (setup plus `horizon_months` of `monthly_queries`, as the cheapest's fraction of it; amounts
   under `negligible_dollars` count as equal) and relative latency; the weights come from `--priority` or YAML.
3. The top strategy is named the winner only when a Holm-adjusted paired test on the decision metric puts it
   ahead of the runner-up (or, ranked first for cost, behind it outside the noise: an explicit trade-off).
   Inside the noise the two tie and the cheaper one is recommended, and ranked first.
4. What-ifs: the monthly query volume, the constraint and the priority at which the recommendation changes.

The record gets numbers and names only (harness.record.recommendation); the reports write the sentences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.decide import cost as costs
from harness.config import DecisionConfig
from harness.record.recommendation import (Comparison, ConstraintChange, Contrast, CostLedger, CostRow, MoreExamples,
                                    PriorityChange, Ranked, Recommendation, Stable, Veto, VolumeChange, Weights,
                                    WhatIf, WorstChange, find_comparison)
from harness.record.run_record import RunRecord
from harness.record.store import RunStore
from harness.record.figures import Versus
from harness.record.results import StrategyResult
from harness.measure.stats import compare_all

PROFILES: dict[str, dict[str, float]] = {
    "quality": {"quality": 1.0, "cost": 0.0, "latency": 0.0},
    "balanced": {"quality": 0.6, "cost": 0.3, "latency": 0.1},
    "cost": {"quality": 0.25, "cost": 0.65, "latency": 0.1},
}
CONSTRAINTS = ("max_forgetting_drop", "max_bias_increase", "max_latency_p95", "max_setup_dollars")


def read_run(store: RunStore) -> RunRecord:
    """run.json with its recommendation. A record migrated from a schema whose recommendation held sentences comes
    without one (harness.record.migrate): it is recomputed here, numbers only, from its comparisons and ledger."""
    record = store.read()
    if record.recommendation is None and record.cost_ledger is not None:
        record.recommendation = recommend(record, record.config.decision)
    return record


# --- reading the record -----------------------------------------------------------------------------------------

JUDGED = ("judge-reference", "judge-pairwise", "faithfulness")  # metrics a model judge gives (harness.judge)


def decision_metric(record: RunRecord, decision: DecisionConfig) -> str:
    return decision_basis(record, decision)[0]


def decision_basis(record: RunRecord, decision: DecisionConfig) -> tuple[str, str | None]:
    """The metric the decision rests on, and the judged metric it would have rested on but does not (None: no
    fallback). `decision.metric` where given, else a trusted judge's judged quality, else the task's first metric.
    A judged metric from a judge that is not trusted (unvalidated) falls back to the task's first metric; an adaptive
    run's verdict rests on the metric its rounds stopped on."""
    metrics = record.task.metrics if record.task else []
    if not metrics:
        metrics = next((list(res.metrics.get("test", {})) for res in record.strategies.values()
                        if res.metrics.get("test")), [])
    first = metrics[0] if metrics else ""
    judge = record.judge
    judged = [m for m in ("judge-reference", "judge-pairwise") if judge and m in judge.rubrics]
    if record.adaptive:  # the rounds stopped on their metric: the verdict rests on it, the judge's scores are shown
        return record.adaptive.metric, None
    wanted = decision.metric or (judged[0] if judged else first)
    if wanted in JUDGED and not (judge and judge.trusted):
        return first, wanted
    return wanted, None


def metric_directions(record: RunRecord, split: str = "test") -> dict[str, bool]:
    out = {m: True for m in (record.task.metrics if record.task else [])}
    for res in record.strategies.values():
        out |= {m: s.higher_is_better for m, s in res.metrics.get(split, {}).items()}
    return out


def per_example_scores(store, names: list[str], split: str = "test") -> dict[str, dict[str, dict[str, float]]]:
    """{strategy: {example id: {metric: score}}}: the predictions' scores and, on the test split, the judge's."""
    out = {n: {r["example_id"]: r.get("scores", {}) for r in store.read_predictions(n, split)} for n in names}
    for n in names if split == "test" else []:
        for row in store.read_judged(n):
            if row["example_id"] in out[n]:
                out[n][row["example_id"]] = out[n][row["example_id"]] | row["scores"]
    return out


def _worst_change(entries: dict[str, Versus]) -> WorstChange | None:
    """The largest change for the worse (strategy against base, in the figure's better direction) and where."""
    worst = None
    for name, entry in entries.items():
        change = -entry.delta.value if entry.base.higher_is_better else entry.delta.value
        if worst is None or change > worst.value:
            worst = WorstChange(value=change, where=name)
    return worst


def _informative(entries: dict[str, Versus]) -> dict[str, Versus]:
    """The probes the base model does (above chance): on the others no change could be seen."""
    return {name: e for name, e in entries.items() if e.informative}


def _with_detectable(worst: WorstChange | None, entries: dict[str, Versus]) -> WorstChange | None:
    if worst is not None:
        worst.detectable = entries[worst.where].detectable
    return worst


def worst_forgetting(result: StrategyResult) -> WorstChange | None:
    """The largest drop (base minus strategy) over the informative forgetting probes; None when there are none
    (the forgetting constraint then rests on nothing: not measured)."""
    entries = _informative(result.forgetting_entries())
    return _with_detectable(_worst_change(entries), entries)


def worst_bias_increase(result: StrategyResult) -> WorstChange | None:
    """The largest increase in the size of bias, |strategy| − |base|, over the informative BBQ bias scores (None
    when there are none). The scores run from −1 (always against the stereotype) through 0 (unbiased) to +1
    (always stereotyped), so a move away from 0 in either direction is an increase: 0 → −0.8 is +0.8, and
    +0.3 → −0.3 is 0."""
    entries = _informative(result.bias_entries())
    worst = None
    for name, entry in entries.items():
        change = abs(entry.adapted.value) - abs(entry.base.value)
        if worst is None or change > worst.value:
            worst = WorstChange(value=change, where=name)
    return _with_detectable(worst, entries)


def _unchanged_weights(result: StrategyResult) -> bool:
    return not result.cost.trainable_params


def _measured(result: StrategyResult, row: CostRow) -> dict[str, tuple[float | None, str | None]]:
    """Each constraint's measured value (None: not measured) and where. A strategy that trains nothing and has no
    probe figures counts as no forgetting and no bias change (its weights are the base model's)."""
    unchanged = WorstChange(value=0.0, where="") if _unchanged_weights(result) else None
    drop = worst_forgetting(result) or unchanged
    inc = worst_bias_increase(result) or unchanged
    in_flight = row.requests_in_flight and f"{row.requests_in_flight} in flight"
    return {"max_forgetting_drop": (drop.value if drop else None, drop.where if drop else None),
            "max_bias_increase": (inc.value if inc else None, inc.where if inc else None),
            "max_latency_p95": (row.request_latency_p95, in_flight), "max_setup_dollars": (row.setup_dollars, None)}


def violations(result: StrategyResult, row: CostRow, decision: DecisionConfig,
               skip: frozenset[str] = frozenset()) -> list[Veto]:
    """The constraints a strategy breaks (a constraint with no measured value is in `unmeasured`, not here)."""
    found = []
    for key, (value, where) in _measured(result, row).items():
        limit = getattr(decision.constraints, key)
        if key not in skip and limit is not None and value is not None and value > limit:
            found.append(Veto(constraint=key, limit=limit, value=value, where=where or None))
    return found


def unmeasured(result: StrategyResult, row: CostRow, decision: DecisionConfig) -> list[str]:
    """The constraints set in the decision that could not be checked for a strategy (no measured value: a trained
    strategy run with --no-probes or whose probes did not apply, a latency never timed). Such a strategy is not
    vetoed, since nothing shows it breaks the limit, but it is not reported as meeting the constraint either."""
    return [key for key, (value, _) in _measured(result, row).items()
            if getattr(decision.constraints, key) is not None and value is None]


# --- ranking ----------------------------------------------------------------------------------------------------

def weights_for(decision: DecisionConfig, priority: str | None = None) -> dict[str, float]:
    if decision.weights and priority is None:
        w = {"quality": 0.0, "cost": 0.0, "latency": 0.0} | decision.weights
    else:
        w = dict(PROFILES[priority or decision.priority])
    total = sum(w.values())
    return {k: round(v / total, 4) for k, v in w.items()}


def _relative(values: dict[str, float | None], higher_is_better: bool) -> dict[str, float]:
    """Each value relative to the best one (1.0 = the best; a strategy at half the best quality, or twice the
    cheapest cost, scores 0.5). Missing values score 0."""
    known = {k: v for k, v in values.items() if v is not None and not math.isnan(v)}
    out = {k: 0.0 for k in values}
    if not known:
        return out
    best = max(known.values()) if higher_is_better else min(known.values())
    for k, v in known.items():
        if higher_is_better:
            out[k] = v / best if best > 0 else (1.0 if v == best else 0.0)
        else:
            out[k] = best / v if v > 0 else 1.0
    return out


def _horizon_dollars(row: CostRow, decision: DecisionConfig, volume: float) -> float:
    return row.setup_dollars + decision.horizon_months * volume * row.dollars_per_query


@dataclass
class Choice:
    """One decision under given weights, volume and constraints: the ranking it comes from (recommended first)."""

    metric: str
    verdict: str
    recommended: str | None = None
    runner_up: str | None = None
    comparison: Comparison | None = None  # recommended - runner_up
    ranking: list[Ranked] = field(default_factory=list)
    tie_break: bool = False
    vetoed: dict[str, list[Veto]] = field(default_factory=dict)


def _utilities(record: RunRecord, rows: dict[str, CostRow], names: list[str], metric: str, decision: DecisionConfig,
               weights: dict[str, float], volume: float) -> list[Ranked]:
    """The feasible strategies by utility (then by dollars): the order before any tie is broken."""
    quality = {n: (s.value if (s := record.strategies[n].score(metric)) else None) for n in names}
    dollars = {n: _horizon_dollars(rows[n], decision, volume) for n in names}
    floored = {n: max(d, decision.negligible_dollars) for n, d in dollars.items()}  # pennies do not decide
    rq = _relative(quality, metric_directions(record).get(metric, True))
    rc, rl = _relative(floored, False), _relative({n: rows[n].seconds_per_query for n in names}, False)
    utility = {n: weights["quality"] * rq[n] + weights["cost"] * rc[n] + weights["latency"] * rl[n] for n in names}
    ranked = [Ranked(strategy=n, utility=utility[n], horizon_dollars=dollars[n]) for n in names]
    return sorted(ranked, key=lambda r: (-r.utility, r.horizon_dollars))


def choose(record: RunRecord, rows: dict[str, CostRow], decision: DecisionConfig, *, weights: dict[str, float],
           volume: float, skip: frozenset[str] = frozenset()) -> Choice:
    """One decision under given weights, query volume and constraints (the what-ifs call this again)."""
    metric = decision_metric(record, decision)
    names = [n for n in record.names() if n in rows]
    vetoed = {n: v for n in names if (v := violations(record.strategies[n], rows[n], decision, skip))}
    ranking = _utilities(record, rows, [n for n in names if n not in vetoed], metric, decision, weights, volume)
    choice = Choice(metric, "none", ranking=ranking, vetoed=vetoed)
    if len(ranking) == 1:
        choice.verdict, choice.recommended = "only", ranking[0].strategy
    if len(ranking) < 2:
        return choice
    top, second = ranking[0], ranking[1]
    comp = find_comparison(record.comparisons, metric, top.strategy, second.strategy)
    if comp is not None and comp.significant:
        choice.verdict = "winner" if comp.better == top.strategy else "trade-off"
        choice.recommended, choice.runner_up, choice.comparison = top.strategy, second.strategy, comp
        return choice
    cheaper, other = (top, second) if top.horizon_dollars <= second.horizon_dollars else (second, top)
    choice.verdict, choice.recommended, choice.runner_up = "tie", cheaper.strategy, other.strategy
    choice.comparison = comp.oriented(cheaper.strategy, other.strategy) if comp else None
    if cheaper is second:  # the recommendation and the ranking come from one order: the cheaper of a tie goes first
        choice.ranking = [second, top, *ranking[2:]]
        choice.tie_break = True
    return choice


# --- the recommendation -----------------------------------------------------------------------------------------

def recommend(record: RunRecord, decision: DecisionConfig) -> Recommendation:
    """The recommendation from a record that holds its comparisons and cost ledger."""
    rows = record.cost_ledger.strategies if record.cost_ledger else {}
    weights = weights_for(decision)
    base = choose(record, rows, decision, weights=weights, volume=decision.monthly_queries)
    rec = Recommendation(judge_fallback=decision_basis(record, decision)[1],
        priority="custom" if decision.weights else decision.priority, weights=Weights(**weights),
        monthly_queries=decision.monthly_queries, horizon_months=decision.horizon_months, alpha=decision.alpha,
        constraints=decision.constraints, metric=base.metric, verdict=base.verdict, recommended=base.recommended,
        runner_up=base.runner_up, comparison=base.comparison, ranking=base.ranking, tie_break=base.tie_break,
        vetoed=base.vetoed, what_ifs=_what_ifs(record, rows, decision, base),
        unmeasured={n: u for n in record.names() if n in rows and n not in base.vetoed
                    and (u := unmeasured(record.strategies[n], rows[n], decision))})
    if base.recommended:
        r = base.recommended
        result = record.strategies[r]
        rec.contrasts = [Contrast(other=n, comparison=c) for n in record.names()
                         if n in rows and n != r and (c := find_comparison(record.comparisons, base.metric, r, n))]
        rec.forgetting, rec.bias = worst_forgetting(result), worst_bias_increase(result)
        rec.weights_unchanged = _unchanged_weights(result)
    return rec


VOLUMES = [10 ** (k / 4) for k in range(0, 41)]  # 1 to 10^10 queries a month


def _volume_flips(at, current: str | None, volume: float) -> list[VolumeChange]:
    """The nearest volumes above and below the expected one where the recommendation changes."""
    out = []
    for direction, grid in (("above", [v for v in VOLUMES if v > volume]),
                            ("below", [v for v in VOLUMES[::-1] if v < volume])):
        prev = volume
        for v in grid:
            other = at(v)
            if other != current:
                lo, hi = sorted((prev, v))
                for _ in range(30):  # bisect on a log scale to the flip
                    mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
                    if (at(mid) != current) == (direction == "above"):
                        hi = mid
                    else:
                        lo = mid
                out.append(VolumeChange(direction=direction, at=hi if direction == "above" else lo, recommended=other))
                break
            prev = v
    return out


def _what_ifs(record: RunRecord, rows: dict[str, CostRow], decision: DecisionConfig, base: Choice) -> list[WhatIf]:
    current, vol = base.recommended, decision.monthly_queries
    weights = weights_for(decision)

    def at(volume: float, w=weights, skip=frozenset()) -> str | None:
        return choose(record, rows, decision, weights=w, volume=volume, skip=skip).recommended

    out: list[WhatIf] = list(_volume_flips(at, current, vol))
    for name, found in base.vetoed.items():  # lifting a constraint that vetoes a strategy
        for v in found:
            other = at(vol, skip=frozenset({v.constraint}))
            if other != current:
                out.append(ConstraintChange(constraint=v.constraint, limit=v.limit, value=v.value, strategy=name,
                                            recommended=other))
    for profile in PROFILES:
        if not decision.weights and profile == decision.priority:
            continue
        other = at(vol, w=weights_for(decision, profile))
        if other != current:
            out.append(PriorityChange(priority=profile, recommended=other))
    comp = base.comparison  # a tie may be a difference too small for this test set
    if base.verdict == "tie" and comp and comp.effect_size:
        out.append(more_examples(comp, decision.alpha))
    return out or [Stable()]


def more_examples(comp: Comparison, alpha: float, power: float = 0.8) -> MoreExamples:
    """How many paired examples a difference of this d_z needs to be significant with `power`, at the strictest
    level Holm holds a pair of this family to (alpha / family size: whatever the other pairs' p-values, a pair
    whose p is below it is rejected). Normal approximation: n = ((z_{1 − a/2} + z_power) / d_z)²."""
    from scipy.stats import norm

    family = comp.family_size or 1
    level = alpha / family
    need = math.ceil(((norm.ppf(1 - level / 2) + norm.ppf(power)) / abs(comp.effect_size)) ** 2)
    return MoreExamples(needed=need, effect_size=abs(comp.effect_size), n=comp.n, alpha=level, family=family)


# --- everything a finished run gets -----------------------------------------------------------------------------

def analyse(store, record: RunRecord, decision: DecisionConfig | None = None) -> None:
    """Add (or replace) the record's comparisons, cost ledger (with break-even volumes) and recommendation, from
    its results and the saved per-example scores."""
    decision = decision or record.config.decision
    names = record.complete()
    comparisons = compare_all(per_example_scores(store, names), metric_directions(record), alpha=decision.alpha,
                              seed=record.config.seed)
    rows = costs.ledger(record, decision)
    ledger = CostLedger(strategies=rows, break_even=costs.break_even(rows, decision.monthly_queries),
                        prices=decision.prices, monthly_queries=decision.monthly_queries,
                        horizon_months=decision.horizon_months)
    record.comparisons = [Comparison.model_validate(c) for c in comparisons]
    record.cost_ledger = ledger
    record.recommendation = recommend(record, decision)

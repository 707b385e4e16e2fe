"""The recommendation: which strategy to deploy, why (in numbers), and what would change the decision.

1. Hard constraints veto strategies (forgetting drop, bias increase, p95 latency, setup dollars).
2. The rest are ranked by a weighted utility of relative quality (the decision metric, as a fraction of the best),
   relative cost (setup plus `horizon_months` of `monthly_queries`, as the cheapest's fraction of it; amounts
   under `negligible_dollars` count as equal) and relative latency; the weights come from `--priority` or YAML.
3. The top strategy is named the winner only when a Holm-adjusted paired test on the decision metric puts it
   ahead of the runner-up (or, ranked first for cost, behind it outside the noise: an explicit trade-off).
   Inside the noise the two tie and the cheaper one is recommended.
4. What-ifs: the monthly query volume, the constraint and the priority at which the recommendation changes.
"""

from __future__ import annotations

import math
from typing import Any

from harness import cost as costs
from harness.config import DecisionConfig
from harness.probes import bias_entries, forgetting_entries
from harness.stats import compare_all, find_comparison

PROFILES: dict[str, dict[str, float]] = {
    "quality": {"quality": 1.0, "cost": 0.0, "latency": 0.0},
    "balanced": {"quality": 0.6, "cost": 0.3, "latency": 0.1},
    "cost": {"quality": 0.25, "cost": 0.65, "latency": 0.1},
}
CONSTRAINTS = ("max_forgetting_drop", "max_bias_increase", "max_latency_p95", "max_setup_dollars")


# --- reading the record -----------------------------------------------------------------------------------------

def decision_metric(record: dict[str, Any], decision: DecisionConfig) -> str:
    metrics = record.get("task", {}).get("metrics") or []
    if decision.metric:
        return decision.metric
    if not metrics:
        for res in record.get("strategies", {}).values():
            metrics = list(res.get("metrics", {}).get("test", {}))
            if metrics:
                break
    return metrics[0] if metrics else ""


def metric_directions(record: dict[str, Any], split: str = "test") -> dict[str, bool]:
    out: dict[str, bool] = {}
    for m in record.get("task", {}).get("metrics", []):
        out[m] = True
    for res in record.get("strategies", {}).values():
        for m, s in res.get("metrics", {}).get(split, {}).items():
            out[m] = bool(s.get("higher_is_better", True))
    return out


def per_example_scores(store, names: list[str], split: str = "test") -> dict[str, dict[str, dict[str, float]]]:
    return {n: {r["example_id"]: r.get("scores", {}) for r in store.read_predictions(n, split)} for n in names}


def _worst_change(entries: dict[str, dict], higher_default: bool) -> tuple[float | None, str | None]:
    """The largest change for the worse (adapted against base, in the figure's better direction) and where."""
    worst, where = None, None
    for name, entry in entries.items():
        delta = (entry or {}).get("delta") or {}
        if "value" not in delta:
            continue
        higher = (entry.get("base") or {}).get("higher_is_better", higher_default)
        change = -delta["value"] if higher else delta["value"]
        if worst is None or change > worst:
            worst, where = change, name
    return worst, where


def worst_forgetting(result: dict[str, Any]) -> tuple[float | None, str | None]:
    """The largest drop (base minus adapted) over the forgetting probes."""
    return _worst_change(forgetting_entries(result), higher_default=True)


def worst_bias_increase(result: dict[str, Any]) -> tuple[float | None, str | None]:
    """The largest increase in bias (adapted minus base; bias scores are better lower)."""
    return _worst_change(bias_entries(result), higher_default=False)


def _unchanged_weights(result: dict[str, Any]) -> bool:
    return not (result.get("cost") or {}).get("trainable_params")


def violations(name: str, result: dict[str, Any], row: dict[str, Any], decision: DecisionConfig,
               skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    c = decision.constraints
    found = []

    def check(key: str, limit: float | None, value: float | None, what: str, unit: str = "") -> None:
        if key in skip or limit is None or value is None or value <= limit:
            return
        found.append({"constraint": key, "limit": limit, "value": value,
                      "text": f"{what} {value:.3g}{unit} exceeds {key} {limit:.3g}{unit}"})

    drop, probe = worst_forgetting(result)
    if drop is None and _unchanged_weights(result):
        drop = 0.0
    check("max_forgetting_drop", c.max_forgetting_drop, drop, f"forgetting drop on {probe}")
    inc, which = worst_bias_increase(result)
    if inc is None and _unchanged_weights(result):
        inc = 0.0
    check("max_bias_increase", c.max_bias_increase, inc, f"bias increase on {which}")
    check("max_latency_p95", c.max_latency_p95, row.get("latency_p95"), "p95 latency", " s")
    check("max_setup_dollars", c.max_setup_dollars, row.get("setup_dollars"), "setup cost $")
    return found


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


def _horizon_dollars(row: dict[str, Any], decision: DecisionConfig, volume: float) -> float:
    return row["setup_dollars"] + decision.horizon_months * volume * row["dollars_per_query"]


def choose(record: dict[str, Any], comparisons: list[dict], rows: dict[str, dict], decision: DecisionConfig, *,
           weights: dict[str, float], volume: float, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One decision under given weights, query volume and constraints (the what-ifs call this again)."""
    metric = decision_metric(record, decision)
    results = record.get("strategies", {})
    names = [n for n in record.get("strategy_order", results) if n in rows]
    vetoed = {n: v for n in names if (v := violations(n, results[n], rows[n], decision, skip))}
    feasible = [n for n in names if n not in vetoed]
    quality = {n: results[n].get("metrics", {}).get("test", {}).get(metric, {}).get("value") for n in feasible}
    higher = metric_directions(record).get(metric, True)
    dollars = {n: _horizon_dollars(rows[n], decision, volume) for n in feasible}
    latency = {n: rows[n].get("seconds_per_query") for n in feasible}
    floored = {n: max(d, decision.negligible_dollars) for n, d in dollars.items()}  # pennies do not decide
    rq, rc, rl = _relative(quality, higher), _relative(floored, False), _relative(latency, False)
    utility = {n: weights["quality"] * rq[n] + weights["cost"] * rc[n] + weights["latency"] * rl[n] for n in feasible}
    ranking = sorted(feasible, key=lambda n: (-utility[n], dollars[n]))
    out: dict[str, Any] = {"metric": metric, "ranking": ranking, "utility": utility, "vetoed": vetoed,
                           "horizon_dollars": dollars, "comparison": None}
    if not ranking:
        return out | {"verdict": "none", "recommended": None}
    if len(ranking) == 1:
        return out | {"verdict": "only", "recommended": ranking[0]}
    top, second = ranking[:2]
    comp = find_comparison(comparisons, metric, top, second)
    out["comparison"] = comp
    if comp is not None and comp["significant"] and comp["better"] == top:
        return out | {"verdict": "winner", "recommended": top, "runner_up": second}
    if comp is not None and comp["significant"]:
        return out | {"verdict": "trade-off", "recommended": top, "runner_up": second}
    cheaper = top if dollars[top] <= dollars[second] else second
    return out | {"verdict": "tie", "recommended": cheaper, "tied_with": second if cheaper == top else top}


# --- the recommendation -----------------------------------------------------------------------------------------

def recommend(record: dict[str, Any], comparisons: list[dict], rows: dict[str, dict],
              decision: DecisionConfig) -> dict[str, Any]:
    weights = weights_for(decision)
    base = choose(record, comparisons, rows, decision, weights=weights, volume=decision.monthly_queries)
    rec = {
        "priority": "custom" if decision.weights else decision.priority,
        "weights": weights,
        "monthly_queries": decision.monthly_queries,
        "horizon_months": decision.horizon_months,
        "alpha": decision.alpha,
        "constraints": decision.constraints.model_dump(),
        **{k: base.get(k) for k in ("metric", "verdict", "recommended", "ranking", "utility", "vetoed",
                                    "horizon_dollars")},
        "runner_up": base.get("runner_up") or base.get("tied_with"),
    }
    rec["headline"] = _headline(base, record)
    rec["reasons"] = _reasons(base["recommended"], record, comparisons, rows, base["metric"]) if base["recommended"] else []
    rec["what_would_change"] = _what_ifs(record, comparisons, rows, decision, base)
    return rec


def _fmt(x: float) -> str:
    return f"{x:+.3f}" if abs(x) < 10 else f"{x:+.3g}"


def _ci(c: dict) -> str:
    return f"95% CI {c['ci_low']:.3f} to {c['ci_high']:.3f}, Holm p={c['p_holm']:.2g}"


def _headline(base: dict[str, Any], record: dict[str, Any]) -> str:
    r, m, comp = base.get("recommended"), base["metric"], base.get("comparison")
    v = base["verdict"]
    if v == "none":
        return "No strategy meets the constraints; relax one (see what would change the decision)."
    if v == "only":
        return f"Recommend {r}: the only strategy that meets the constraints."
    if v == "winner":
        return (f"Recommend {r}: it beats {base['runner_up']} on {m} outside the noise "
                f"({_fmt(comp['value'])}, {_ci(comp)}).")
    if v == "trade-off":
        return (f"Recommend {r} for its cost: {base['runner_up']} is better on {m} "
                f"({_fmt(-comp['value'])}, 95% CI {-comp['ci_high']:.3f} to {-comp['ci_low']:.3f}) "
                f"but does not repay its extra cost under these priorities.")
    other = base["tied_with"]
    if comp is None:
        return f"{r} and {other} cannot be told apart (no paired examples); recommend {r}, the cheaper."
    c = find_comparison([comp], m, r, other) or comp
    return (f"{r} and {other} tie on {m} (difference {_fmt(c['value'])}, 95% CI {c['ci_low']:.3f} to "
            f"{c['ci_high']:.3f}; paired test: Holm p={c['p_holm']:.3g}, not significant); "
            f"recommend {r}, the cheaper.")


def _ratio(a: float | None, b: float | None) -> str | None:
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    r = a / b
    if 0.95 <= r <= 1.05:
        return "about the same as"
    if r < 1:
        return f"1/{1 / r:.3g} of"
    return f"{r:.3g}x"


def _reasons(r: str, record: dict[str, Any], comparisons: list[dict], rows: dict[str, dict], metric: str) -> list[str]:
    results = record["strategies"]
    out = []
    for other in [n for n in record.get("strategy_order", results) if n in rows and n != r]:
        c = find_comparison(comparisons, metric, r, other)
        if c is None:
            continue
        verdict = "better" if c["better"] == r else ("worse" if c["better"] == other else "inside the noise")
        parts = [f"{_fmt(c['value'])} {metric} over {other} ({_ci(c)}, d_z={c['effect_size']:.2f}; {verdict})"]
        mine, theirs = rows[r]["setup_seconds"], rows[other]["setup_seconds"]
        if mine is not None and theirs is not None and min(mine, theirs) < 1:
            parts.append(f"{mine:.1f} s of setup against {theirs:.1f} s")  # a ratio to ~0 s says nothing
        elif setup := _ratio(mine, theirs):
            parts.append(f"{setup} {other}'s setup time")
        per_q = _ratio(rows[r]["dollars_per_query"], rows[other]["dollars_per_query"])
        if per_q:
            parts.append(f"{per_q} its cost per query")
        out.append(f"{r}: " + ", ".join(parts))
    res = results[r]
    drop, probe = worst_forgetting(res)
    if drop is not None:
        out.append(f"{r}: forgetting: accuracy fell by {drop:.3f} on the '{probe}' probes (its largest drop)" if drop > 0
                   else f"{r}: no drop on the forgetting probes ({drop:+.3f})")
    elif _unchanged_weights(res):
        out.append(f"{r}: weights unchanged, so no forgetting or bias shift from training")
    inc, which = worst_bias_increase(res)
    if inc is not None:
        out.append(f"{r}: largest bias change {inc:+.3f} ({which})")
    row = rows[r]
    text = (f"{r}: {costs.fmt_dollars(row['setup_dollars'])} setup, {costs.fmt_dollars(row['dollars_per_query'])} "
            f"per query, {costs.fmt_dollars(row['dollars_per_month'])} a month at the expected volume")
    if row.get("latency_p95") is not None:
        text += f", p95 latency {row['latency_p95']:.2f} s"
    out.append(text)
    return out


VOLUMES = [10 ** (k / 4) for k in range(0, 41)]  # 1 to 10^10 queries a month


def _what_ifs(record, comparisons, rows, decision: DecisionConfig, base: dict[str, Any]) -> list[dict[str, Any]]:
    current = base.get("recommended")
    weights = weights_for(decision)
    out: list[dict[str, Any]] = []

    def at(volume: float, w=weights, skip=frozenset()):
        return choose(record, comparisons, rows, decision, weights=w, volume=volume, skip=skip)["recommended"]

    # query volume: the nearest volumes above and below the expected one where the recommendation changes
    vol = decision.monthly_queries
    for direction, grid in (("above", [v for v in VOLUMES if v > vol]), ("below", [v for v in VOLUMES[::-1] if v < vol])):
        prev = vol
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
                flip = hi if direction == "above" else lo
                out.append({"kind": "volume", "at": flip, "recommended": other,
                            "text": f"At {'more' if direction == 'above' else 'fewer'} than about "
                                    f"{costs.fmt_count(flip)} queries a month, {other} would be recommended instead of {current}."})
                break
            prev = v
    # constraints: lifting one that vetoes a strategy
    for name, found in base.get("vetoed", {}).items():
        for v in found:
            other = at(vol, skip=frozenset({v["constraint"]}))
            if other != current:
                out.append({"kind": "constraint", "constraint": v["constraint"], "at": v["value"], "recommended": other,
                            "text": f"Relaxing {v['constraint']} from {v['limit']:.3g} to {v['value']:.3g} "
                                    f"({name}'s value) would make {other} the recommendation."})
    # priorities
    for profile in PROFILES:
        if not decision.weights and profile == decision.priority:
            continue
        other = at(vol, w=weights_for(decision, profile))
        if other != current:
            out.append({"kind": "priority", "priority": profile, "recommended": other,
                        "text": f"With --priority {profile}, {other} would be recommended."})
    # more data: a tie may be a difference too small for this test set
    comp = base.get("comparison")
    if base.get("verdict") == "tie" and comp and comp.get("effect_size"):
        need = math.ceil((2.8 / abs(comp["effect_size"])) ** 2)  # 80% power, two-sided alpha 0.05, paired
        out.append({"kind": "examples", "at": need,
                    "text": f"If the observed difference is real (d_z={abs(comp['effect_size']):.2f}), about {need} paired "
                            f"test examples would detect it (80% power); this run has {comp['n']}."})
    if not out:
        out.append({"kind": "stable", "text": "Nothing in the range checked changes it: query volumes from 1 to "
                                              "10^10 a month, lifting any constraint, or another priority profile."})
    return out


# --- everything a finished run gets -----------------------------------------------------------------------------

def analyse(store, record: dict[str, Any], decision: DecisionConfig | None = None) -> dict[str, Any]:
    """Comparisons, the cost ledger with break-even volumes, and the recommendation, from run.json and the saved
    per-example scores. Returns the keys to merge into the record."""
    from harness.config import validate

    if decision is None:
        decision = validate(record.get("config") or {}).decision
    results = record.get("strategies", {})
    names = [n for n in record.get("strategy_order", results) if results.get(n, {}).get("status") == "complete"]
    seed = (record.get("config") or {}).get("seed", 0)
    comparisons = compare_all(per_example_scores(store, names), metric_directions(record), alpha=decision.alpha, seed=seed)
    rows = costs.ledger({"strategies": {n: results[n] for n in names}}, decision)
    return {
        "comparisons": comparisons,
        "cost_ledger": {"strategies": rows, "break_even": costs.break_even(rows, decision.monthly_queries),
                        "prices": decision.prices.model_dump(), "monthly_queries": decision.monthly_queries,
                        "horizon_months": decision.horizon_months},
        "recommendation": recommend(record, comparisons, rows, decision),
    }

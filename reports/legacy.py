"""Interim: the typed record as the dict the renderers read before it was typed (run.json version 1's shape, with
the recommendation's sentences written by reports.verdict). The renderers move to RunRecord's fields; then this goes."""

from __future__ import annotations

from typing import Any

from harness.record import RunRecord
from reports import verdict


def legacy_view(record: RunRecord) -> dict[str, Any]:
    rec = record.model_dump(mode="json")
    for key in ("finished", "failed", "interrupted", "error", "task", "model", "leakage", "base", "cost_ledger",
                "recommendation"):
        if rec[key] is None:
            del rec[key]
    for key in ("model", "base"):
        if getattr(record, key) is not None:
            rec[key] = getattr(record, key).model_dump(mode="json", exclude_none=True)
    rec["models"] = {k: m.model_dump(mode="json", exclude_none=True) for k, m in record.models.items()}
    for name, result in record.strategies.items():
        res = rec["strategies"][name]
        for key in ("forgetting", "bias", "refusal", "win_rate", "training", "data_size_curve", "search",
                    "overfitting"):
            value = getattr(result, key)
            if value is None:
                del res[key]
            else:
                res[key] = value.model_dump(mode="json", exclude_none=True)
        if result.refusal is not None and result.refusal.skipped is None:
            res["refusal"] = res["refusal"].get("sets", {})
        res["learning_curve"] = [p.model_dump(mode="json", exclude_none=True) for p in result.learning_curve]
        for report in res["retrieval"].values():
            for group in [report, *report.get("by_hops", {}).values()]:
                _recall_keys(group)
    if record.recommendation is not None:
        rec["recommendation"] = _recommendation(record)
    return rec


def _recall_keys(group: dict[str, Any]) -> None:
    """{"recall": {k: score}} back to "recall@k" keys, where they were: before "mrr"."""
    items, recall = list(group.items()), group["recall"]
    group.clear()
    for key, value in items:
        if key == "mrr":
            group |= {f"recall@{k}": s for k, s in recall.items()}
        if key != "recall":
            group[key] = value


def _recommendation(record: RunRecord) -> dict[str, Any]:
    r = record.recommendation
    out = r.model_dump(mode="json")
    out["ranking"] = [x.strategy for x in r.ranking]
    out["utility"] = {x.strategy: x.utility for x in r.ranking}
    out["horizon_dollars"] = {x.strategy: x.horizon_dollars for x in r.ranking}
    out["vetoed"] = {n: [v.model_dump(mode="json") | {"text": verdict.veto(v)} for v in found]
                     for n, found in r.vetoed.items()}
    out["headline"] = verdict.headline(r)
    out["reasons"] = verdict.reasons(record)
    out["what_would_change"] = [{"kind": w.kind, "text": text} for w, text in zip(r.what_ifs, verdict.what_ifs(r))]
    return out

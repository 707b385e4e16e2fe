"""Retrieval quality wherever examples name their gold documents (`meta.doc_ids`).

recall@k: the fraction of an example's gold documents found among its top k retrieved documents, averaged over
examples (a two-hop question with one of its two documents retrieved scores 0.5). MRR: the mean of 1 / rank of the
first gold document (0 when none was retrieved). Wrong answers are split into retrieval misses (a gold document was
not among the passages given to the model) and generation errors (all were there and the answer was still wrong).
"""

from __future__ import annotations

from typing import Any

from harness.measure.measurement import Measurement
from harness.registry import measurements
from harness.record.results import RetrievalReport
from harness.measure.stats import summarize
from harness.types import Example, RetrievalDepth


def recall_at_k(retrieved: list[str], gold: list[str], k: int) -> float:
    gold_set = set(gold)
    return len(gold_set & set(retrieved[:k])) / len(gold_set) if gold_set else float("nan")


def reciprocal_rank(retrieved: list[str], gold: list[str]) -> float:
    gold_set = set(gold)
    return next((1.0 / rank for rank, doc in enumerate(retrieved, 1) if doc in gold_set), 0.0)


def retrieval_report(rows: list[dict[str, Any]], examples: dict[str, Example], *, ks: list[int], context_k: int,
                     correct_metric: str = "exact_match", seed: int = 0) -> RetrievalReport | None:
    """Scores over the rows whose example has gold doc ids; None when there are none or nothing was retrieved."""
    pairs = [(r, examples[r["example_id"]].meta["doc_ids"]) for r in rows
             if r["example_id"] in examples and examples[r["example_id"]].meta.get("doc_ids")]
    if not pairs or not any(r.get("retrieved") for r, _ in pairs):
        return None
    report: dict[str, Any] = {"examples": len(pairs), "context_k": context_k, **_scores(pairs, ks, seed)}
    hops = {examples[r["example_id"]].meta.get("hops") for r, _ in pairs}
    if len(hops - {None}) > 1:
        report["by_hops"] = {
            str(h): {"examples": len(group), **_scores(group, ks, seed)}
            for h in sorted(hops - {None})
            if (group := [(r, g) for r, g in pairs if examples[r["example_id"]].meta.get("hops") == h])
        }
    scored = [(r, g) for r, g in pairs if correct_metric in r.get("scores", {})]
    if scored:
        wrong = [(r, g) for r, g in scored if r["scores"][correct_metric] < 1]
        misses = sum(recall_at_k(r["retrieved"], g, context_k) < 1 for r, g in wrong)
        report["wrong_answers"] = {
            "metric": correct_metric,
            "wrong": len(wrong),
            "retrieval_miss": misses,
            "generation_error": len(wrong) - misses,
            "retrieval_miss_share": misses / len(wrong) if wrong else None,
            "correct_despite_miss": sum(r["scores"][correct_metric] >= 1 and recall_at_k(r["retrieved"], g, context_k) < 1
                                        for r, g in scored),
        }
    return RetrievalReport.model_validate(report)


def _scores(pairs: list[tuple[dict, list[str]]], ks: list[int], seed: int) -> dict[str, Any]:
    recall = {k: summarize(f"recall@{k}", [recall_at_k(r["retrieved"], g, k) for r, g in pairs], seed=seed)
              for k in ks}
    return {"recall": recall, "mrr": summarize("mrr", [reciprocal_rank(r["retrieved"], g) for r, g in pairs], seed=seed)}


@measurements.add
class RetrievalQuality(Measurement):
    name = "retrieval"

    def applies(self, prepared):
        return prepared.adapted.retrieval is not None

    def measure(self, prepared, splits):  # recall@k, MRR, misses (where examples name their gold doc ids)
        found = {split: split_report(prepared.ctx, prepared.name, split, prepared.adapted.retrieval) for split in splits}
        return {"retrieval": {split: report for split, report in found.items() if report is not None}}


def split_report(ctx, strategy: str, split: str, depth: RetrievalDepth) -> RetrievalReport | None:
    """Retrieval scores of one strategy on one split, read from its saved predictions."""
    if ctx.store is None:
        return None
    rows = list({r["example_id"]: r for r in ctx.store.read_predictions(strategy, split)}.values())
    from harness.measure.overfitting import split_examples

    examples = {ex.id: ex for ex in split_examples(ctx, split)}
    rows = [r for r in rows if r["example_id"] in examples]
    return retrieval_report(rows, examples, ks=depth.recall_ks, context_k=depth.context_k, seed=ctx.seed)

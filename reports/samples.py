"""Which test examples both reports show side by side: those where the strategies disagree most on the decision
metric (ties broken by example id), so report.md and report.html always show the same ones."""

from __future__ import annotations

from dataclasses import dataclass

from harness.record.run_record import RunRecord
from harness.record.store import RunStore

COUNT = 4


@dataclass(frozen=True)
class Output:
    strategy: str
    output: str | None  # None: this strategy has no prediction for the example
    score: float | None


@dataclass(frozen=True)
class Sample:
    id: str
    prompt: str  # as the first strategy saw it
    references: list[str]
    outputs: list[Output]


def display_metric(rec: RunRecord) -> str:
    """The metric the reports lead with: the one the decision rests on, else the task's first."""
    if rec.recommendation:
        return rec.recommendation.metric
    return rec.task.metrics[0] if rec.task and rec.task.metrics else ""


def side_by_side(store: RunStore, names: list[str], metric: str, count: int = COUNT) -> list[Sample]:
    preds = {n: {r["example_id"]: r for r in store.read_predictions(n)} for n in names}
    if not names or not preds[names[0]]:
        return []
    ids = [i for i in preds[names[0]] if all(i in preds[n] for n in names)] or list(preds[names[0]])

    def score(name: str, i: str) -> float | None:
        return preds[name].get(i, {}).get("scores", {}).get(metric)

    def spread(i: str) -> float:
        found = [s for n in names if (s := score(n, i)) is not None]
        return max(found) - min(found) if found else 0.0

    ids.sort(key=lambda i: (-spread(i), i))
    first = preds[names[0]]
    return [Sample(i, first[i].get("prompt", ""), first[i].get("references", []),
                   [Output(n, preds[n][i]["output"] if i in preds[n] else None, score(n, i)) for n in names])
            for i in ids[:count]]

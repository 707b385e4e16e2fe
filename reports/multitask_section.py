"""The suite page's answer to "one adapter or one per task?": per task, a strategy whose setup is shared by the
suite's tasks (its `cost.shared_setup`: multitask-lora, one adapter for all) against the strategy that makes that
setup once per task (`shared_setup.per_task`: lora), the paired difference from each task's record, and what each
cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.record.figures import Score
from harness.record.recommendation import Comparison, find_comparison
from harness.units import fmt_number, fmt_p
from reports.tables import fmt_score, table

if TYPE_CHECKING:
    from reports.suite import TaskRun

@dataclass(frozen=True)
class Row:
    """One task that ran both: their scores, shared − per-task, and the setup each was charged."""

    task: str
    metric: str
    shared_name: str
    per_task_name: str
    per_task: Score
    shared: Score
    diff: Comparison | None
    per_task_setup: float
    shared_setup: float
    shared_train_seconds: float | None  # the one shared training, counted once across the suite
    shared_tasks: int


def rows(runs: list[TaskRun]) -> list[Row]:
    """One row per task that ran a shared-setup strategy and its per-task counterpart (empty when none did)."""
    out = []
    for run in runs:
        results = run.record.strategies
        for name, result in results.items():
            shared = result.cost.shared_setup  # what the shared strategy reports of itself
            if shared is None or shared.per_task not in results:
                continue
            per_task, mine = run.score(shared.per_task), run.score(name)
            if per_task is None or mine is None:
                continue
            out.append(Row(run.task, run.metric, name, shared.per_task, per_task, mine,
                           find_comparison(run.record.comparisons, run.metric, name, shared.per_task),
                           results[shared.per_task].cost.setup_seconds, result.cost.setup_seconds,
                           shared.train_seconds, len(shared.tasks)))
    return out


def verdict(row: Row) -> str:
    if row.diff is None:
        return "not compared"
    if row.diff.better == row.shared_name:
        return "one adapter is better"
    if row.diff.better == row.per_task_name:
        return "the task's own adapter is better"
    return "inside the noise"


def markdown(runs: list[TaskRun]) -> list[str]:
    found = rows(runs)
    if not found:
        return []
    shared, per_task = found[0].shared_name, found[0].per_task_name
    lines = ["", f"## One adapter or one per task? ({per_task} vs {shared})", "",
             f"`{per_task}` trains an adapter per task; `{shared}` trains one adapter once on the same training samples "
             "of all the tasks and is scored on each. The difference is paired on each task's test examples (95% "
             "bootstrap CI, Holm-adjusted p within the task's run). The shared training is counted once: each task "
             "is charged its share of it plus its own loading.", ""]
    cells = [[f"{r.task} · {r.metric}", fmt_score(r.per_task), fmt_score(r.shared), fmt_score(r.diff, signed=True),
              fmt_p(r.diff.p_holm if r.diff else None), verdict(r),
              f"{fmt_number(r.per_task_setup, 1)} / {fmt_number(r.shared_setup, 1)}"] for r in found]
    lines += table(["task · metric", per_task, shared, f"{shared} − {per_task} [95% CI]", "Holm p", "verdict",
                    f"setup s: {per_task} / {shared} share"], cells)
    train = found[0].shared_train_seconds
    if train is not None:
        lines += ["", f"Setup in all: {sum(r.per_task_setup for r in found):.1f} s for {len(found)} per-task adapters "
                  f"against {train:.1f} s for the one shared adapter (trained once for {found[0].shared_tasks} tasks)."]
    return lines

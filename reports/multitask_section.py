"""The suite page's answer to "one adapter or one per task?": per task, `lora` (an adapter per task) against
`multitask-lora` (one adapter for all), the paired difference from each task's record, and what each cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.record.figures import Score
from harness.record.recommendation import Comparison, find_comparison
from harness.units import fmt_number, fmt_p
from reports.tables import fmt_score, table

if TYPE_CHECKING:
    from reports.suite import TaskRun

PER_TASK, SHARED = "lora", "multitask-lora"


@dataclass(frozen=True)
class Row:
    """One task that ran both: their scores, multitask-lora − lora, and the setup each was charged."""

    task: str
    metric: str
    lora: Score
    multitask: Score
    diff: Comparison | None
    lora_setup: float
    multitask_setup: float
    shared_train_seconds: float | None  # the one shared training, counted once across the suite
    shared_tasks: int


def rows(runs: list[TaskRun]) -> list[Row]:
    """One row per task that ran both strategies (empty when none did)."""
    out = []
    for run in runs:
        lora, multitask = run.score(PER_TASK), run.score(SHARED)
        if lora is None or multitask is None:
            continue
        results = run.record.strategies
        shared = results[SHARED].cost.shared_setup  # what the multitask strategy reports of itself
        out.append(Row(run.task, run.metric, lora, multitask,
                       find_comparison(run.record.comparisons, run.metric, SHARED, PER_TASK),
                       results[PER_TASK].cost.setup_seconds, results[SHARED].cost.setup_seconds,
                       shared.train_seconds if shared else None, len(shared.tasks) if shared else 0))
    return out


def verdict(diff: Comparison | None) -> str:
    if diff is None:
        return "not compared"
    if diff.better == SHARED:
        return "one adapter is better"
    if diff.better == PER_TASK:
        return "the task's own adapter is better"
    return "inside the noise"


def markdown(runs: list[TaskRun]) -> list[str]:
    found = rows(runs)
    if not found:
        return []
    lines = ["", "## One adapter or one per task? (lora vs multitask-lora)", "",
             "`lora` trains an adapter per task; `multitask-lora` trains one adapter once on the same training samples "
             "of all the tasks and is scored on each. The difference is paired on each task's test examples (95% "
             "bootstrap CI, Holm-adjusted p within the task's run). The shared training is counted once: each task "
             "is charged its share of it plus its own loading.", ""]
    cells = [[f"{r.task} · {r.metric}", fmt_score(r.lora), fmt_score(r.multitask), fmt_score(r.diff, signed=True),
              fmt_p(r.diff.p_holm if r.diff else None), verdict(r.diff),
              f"{fmt_number(r.lora_setup, 1)} / {fmt_number(r.multitask_setup, 1)}"] for r in found]
    lines += table(["task · metric", "lora", "multitask-lora", "multitask-lora − lora [95% CI]", "Holm p", "verdict",
                    "setup s: lora / multitask share"], cells)
    train = found[0].shared_train_seconds
    if train is not None:
        lines += ["", f"Setup in all: {sum(r.lora_setup for r in found):.1f} s for {len(found)} per-task adapters "
                  f"against {train:.1f} s for the one shared adapter (trained once for {found[0].shared_tasks} tasks)."]
    return lines

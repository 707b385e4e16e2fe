"""The suite page's answer to "one adapter or one per task?": per task, `lora` (an adapter per task) against
`multitask-lora` (one adapter for all), the paired difference from each task's run.json, and what each cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.recommendation import find_comparison
from harness.store import RunStore
from harness.units import fmt_number, fmt_p
from reports.tables import fmt_score, table

PER_TASK, SHARED = "lora", "multitask-lora"


def rows(suite_dir: Path, summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per task that ran both strategies (empty when none did)."""
    out = []
    for row in summary:
        if not (row["scores"].get(PER_TASK) and row["scores"].get(SHARED)):
            continue
        rec = RunStore.open(Path(suite_dir) / row["run"]).read()
        diff = find_comparison(rec.comparisons, row["metric"], SHARED, PER_TASK)
        diff = diff.model_dump(mode="json") if diff else None
        costs = {n: rec.strategies[n].cost.model_dump(mode="json") for n in (PER_TASK, SHARED)}
        shared = costs[SHARED].get("extra", {}).get("shared_setup", {})
        out.append({"task": row["task"], "metric": row["metric"], "lora": row["scores"][PER_TASK],
                    "multitask": row["scores"][SHARED], "diff": diff,
                    "lora_setup": costs[PER_TASK].get("setup_seconds"),
                    "multitask_setup": costs[SHARED].get("setup_seconds"),
                    "shared_train_seconds": shared.get("train_seconds"), "shared_tasks": len(shared.get("tasks", []))})
    return out


def verdict(diff: dict[str, Any] | None) -> str:
    if not diff:
        return "not compared"
    if diff.get("better") == SHARED:
        return "one adapter is better"
    if diff.get("better") == PER_TASK:
        return "the task's own adapter is better"
    return "inside the noise"


def markdown(suite_dir: Path, summary: list[dict[str, Any]]) -> list[str]:
    found = rows(suite_dir, summary)
    if not found:
        return []
    lines = ["", "## One adapter or one per task? (lora vs multitask-lora)", "",
             "`lora` trains an adapter per task; `multitask-lora` trains one adapter once on the same training samples "
             "of all the tasks and is scored on each. The difference is paired on each task's test examples (95% "
             "bootstrap CI, Holm-adjusted p within the task's run). The shared training is counted once: each task "
             "is charged its share of it plus its own loading.", ""]
    cells = [[f"{r['task']} · {r['metric']}", fmt_score(r["lora"]), fmt_score(r["multitask"]),
             fmt_score(r["diff"], signed=True), fmt_p((r["diff"] or {}).get("p_holm")), verdict(r["diff"]),
             f"{fmt_number(r['lora_setup'] or 0, 1)} / {fmt_number(r['multitask_setup'] or 0, 1)}"] for r in found]
    lines += table(["task · metric", "lora", "multitask-lora", "multitask-lora − lora [95% CI]", "Holm p", "verdict",
                    "setup s: lora / multitask share"], cells)
    total_lora = sum(r["lora_setup"] or 0 for r in found)
    train = found[0]["shared_train_seconds"]
    if train is not None:
        lines += ["", f"Setup in all: {total_lora:.1f} s for {len(found)} per-task adapters against {train:.1f} s for "
                  f"the one shared adapter (trained once for {found[0]['shared_tasks']} tasks)."]
    return lines


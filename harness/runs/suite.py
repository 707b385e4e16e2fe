"""Suites: several tasks in one command, each a normal run folder inside the suite's folder, plus suite.json.

runs/<timestamp>_suite-<name>_<id>/
  suite.json              the suite's record: its tasks, their run folders and verdicts
  <timestamp>_<task>_<id>/  one ordinary run per task (run.json, predictions, report.md, report.html)
  suite.md, suite.html    each task's verdict and an overall table
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import RunConfig, split_spec
from harness.yamlfile import read_yaml
from harness.console import console
from harness.errors import HarnessError, unknown_name
from harness.record.store import RunStore
from harness.record.suite import SuiteRecord, SuiteRow, SuiteTask
from harness.runs.strategy_steps import make_strategy
from harness.tasks.load import BENCHMARKS

SUITES_FILE = BENCHMARKS / "suites.yaml"


def load_suites() -> dict[str, dict[str, Any]]:
    spec = read_yaml(SUITES_FILE)
    for name, suite in spec.items():
        if not isinstance(suite, dict) or not suite.get("tasks"):
            raise HarnessError(f"{SUITES_FILE}: suite '{name}' needs a non-empty `tasks` list.")
    return spec


def run_suite(config: RunConfig, name: str | None = None, *, resume: Path | None = None) -> Path:
    from harness.runs.runner import run

    if resume:
        suite_dir = Path(resume)
        record = SuiteRecord.read(suite_dir)
        name = record.suite
    else:
        suites = load_suites()
        if name not in suites:
            raise unknown_name("suite", name, list(suites))
        suite_dir = RunStore.create(config.out, f"suite-{name}").path
        (suite_dir / "predictions").rmdir()  # a suite folder holds runs, not predictions
        record = SuiteRecord(suite=name, config=config, tasks=[SuiteTask(task=t) for t in suites[name]["tasks"]])
    config = record.config
    record.write(suite_dir)
    for entry in record.tasks:
        if entry.status == "complete":
            continue
        console.rule(f"suite {name}: task {entry.task}")
        names = applicable(config, entry.task)
        if names == []:
            console.print(f"[yellow]{entry.task}: none of {', '.join(config.strategies)} applies; skipped.[/]")
            entry.status = "skipped"
            continue
        task_config = config.model_copy(update={"task": entry.task, "out": suite_dir, "data": None,
                                                "strategies": names})
        for spec in names or []:  # multitask-lora: one adapter for the suite's tasks
            task_config = make_strategy(split_spec(spec)[0]).in_suite(task_config, [t.task for t in record.tasks])
        try:
            path = run(task_config, resume=_unfinished_run(suite_dir, entry.task))
        except KeyboardInterrupt:
            record.status = "interrupted"
            record.write(suite_dir)
            console.print(f"Resume the suite with:\n  harness run --resume {suite_dir}")
            raise
        entry.run, entry.status = path.name, "complete"
        record.write(suite_dir)
    record.status = "complete"
    record.summary = summarize(suite_dir, record)
    record.write(suite_dir)
    from reports.suite import write_suite_reports

    write_suite_reports(suite_dir)
    return suite_dir


def applicable(config: RunConfig, task_name: str) -> list[str] | None:
    """The strategies asked for that apply to this task (None keeps the task's defaults)."""
    if config.strategies is None:
        return None
    from harness.tasks.load import load_task

    task = load_task(task_name, limit=1, seed=config.seed)
    return [n for n in config.strategies if make_strategy(split_spec(n)[0]).applies_to(task)]


def _unfinished_run(suite_dir: Path, task_name: str) -> Path | None:
    """The task's run folder left by an interrupted suite, to resume rather than start again."""
    for run_json in sorted(Path(suite_dir).glob("*/run.json"), reverse=True):
        rec = RunStore(run_json.parent).read()
        if rec.config.task == task_name and rec.status != "complete":
            return run_json.parent
    return None


def is_suite(path: Path) -> bool:
    return (Path(path) / "suite.json").exists()


def summarize(suite_dir: Path, record: SuiteRecord) -> list[SuiteRow]:
    """Per completed task: its verdict and each strategy's primary metric with CI, read from the task's run.json."""
    rows = []
    for entry in record.tasks:
        if entry.status != "complete":
            continue
        rec = RunStore.open(suite_dir / entry.run).read()
        r = rec.recommendation
        metric = r.metric if r else rec.task.metrics[0]
        rows.append(SuiteRow(task=entry.task, kind=rec.task.kind, run=entry.run, metric=metric,
                             verdict=r.verdict if r else None, recommended=r.recommended if r else None,
                             scores={n: res.score(metric) for n, res in rec.strategies.items()}))
    return rows

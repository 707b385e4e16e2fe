"""The suite page: each task's verdict and an overall strategies x tasks table (suite.md and suite.html), from
suite.json's list of task runs and each run's own record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.record.figures import Score
from harness.record.run_record import RunRecord
from harness.redact import redact
from harness.record.store import RunStore
from harness.record.suite import SuiteRecord
from reports import multitask_section, wording
from reports.html import environment
from reports.tables import fmt_score, table


@dataclass(frozen=True)
class TaskRun:
    """One task of the suite: its run folder (relative to the suite's), the metric its decision rests on, its record."""

    task: str
    run: str
    metric: str
    record: RunRecord

    @property
    def kind(self) -> str:
        return self.record.task.kind if self.record.task else "?"

    @property
    def recommended(self) -> str | None:
        return self.record.recommendation.recommended if self.record.recommendation else None

    @property
    def verdict(self) -> str | None:
        return self.record.recommendation.verdict if self.record.recommendation else None

    @property
    def headline(self) -> str:
        r = self.record.recommendation
        return wording.headline(r) if r else wording.no_recommendation(self.record.status)

    def score(self, strategy: str) -> Score | None:
        result = self.record.strategies.get(strategy)
        return result.score(self.metric) if result else None


def _load(suite_dir: Path) -> tuple[str, str, list[TaskRun]]:
    """The suite's name and status, and its completed task runs (those suite.json summarizes)."""
    suite = SuiteRecord.read(suite_dir)
    runs = [TaskRun(row.task, row.run, row.metric, RunStore.open(Path(suite_dir) / row.run).read())
            for row in suite.summary]
    return suite.suite, suite.status, runs


def _strategies(runs: list[TaskRun]) -> list[str]:
    return list(dict.fromkeys(n for r in runs for n in r.record.names()))


def _wins(runs: list[TaskRun]) -> dict[str, int]:
    wins: dict[str, int] = {}
    for r in runs:
        if r.recommended:
            wins[r.recommended] = wins.get(r.recommended, 0) + 1
    return wins


def render_markdown(suite_dir: Path) -> str:
    name, _, runs = _load(suite_dir)
    wins = _wins(runs)
    verdicts = [[f"[{r.task}]({r.run}/report.md)", r.kind, r.recommended or "–", r.verdict or "–", r.headline]
                for r in runs]
    overall = [[n, *[fmt_score(r.score(n)) for r in runs], f"{wins.get(n, 0)} of {len(runs)}"]
               for n in _strategies(runs)]
    lines = [f"# Suite `{name}`: prompt, retrieve or fine-tune, task by task", "",
             "## Verdict per task", "", *table(["task", "kind", "recommended", "verdict", "why"], verdicts),
             "", "## Overall", "", "Each strategy's primary metric on each task: mean on the test split [95% CI].", "",
             *table(["strategy", *[f"{r.task} · {r.metric}" for r in runs], "recommended on"], overall)]
    return "\n".join(lines + multitask_section.markdown(runs)) + "\n"


def render_html(suite_dir: Path) -> str:
    name, status, runs = _load(suite_dir)
    return environment().get_template("suite.html.j2").render(
        suite=name, status=status, runs=runs, strategies=_strategies(runs), wins=_wins(runs),
        multitask=multitask_section.rows(runs), verdict=multitask_section.verdict)


def write_suite_reports(suite_dir: Path) -> None:
    suite_dir = Path(suite_dir)
    (suite_dir / "suite.md").write_text(redact(render_markdown(suite_dir)), encoding="utf-8")
    (suite_dir / "suite.html").write_text(redact(render_html(suite_dir)), encoding="utf-8")

"""suite.json as a pydantic model: a suite's tasks, the run folder each got, and per task the figures its verdict
rests on (for scripts; the suite page reads each task's own run.json). Written and read only through this module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, ValidationError

from harness.config import RunConfig
from harness.errors import HarnessError, field_problems
from harness.record.figures import RecordModel, Score
from harness.record.store import write_json

FILE = "suite.json"


class SuiteTask(RecordModel):
    """One task of the suite and its run folder (relative to the suite's), once it has one."""

    task: str
    run: str | None = None
    status: Literal["pending", "complete", "skipped"] = "pending"


class SuiteRow(RecordModel):
    """A completed task's verdict and each strategy's score on the metric it rests on."""

    model_config = ConfigDict(extra="ignore")  # suite.json files from before this model held an English headline
    task: str
    kind: str
    run: str
    metric: str
    verdict: str | None = None
    recommended: str | None = None
    scores: dict[str, Score | None] = {}


class SuiteRecord(RecordModel):
    suite: str
    status: Literal["running", "interrupted", "complete"] = "running"
    config: RunConfig
    tasks: list[SuiteTask]
    summary: list[SuiteRow] = []

    def write(self, suite_dir: Path) -> None:
        write_json(Path(suite_dir) / FILE, self.model_dump(mode="json"))

    @classmethod
    def read(cls, suite_dir: Path) -> "SuiteRecord":
        path = Path(suite_dir) / FILE
        if not path.exists():
            raise HarnessError(f"{suite_dir} is not a suite folder (no {FILE}).",
                               hint="Pass the folder `harness run --suite` printed.")
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except ValidationError as exc:  # before ValueError, which it is
            raise HarnessError(f"Cannot read {path}: {field_problems(exc)}.", hint="Pass a suite folder the harness wrote.") from exc
        except (OSError, ValueError) as exc:
            raise HarnessError(f"Cannot read {path}: {exc}.", hint="Pass a suite folder the harness wrote.") from exc

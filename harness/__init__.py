"""harness: should you prompt, retrieve, or fine-tune? Measured, with evidence.

The Python API, as the CLI runs it:

    from harness import run, RunConfig
    record = run(RunConfig(task="classification", strategies=["prompt", "few-shot"], limit=20))
    print(record.recommendation.verdict, record.recommendation.recommended)
    folder = record.config.out / record.run_id  # run.json, predictions/, report.md, report.html
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.version import __version__

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.record.run_record import RunRecord

__all__ = ["RunConfig", "__version__", "run"]


def run(config: RunConfig | dict[str, Any] | None = None, *, resume: Path | None = None) -> RunRecord:
    """Run a comparison (a RunConfig, or the dict a run YAML holds; None: the defaults) and return its record, as
    `harness run` writes it to run.json. `resume`: a run folder to continue."""
    from harness.config import RunConfig, validate
    from harness.decide.recommend import read_run
    from harness.record.store import RunStore
    from harness.runs.runner import run as run_folder

    if not isinstance(config, RunConfig):
        config = validate(config or {}, source="run()")
    return read_run(RunStore(run_folder(config, resume=resume)))


def __getattr__(name: str) -> Any:
    if name == "RunConfig":  # imported on first use: `import harness.errors` stays light
        from harness.config import RunConfig

        return RunConfig
    raise AttributeError(f"module 'harness' has no attribute {name!r}")

"""Baselines: a finished run frozen as plain files a team can commit, for regression and drift checks.

baselines/<name>/
  baseline.json          name, source run, resolved config, task (incl. data fingerprint), model (incl. weights
                         fingerprint), per strategy its fingerprint and test-split metric summaries
  scores/<strategy>.jsonl  one line per test example: {"example_id", "scores": {metric: value}}
  inputs.jsonl           the test inputs: {"id", "input", "sha"} (sha of input and references: a changed example
                         with an unchanged id shows up), used by `harness drift`

The folder is `--dir`, else $HARNESS_BASELINES, else ./baselines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from harness.config import RunConfig
from harness.errors import HarnessError, field_problems, unknown_name
from harness.record.run_record import Environment, ModelInfo, TaskInfo
from harness.record.figures import RecordModel, Score
from harness.redact import redact_data
from harness.record.store import RunStore, safe_name, write_json
from harness.decide.recommend import read_run

BASELINE_SCHEMA = 1


def baselines_root(folder: Path | str | None = None) -> Path:
    return Path(folder or os.environ.get("HARNESS_BASELINES") or "baselines").expanduser()


def example_sha(text: str, reference: Any) -> str:
    return hashlib.sha256(json.dumps([text, reference], sort_keys=True).encode()).hexdigest()[:16]


class BaselineStrategy(RecordModel):
    """One strategy of a baseline: its fingerprint, its test-split metric summaries, and its scores file."""

    fingerprint: str | None = None
    metrics: dict[str, Score] = {}
    file: str


class BaselineRecord(RecordModel):
    """baseline.json: what check and drift compare against (the run's config, task, model and strategies)."""

    model_config = ConfigDict(populate_by_name=True)

    version: Literal[1] = Field(BASELINE_SCHEMA, alias="schema")
    name: str
    created: str | None = None
    source_run: str | None = None
    config: RunConfig
    task: TaskInfo
    model: ModelInfo
    environment: Environment = Field(default_factory=Environment)
    strategies: dict[str, BaselineStrategy]


@dataclass
class Baseline:
    path: Path
    record: BaselineRecord
    scores: dict[str, dict[str, dict[str, float]]]  # strategy -> example id -> metric -> value
    inputs: list[dict[str, str]]  # {"id", "input", "sha"} in test-split order

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def config(self) -> RunConfig:
        return self.record.config

    @property
    def strategies(self) -> list[str]:
        return list(self.record.strategies)

    @property
    def metrics(self) -> list[str]:
        return list(self.record.task.metrics)

    def test_ids(self) -> list[str]:
        return [row["id"] for row in self.inputs]


def save_baseline(run_dir: Path, name: str, folder: Path | str | None = None, *, overwrite: bool = False) -> Path:
    """Freeze a complete run as a baseline; the task is reloaded from the run's config and must match its
    data fingerprint, so the stored inputs are exactly the ones the run scored."""
    from harness.tasks.load import load_task

    if safe_name(name, 80) != name:
        raise HarnessError(f"Baseline name '{name}' is not a plain file name.",
                           hint="Use letters, digits, '-' and '_' only, e.g. summarization-main.")
    store = RunStore.open(run_dir)
    rec = read_run(store)
    if rec.status != "complete":
        raise HarnessError(f"{run_dir} is not a complete run (status: {rec.status}).",
                           hint="Finish it first: harness run --resume RUN_DIR.")
    config = rec.config
    task = load_task(config.task, config.data, limit=config.limit, seed=config.seed, test_ids=config.test_ids)
    if task.fingerprint() != rec.task.fingerprint:
        raise HarnessError(
            f"The task data changed since {run_dir} ran (fingerprint {task.fingerprint()} now, "
            f"{rec.task.fingerprint} then), so its test inputs cannot be stored faithfully.",
            hint="Re-run on the current data and save that run as the baseline.",
        )
    target = baselines_root(folder) / name
    if (target / "baseline.json").exists() and not overwrite:
        raise HarnessError(f"Baseline '{name}' already exists at {target}.", hint="Pick another --name or pass --force.")
    (target / "scores").mkdir(parents=True, exist_ok=True)
    for old in (target / "scores").glob("*.jsonl"):
        old.unlink()

    test = task.split("test")
    strategies: dict[str, BaselineStrategy] = {}
    for strategy in rec.names():
        result = rec.strategies[strategy]
        rows = {r["example_id"]: r["scores"] for r in store.read_predictions(strategy)}
        missing = [ex.id for ex in test if ex.id not in rows]
        if missing:
            raise HarnessError(f"{store.predictions_path(strategy)} lacks {len(missing)} test examples (e.g. {missing[0]}).",
                               hint="The run folder is incomplete; re-run it.")
        _write_lines(target / "scores" / f"{safe_name(strategy)}.jsonl",
                     [{"example_id": ex.id, "scores": rows[ex.id]} for ex in test])
        strategies[strategy] = BaselineStrategy(fingerprint=result.fingerprint, metrics=result.metrics["test"],
                                                file=f"scores/{safe_name(strategy)}.jsonl")
    _write_lines(target / "inputs.jsonl",
                 [{"id": ex.id, "input": ex.input, "sha": example_sha(ex.input, ex.reference)} for ex in test])
    env = rec.environment
    record = BaselineRecord(
        name=name, created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), source_run=rec.run_id,
        config=rec.config, task=rec.task, model=rec.model, strategies=strategies,
        environment=Environment(harness=env.harness, device=env.device, git_commit=env.git_commit))
    write_json(target / "baseline.json", record.model_dump(mode="json", by_alias=True))
    return target


def load_baseline(name: str, folder: Path | str | None = None) -> Baseline:
    root = baselines_root(folder)
    path = Path(name) if (Path(name) / "baseline.json").exists() else root / name
    if not (path / "baseline.json").exists():
        known = [b.name for b in list_baselines(folder)]
        if known:
            raise unknown_name("baseline", name, known)
        raise HarnessError(f"No baseline '{name}' under {root} (the folder holds no baselines).",
                           hint="Save one: harness baseline save RUN_DIR --name NAME (or point --dir / HARNESS_BASELINES at yours).")
    try:
        record = json.loads((path / "baseline.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"Cannot read {path / 'baseline.json'}: {exc}.") from exc
    if not isinstance(record, dict):
        raise HarnessError(f"{path / 'baseline.json'} holds a JSON {type(record).__name__}, not a baseline record.",
                           hint="Save the baseline again: harness baseline save RUN_DIR --name NAME.")
    if record.get("schema") != BASELINE_SCHEMA:
        raise HarnessError(f"{path / 'baseline.json'} has schema {record.get('schema')}, this harness reads {BASELINE_SCHEMA}.",
                           hint="Save the baseline again with this version.")
    try:
        parsed = BaselineRecord.model_validate(record)
    except ValidationError as exc:
        raise HarnessError(f"{path / 'baseline.json'}: {field_problems(exc)}.",
                           hint="Restore the file from version control, or save the baseline again.") from exc
    scores = {s: _read_scores(path / info.file) for s, info in parsed.strategies.items()}
    return Baseline(path, parsed, scores, list(_read_lines(path / "inputs.jsonl")))


def list_baselines(folder: Path | str | None = None) -> list[Baseline]:
    """The readable baselines (`scan_baselines` also returns the broken ones)."""
    return scan_baselines(folder)[0]


def scan_baselines(folder: Path | str | None = None) -> tuple[list[Baseline], dict[Path, str]]:
    """Every baseline under the folder: the readable ones, and each unreadable one's folder with what is wrong
    (one broken baseline does not hide the others)."""
    root = baselines_root(folder)
    if not root.is_dir():
        return [], {}
    found, broken = [], {}
    for p in sorted(root.glob("*/baseline.json")):
        try:
            found.append(load_baseline(p.parent.name, root))
        except HarnessError as exc:
            broken[p.parent] = exc.message
    return found, broken


def _write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("".join(json.dumps(redact_data(r), ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, path)


def _read_scores(path: Path) -> dict[str, dict[str, float]]:
    """A scores file, every row checked: an example id and finite numbers. A NaN, an infinity or a string such as
    "high" is an error naming the line, never a score the gate compares against."""
    scores: dict[str, dict[str, float]] = {}
    for number, row in _read_numbered(path):
        where = f"{path}:{number}"
        if not isinstance(row, dict) or not isinstance(row.get("example_id"), str) or not isinstance(row.get("scores"), dict):
            raise HarnessError(f"{where}: not a scores row (expected {{\"example_id\": ..., \"scores\": {{metric: value}}}}).",
                               hint="Restore the file from version control, or save the baseline again.")
        for metric, value in row["scores"].items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise HarnessError(f"{where}: the {metric} score of example {row['example_id']} is {json.dumps(value)}, "
                                   "not a finite number.",
                                   hint="Restore the file from version control, or save the baseline again.")
        scores[row["example_id"]] = {m: float(v) for m, v in row["scores"].items()}
    return scores


def _read_lines(path: Path):
    for _, row in _read_numbered(path):
        yield row


def _read_numbered(path: Path):
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HarnessError(f"Cannot read {path}: {exc.strerror}.", hint="The baseline folder is incomplete; save it again.") from exc
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise HarnessError(f"{path}:{number}: malformed JSON.", hint="Restore the file from version control.") from exc

"""The only code that reads and writes run folders: run.json (the record) and streamed predictions.

runs/<timestamp>_<task>_<id>/
  run.json                   schema version, config, environment, per-strategy results; written atomically
  predictions/<strategy>.jsonl           one line per test example, appended batch by batch
  predictions/<strategy>.<split>.jsonl   other splits (train sample, ood)
  judged/<strategy>.jsonl    a model judge's verdicts on the test examples (--judge), appended batch by batch
  artifacts/<strategy>/      adapters, indexes
  report.md, report.html
  .lock                      held (flock) by the process running or resuming the run; holds its pid
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError, write_failed
from harness.record.migrate import load
from harness.redact import redact_data
from harness.record.run_record import RunRecord


def safe_name(text: str, max_len: int = 40) -> str:
    """A file-system-safe slug: no path separators, no dots at the start, bounded length."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")
    return slug[:max_len] or "run"


def check_distinct_files(names: list[str]) -> None:
    """Every strategy writes its own predictions file and artifacts folder: names whose file names would be the same
    (they differ only in characters `safe_name` drops, or past its length) are an error, before any model work."""
    seen: dict[str, str] = {}
    for name in names:
        slug = safe_name(name)
        if slug in seen and seen[slug] != name:
            raise HarnessError(
                f"Strategies '{seen[slug]}' and '{name}' would write the same predictions file "
                f"(predictions/{slug}.jsonl): their names differ only in characters a file name cannot hold.",
                hint="Rename one of them (the model's name under `models:`) so they differ in letters, digits, "
                "'-' or '_'.")
        seen[slug] = name


def write_json(path: Path, data: Any) -> None:
    """Atomic: write a sibling temp file, fsync, then rename over the target. Results may hold NaN (a statistic of
    an empty sample; the reports print it as nan); user settings never hold NaN or infinity (the config rejects them)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    text = json.dumps(redact_data(data), indent=2, ensure_ascii=False, default=str) + "\n"
    try:
        with tmp.open("wb") as f:
            _write_bytes(f, text.encode("utf-8"))
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # a full disk leaves no temporary file behind; the old file is untouched
        raise write_failed(exc, path) from exc


def _write_bytes(f, data: bytes) -> None:
    """Write all of `data` (every file the harness streams goes through here)."""
    view = memoryview(data)
    while view:
        view = view[f.write(view):]


class RunStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._writers: dict[Path, str] = {}  # predictions file -> the strategy that appends to it

    @classmethod
    def create(cls, out: Path, task_name: str) -> "RunStore":
        out = Path(out)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = out / f"{stamp}_{safe_name(task_name)}_{secrets.token_hex(3)}"
        try:
            (path / "predictions").mkdir(parents=True)
            probe = path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise HarnessError(
                f"Cannot write the run folder under {out}: {exc.strerror}.",
                hint="Pass --out with a folder you can write to.",
            ) from exc
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> "RunStore":
        store = cls(path)
        if not store.record_path.exists():
            raise HarnessError(f"{path} is not a run folder (no run.json).", hint="Pass the folder `harness run` printed.")
        return store

    @property
    def record_path(self) -> Path:
        return self.path / "run.json"

    def read(self) -> RunRecord:
        """run.json, validated; an older schema version is migrated (harness.record.migrate)."""
        try:
            data = json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HarnessError(f"Cannot read {self.record_path}: {exc}.") from exc
        return load(data, str(self.record_path))

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder for this process (an exclusive flock on `.lock`, which records the pid): a second
        `harness run --resume` of the same folder, while this one runs, gets an error instead of redoing its work.
        The lock goes with the process, so a crash or SIGKILL never leaves a folder locked."""
        path = self.path / ".lock"
        f = path.open("a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                holder = f.read().strip() or "unknown"
                raise HarnessError(
                    f"{self.path} is in use by another harness process (pid {holder}).",
                    hint="Wait for it to finish, or stop it (Ctrl-C saves what it did) and then resume the folder.",
                ) from None
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
            yield
        finally:
            f.close()  # closing the file releases the lock

    def write(self, record: RunRecord) -> None:
        write_json(self.record_path, record.model_dump(mode="json"))

    def predictions_path(self, strategy: str, split: str = "test") -> Path:
        name = safe_name(strategy) + ("" if split == "test" else f".{safe_name(split)}")
        return self.path / "predictions" / f"{name}.jsonl"

    def append_predictions(self, strategy: str, split: str, rows: list[dict[str, Any]]) -> None:
        """Append a batch in one write (a kill leaves whole batches), after dropping a line a crash cut short."""
        self._append(self.predictions_path(strategy, split), strategy, rows, "predictions")

    def judged_path(self, strategy: str) -> Path:
        return self.path / "judged" / f"{safe_name(strategy)}.jsonl"

    def append_judged(self, strategy: str, rows: list[dict[str, Any]]) -> None:
        """The judge's verdicts on a batch of the strategy's test examples, appended as predictions are."""
        self._append(self.judged_path(strategy), strategy, rows, "judged verdicts")

    def read_judged(self, strategy: str) -> Iterator[dict[str, Any]]:
        return self._rows(self.judged_path(strategy), "judged row")

    def _append(self, path: Path, strategy: str, rows: list[dict[str, Any]], what: str) -> None:
        if self._writers.setdefault(path, strategy) != strategy:
            check_distinct_files([self._writers[path], strategy])
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(redact_data(row), ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        with path.open("ab", buffering=0) as f:
            end = f.seek(0, os.SEEK_END)
            if end:
                _drop_partial_last_line(f, path, end)
            start = f.seek(0, os.SEEK_END)
            try:
                _write_bytes(f, data)
                os.fsync(f.fileno())
            except OSError as exc:
                f.truncate(start)  # no half batch left: the saved rows are whole, a resume predicts the rest
                raise write_failed(exc, path, what) from exc

    def repair_predictions(self, strategy: str, split: str = "test") -> None:
        """Drop a last line a crash cut short (a resumed run calls this before it continues a split)."""
        path = self.predictions_path(strategy, split)
        if path.exists() and path.stat().st_size:
            with path.open("rb+") as f:
                _drop_partial_last_line(f, path, path.stat().st_size)

    def read_predictions(self, strategy: str, split: str = "test") -> Iterator[dict[str, Any]]:
        return self._rows(self.predictions_path(strategy, split), "prediction row")

    @staticmethod
    def _rows(path: Path, what: str) -> Iterator[dict[str, Any]]:
        """Saved rows. A last line cut short by a crash mid-write is skipped (it will be recomputed); any other
        line that is not a row (malformed JSON, `null`, an object without `example_id`) is an error naming the
        file and line: something other than the harness wrote it, and guessing what it meant could lose a row."""
        if not path.exists():
            return
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.endswith("\n"):
                    return  # cut short by a crash: recomputed on resume
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None
                if not isinstance(row, dict) or not isinstance(row.get("example_id"), str):
                    raise HarnessError(
                        f"{path}:{number}: not a {what} (expected a JSON object with example_id, output, "
                        f"scores; found {line.strip()[:60]!r}).",
                        hint="Delete that line and resume the run: the example it stood for is predicted again.",
                    )
                yield row

    def check_predictions(self) -> None:
        """Read every saved prediction file through (a resumed run does this before it loads the model)."""
        for path in sorted((self.path / "predictions").glob("*.jsonl")):
            strategy, _, split = path.stem.partition(".")
            for _ in self.read_predictions(strategy, split or "test"):
                pass

    def artifacts(self, strategy: str, *, create: bool = True) -> Path:
        """The strategy's artifacts folder (made unless `create` is false: a strategy that saves nothing leaves none)."""
        path = self.path / "artifacts" / safe_name(strategy)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path


def _drop_partial_last_line(f, path: Path, end: int) -> None:
    """A line without its newline is a write cut short by a crash: truncate it, so the next batch starts clean."""
    with path.open("rb") as r:
        pos = end
        while pos > 0:
            step = min(pos, 1 << 16)
            r.seek(pos - step)
            chunk = r.read(step)
            if pos == end and chunk.endswith(b"\n"):
                return
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                f.truncate(pos - step + cut + 1)
                return
            pos -= step
    f.truncate(0)

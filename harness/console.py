"""The one rich console (stderr, so stdout stays clean for piping) and the progress bar style.

rich reads `[...]` as markup: a user string (a path, a task or model name, an error message quoting one) must go
through `escape` before it is printed, or `set[red]/x` loses its brackets and `[/]` crashes the printer. `error`
does it for every error the CLI reports. Everything the console prints passes through `harness.redact` (no API
key, no URL credentials), before it is rendered and again as the text that reaches the terminal.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from harness.redact import redact


class RedactingConsole(Console):
    """A rich console that never prints a registered secret or a URL's credentials."""

    def print(self, *objects, **kwargs) -> None:  # type: ignore[override]
        super().print(*(redact(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def _render_buffer(self, buffer) -> str:  # the text written to the terminal (tables, progress, markup)
        return redact(super()._render_buffer(buffer))

    def status(self, status, **kwargs):  # type: ignore[override]
        """A spinner in a terminal; in a log (CI, nohup, a notebook), where a spinner shows nothing, one line."""
        if self.is_terminal:
            return super().status(status, **kwargs)
        self.print(status)
        return nullcontext()


console = RedactingConsole(stderr=True)

__all__ = ["console", "error", "escape", "progress"]


def error(message: str, hint: str = "", label: str = "Error") -> None:
    """An error the user can fix, with what to do: both printed verbatim (markup in them is escaped)."""
    console.print(f"[bold red]{label}:[/] {escape(message)}")
    if hint:
        console.print(f"  [yellow]->[/] {escape(hint)}")


LINE_EVERY = 30.0  # seconds between progress lines in a log


class LineProgress(Progress):
    """Progress for a log, where a live bar would print nothing until it ends: the same tasks and updates, shown
    as a line per task at most every LINE_EVERY seconds, and when it completes: counts, rate, elapsed, ETA."""

    def __init__(self, *columns, **kwargs):
        super().__init__(*columns, **kwargs, disable=True)  # tracks the tasks, draws nothing
        self._printed: dict[TaskID, float | None] = {}

    def add_task(self, *args, **kwargs) -> TaskID:
        task_id = super().add_task(*args, **kwargs)
        self._printed[task_id] = time.monotonic()
        return task_id

    def update(self, task_id: TaskID, **kwargs) -> None:
        super().update(task_id, **kwargs)
        task, now, last = self._tasks[task_id], time.monotonic(), self._printed[task_id]
        if last is not None and (task.finished or now - last >= LINE_EVERY):
            self._printed[task_id] = None if task.finished else now  # None: its last line is printed
            console.print(self._line(task), markup=False, highlight=False)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    @staticmethod
    def _line(task) -> str:
        total = f"/{task.total:.0f} ({task.percentage:.0f}%)" if task.total else ""
        fields = [f"{k} {v}" if k != "rate" else str(v) for k, v in task.fields.items() if v not in ("", "-")]
        eta = f"eta {task.time_remaining:.0f} s" if task.time_remaining is not None and not task.finished else ""
        parts = [f"{task.completed:.0f}{total}", *fields, f"{task.elapsed or 0:.0f} s elapsed", eta]
        return f"{task.description}: " + " · ".join(p for p in parts if p)


def progress(*columns: ProgressColumn, disable: bool = False) -> Progress:
    """A bar in a terminal, progress lines in a log. `columns`: what a bar shows after the description, bar and
    counts (default: the task's `rate` field, elapsed time and ETA)."""
    columns = columns or (TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"),
                          TimeRemainingColumn())
    if not console.is_terminal and not disable:
        return LineProgress(console=console)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), *columns,
                    console=console, transient=False, disable=disable)

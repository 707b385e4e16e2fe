"""The one rich console (stderr, so stdout stays clean for piping) and the progress bar style.

rich reads `[...]` as markup: a user string (a path, a task or model name, an error message quoting one) must go
through `escape` before it is printed, or `set[red]/x` loses its brackets and `[/]` crashes the printer. `error`
does it for every error the CLI reports. Everything the console prints passes through `harness.redact` (no API
key, no URL credentials), before it is rendered and again as the text that reaches the terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.redact import redact


class RedactingConsole(Console):
    """A rich console that never prints a registered secret or a URL's credentials."""

    def print(self, *objects, **kwargs) -> None:  # type: ignore[override]
        super().print(*(redact(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def _render_buffer(self, buffer) -> str:  # the text written to the terminal (tables, progress, markup)
        return redact(super()._render_buffer(buffer))


console = RedactingConsole(stderr=True)

__all__ = ["console", "error", "escape", "progress"]


def error(message: str, hint: str = "", label: str = "Error") -> None:
    """An error the user can fix, with what to do: both printed verbatim (markup in them is escaped)."""
    console.print(f"[bold red]{label}:[/] {escape(message)}")
    if hint:
        console.print(f"  [yellow]->[/] {escape(hint)}")


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )

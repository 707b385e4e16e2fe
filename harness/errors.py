"""One error type for problems the user can fix: what went wrong, where, and what to do."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from pydantic import ValidationError


class HarnessError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message


def unknown_name(kind: str, name: str, known: list[str]) -> HarnessError:
    """An error for a misspelt task, strategy or metric name that suggests the close ones."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return HarnessError(f"Unknown {kind} '{name}'.", hint=hint + f"Known {plural(kind)}: {', '.join(sorted(known))}.")


def plural(noun: str) -> str:
    """strategy -> strategies, task -> tasks, baseline -> baselines."""
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def write_failed(exc: OSError, path, what: str = "", hint: str = "") -> HarnessError:
    """A write that failed (a full disk above all): the error names the path and says what to do."""
    import errno

    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    why = "no space left on the device" if full else (exc.strerror or str(exc))
    default = ("Free space on that disk (or write elsewhere: --out, HARNESS_CACHE, HARNESS_MODELS), then run again; "
               "`harness run --resume RUN_DIR` continues a run where it stopped." if full else
               "Check that the folder exists and can be written, then run again.")
    return HarnessError(f"Cannot write {path}{f' ({what})' if what else ''}: {why}.", hint=hint or default)


def field_problems(exc: ValidationError, *, name: Callable[[tuple], str] | None = None, limit: int = 5) -> str:
    """A pydantic validation error in a reader's words, one wording wherever it comes from: "field 'a.b' is
    missing", "field 'a.b' is unknown" (a key the model does not declare), "field 'a.b': <why the value is wrong>".
    `name` says how a location is called where "field 'a.b'" is not its name (a command-line flag)."""
    label = name or field_name
    out = []
    for e in exc.errors()[:limit]:
        where = label(tuple(e["loc"]))
        out.append(f"{where} is missing" if e["type"] == "missing" else
                   f"{where} is unknown" if e["type"] == "extra_forbidden" else f"{where}: {e['msg']}")
    more = f" (and {exc.error_count() - limit} more)" if exc.error_count() > limit else ""
    return "; ".join(out) + more


def field_name(loc: tuple) -> str:
    """How field_problems names a location: "field 'a.b'"."""
    return f"field '{'.'.join(str(p) for p in loc) or '(top level)'}'"

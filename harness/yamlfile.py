"""Reading a YAML settings file (run.yaml, task.yaml, suites.yaml) with errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"Cannot read config file {path}: {exc.strerror}.", hint="Check the --config path.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise HarnessError(f"Invalid YAML in {where}: {getattr(exc, 'problem', exc)}.", hint="Fix the YAML syntax.") from exc
    if data is None and not _has_content(text):
        return {}  # an empty file (or only comments): no settings
    if not isinstance(data, dict):
        shown = "an empty document" if data is None else f"{type(data).__name__} {str(data)[:40]!r}"
        raise HarnessError(f"{path} must hold a mapping of settings (key: value lines), not {shown}.",
                           hint="Write one setting per line, e.g. `task: summarization`.")
    return data


def _has_content(text: str) -> bool:
    """Anything besides blank lines and comments (a lone `---`, `null` or `~` is content: an empty document)."""
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())

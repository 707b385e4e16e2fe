"""Markdown text from data: every table in report.md and suite.md is built by `table`, which keeps each row on one
line and one cell per column whatever a dataset or model wrote (newlines, `|`, HTML tags)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from harness.units import fmt_number

TEXT_LIMIT = 300
MARKUP = re.compile(r"<(?=[A-Za-z/!?])")  # a "<" that could open an HTML tag, comment or declaration


def inline(value: object, width: int | None = None) -> str:
    """One line of Markdown prose: whitespace collapsed, clipped to `width` characters, raw HTML made inert
    ("<0.001" stays as it is)."""
    text = " ".join(str(value).split())
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return MARKUP.sub("&lt;", text)


def cell(value: object, width: int | None = None) -> str:
    """A table cell: `inline`, with `|` escaped so that it cannot open a column."""
    return inline(value, width).replace("|", "\\|")


def table(headers: Iterable[object], rows: Iterable[Iterable[object]], width: int | None = None) -> list[str]:
    """A Markdown table as lines. Every header and cell goes through `cell` (clipped to `width` characters): pass
    raw values, not escaped text."""
    headers = [cell(h) for h in headers]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [cell(c, width) for c in row]
        if len(cells) != len(headers):
            raise ValueError(f"a table row has {len(cells)} cells for {len(headers)} columns: {cells}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


class Interval(Protocol):
    """A figure with its 95% CI: a Score, a Difference, a win rate."""

    value: float
    ci_low: float
    ci_high: float


def fmt_score(s: Interval | None, signed: bool = False) -> str:
    """A mean with its 95% CI, "0.412 [0.350, 0.470]"; signed for differences, "+0.040 [-0.010, +0.090]"."""
    if s is None:
        return "–"
    return (f"{fmt_number(s.value, signed=signed)} [{fmt_number(s.ci_low, signed=signed)}, "
            f"{fmt_number(s.ci_high, signed=signed)}]")

"""The reports' sentences, written from the record's numbers (the record itself holds no English)."""

from __future__ import annotations

import math
from typing import Any

from harness.units import fmt_count


def period(months: float) -> str:
    """How long a number of months is, in the unit a reader would use: under a day, 12 days, 3.5 months, 2.1 years."""
    days = months * 30.4
    if days < 1:
        return "under a day"
    if months < 1:
        return f"{math.ceil(days)} days"
    return f"{months:.1f} months" if months < 24 else f"{months / 12:,.1f} years"


def break_even(b: dict[str, Any]) -> str:
    """One pair of the cost ledger's break-even list: when the dearer setup is repaid, or that it never needs to be."""
    if b["queries"] is None:
        other = b["pair"][0] if b["dominant"] == b["pair"][1] else b["pair"][1]
        return f"{b['dominant']} is at least as cheap as {other} to set up and per query: no break-even."
    dearer = f"{b['upfront']} costs more to set up than {b['other']} and less per query: it pays off"
    if b["queries"] < 1:
        return f"{dearer} from the first query."
    months = f" ({period(b['months'])} at the expected volume)" if b.get("months") is not None else ""
    return f"{dearer} after {fmt_count(math.ceil(b['queries']))} queries{months}."

"""How numbers print for people: dollars as dollars, counts as whole numbers, scores without a "-0.000".
Never scientific notation: "$0.000000035", not "$3.5e-08"."""

from __future__ import annotations

import math


def fmt_number(x: float | None, digits: int = 3, signed: bool = False) -> str:
    """Fixed-point with `digits` decimals; a value that rounds to zero prints as zero, never "-0.000"."""
    if x is None or math.isnan(x):
        return "–"
    rounded = round(x, digits) + 0.0  # adding 0.0 turns -0.0 into 0.0
    return f"{rounded:+.{digits}f}" if signed else f"{rounded:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """A p-value to two significant digits, and "<0.001" below that."""
    if p is None or math.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.2g}"


def fmt_dollars(x: float | None) -> str:
    """$1,234 from a thousand up, $0.12 from a cent up, and two significant digits below a cent ($0.000041)."""
    if x is None or math.isnan(x):
        return "–"
    sign, x = ("-" if x < 0 else ""), abs(x)
    if round(x, 2) >= 1000:
        text = f"{x:,.0f}"
    elif round(x, 2) >= 0.01:
        text = f"{x:,.2f}"
    elif x == 0:
        return "$0"
    else:
        decimals = 1 - math.floor(math.log10(x))  # two significant digits
        text = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{sign}${text}"


def fmt_count(x: float | None) -> str:
    """A whole number below ten thousand (1.4 prints as 1, 1234.5 as 1,234), then three significant digits with
    k, M or B (12.3k, 4.5M)."""
    if x is None or math.isnan(x):
        return "–"
    if abs(x) < 9999.5:
        return f"{round(x):,}"
    # the largest unit it reaches; 999,600 rounds to 1M, not 1,000k
    unit, size = next((u, s) for u, s in (("B", 1e9), ("M", 1e6), ("k", 1e3)) if abs(x) >= s * 0.9995)
    scaled = x / size
    return f"{scaled:,.0f}{unit}" if abs(scaled) >= 99.95 else f"{scaled:.3g}{unit}"

"""harness.units: dollars as dollars, counts as whole numbers, and no "-0.000"."""

import pytest

from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p


@pytest.mark.parametrize("x, text", [
    (0, "$0"), (-0.0, "$0"), (3.5e-08, "$0.000000035"), (4e-05, "$0.00004"), (4.123e-05, "$0.000041"),
    (0.009999, "$0.01"), (0.123, "$0.12"), (12.3, "$12.30"), (999.996, "$1,000"), (1234.5, "$1,234"),
    (2_500_000, "$2,500,000"), (-0.12, "-$0.12"), (-3.5e-08, "-$0.000000035"), (None, "–"), (float("nan"), "–"),
])
def test_dollars_print_as_dollars(x, text):
    assert fmt_dollars(x) == text
    assert "e-" not in fmt_dollars(x) and "e+" not in fmt_dollars(x)


@pytest.mark.parametrize("x, text", [
    (0, "0"), (3.11e-05, "0"), (1.4, "1"), (999.6, "1,000"), (1234.5, "1,234"), (9999.4, "9,999"), (9999.6, "10k"),
    (99_960, "100k"), (999_400, "999k"), (999_600, "1M"), (3.11e6, "3.11M"), (2e9, "2B"), (1e13, "10,000B"),
    (-2500, "-2,500"), (-25_000, "-25k"), (None, "–"),
])
def test_counts_are_whole_and_readable(x, text):
    assert fmt_count(x) == text


@pytest.mark.parametrize("x, signed, text", [
    (-0.0001, False, "0.000"), (-0.0001, True, "+0.000"), (-0.0, False, "0.000"), (-0.0006, True, "-0.001"),
    (0.0004, True, "+0.000"), (1.23456, False, "1.235"), (None, False, "–"),
])
def test_numbers_never_print_negative_zero(x, signed, text):
    assert fmt_number(x, signed=signed) == text


def test_p_values():
    assert (fmt_p(0.0004), fmt_p(0.0123), fmt_p(0.5), fmt_p(None)) == ("<0.001", "0.012", "0.5", "–")

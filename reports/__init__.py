"""Rendering: run records (read through harness.record.store only) to report.md and report.html."""

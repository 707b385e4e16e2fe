"""Rendering: run records (read through harness.store only) to report.md and report.html."""

"""harness: should you prompt, retrieve, or fine-tune? Measured, with evidence."""

__version__ = "0.1.0"
SCHEMA_VERSION = 2  # of run.json (harness.record); older versions are migrated by harness.migrate

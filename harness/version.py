"""The harness's version, recorded in every run.json's environment."""

__version__ = "0.1.0"

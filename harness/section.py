"""The base of every config section: unknown keys and inf/nan are errors."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf/nan are typos, and invalid JSON in run.json

    # A strategy's own section registers under `name` (its key in the run YAML, `harness.registry.settings`);
    # an `optional` one is absent (None) unless given, as `search:` is.
    name: ClassVar[str] = ""
    optional: ClassVar[bool] = False


DEVICE_PATTERN = r"auto|cpu|cuda|cuda:\d+|mps"
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

"""The base of every config section: unknown keys and inf/nan are errors."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf/nan are typos, and invalid JSON in run.json


DEVICE_PATTERN = r"auto|cpu|cuda|cuda:\d+|mps"
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

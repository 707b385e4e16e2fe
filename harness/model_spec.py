"""One named model of a run (`models:` in the YAML): its backend, where it is, and what it costs.

Each backend declares its own spec (a `ModelSpec` subclass in its module of harness/backends, registered with
`@backends.add` under its `backend` name) with the fields it takes and how it loads; a `models:` entry is validated
as the spec of the backend it names (hf when it names none), so a new backend is one module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, model_validator

from harness.registry import backends
from harness.section import Section

if TYPE_CHECKING:
    from harness.backends.base import Backend
    from harness.config import RunConfig


class ModelPrices(Section):
    """What one model costs: per million tokens for an API, or per hour for a machine you run it on (None: the
    decision's cpu/gpu hourly prices, by the device it ran on)."""

    input_per_mtok: float | None = Field(None, ge=0, description="$ per 1M prompt tokens (an API)")
    output_per_mtok: float | None = Field(None, ge=0, description="$ per 1M completion tokens (an API)")
    per_hour: float | None = Field(None, ge=0, description="$ per hour of the machine serving it (self-hosted)")


# Run records written before each backend had its own spec kept every backend's fields on every model, at these
# defaults: read back, the ones another backend takes are dropped where they hold that default.
_OLD_DEFAULTS = {"base_url": None, "api_key_env": None, "api": "completions", "tokenizer": None, "concurrency": 8,
                "timeout": 60.0, "max_retries": 4, "dtype": "auto", "kv_cache_gb": 2.0, "engine_args": {}}


class ModelSpec(Section):
    """One named model of a run (`models:` in the YAML); a strategy runs on it with `--strategies NAME@MODEL`."""

    in_process: ClassVar[bool] = False  # the weights live in this process: a strategy may train or read them
    serves_trained: ClassVar[bool] = False  # it can serve weights a strategy trained in the run (vllm)

    backend: str = Field("hf", description="a registered backend: hf (in-process transformers), vllm (vLLM's "
                         "offline engine) or openai (an OpenAI-compatible endpoint)")
    id: str | None = Field(None, description="HF id or local directory (None: the offline default); openai: the "
                           "model name the endpoint serves")
    context_length: int | None = Field(None, ge=16, description="the model's window (None: ask the server or model)")
    prices: ModelPrices = Field(default_factory=ModelPrices)

    @model_validator(mode="wrap")
    @classmethod
    def _as_its_backend(cls, data: Any, handler):
        """A `models:` entry is the spec of the backend it names."""
        if cls is not ModelSpec or not isinstance(data, dict):
            return handler(data)
        kind = data.get("backend", "hf")
        if kind not in backends.names():
            raise ValueError(f"unknown backend {kind!r}; use one of {', '.join(backends.names())}")
        spec = backends.get(kind)
        data = {k: v for k, v in data.items() if k in spec.model_fields or _OLD_DEFAULTS.get(k, ...) != v}
        return spec.model_validate(data)

    def load(self, config: RunConfig, *, label: str) -> Backend:
        """The backend, loaded (`label`: the model's name in the run, for messages)."""
        raise NotImplementedError

    def check(self, where: str) -> None:
        """Before the run folder is made and any model loads: raise a HarnessError for what cannot work."""

    def packages(self) -> list[str]:
        """The client libraries run.json's environment records for it."""
        return []

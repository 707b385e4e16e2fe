"""One named model of a run (`models:` in the YAML): its backend, where it is, and what it costs."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from harness.section import ENV_NAME, Section


class ModelPrices(Section):
    """What one model costs: per million tokens for an API, or per hour for a machine you run it on (None: the
    decision's cpu/gpu hourly prices, by the device it ran on)."""

    input_per_mtok: float | None = Field(None, ge=0, description="$ per 1M prompt tokens (an API)")
    output_per_mtok: float | None = Field(None, ge=0, description="$ per 1M completion tokens (an API)")
    per_hour: float | None = Field(None, ge=0, description="$ per hour of the machine serving it (self-hosted)")


class ModelSpec(Section):
    """One named model of a run (`models:` in the YAML); a strategy runs on it with `--strategies NAME@MODEL`."""

    backend: Literal["hf", "vllm", "openai"] = Field("hf", description="in-process transformers, vLLM's offline "
                                                      "engine, or an OpenAI-compatible endpoint")
    id: str | None = Field(None, description="hf/vllm: HF id or local directory (None: the offline default); "
                           "openai: the model name the endpoint serves")
    base_url: str | None = Field(None, description="openai: the endpoint, e.g. http://127.0.0.1:8000/v1")
    api_key_env: str | None = Field(None, description="openai: the environment variable holding the API key "
                                    "(None: no key, for local servers)")
    api: Literal["completions", "chat"] = Field("completions", description="openai: completions (the harness "
                                                "renders the chat with `tokenizer`; scores log-likelihoods where the "
                                                "server can) or chat (the server renders; no log-likelihoods)")
    tokenizer: str | None = Field(None, description="openai completions: HF id or directory of the served model's "
                                  "tokenizer (None: `id`, if it is one; 'default': the offline default model's)")
    concurrency: int = Field(8, ge=1, le=256, description="openai: requests in flight")
    timeout: float = Field(60.0, gt=0, description="openai: seconds per request")
    max_retries: int = Field(4, ge=0, le=20, description="openai: retries on 429, 5xx, timeouts, malformed replies")
    context_length: int | None = Field(None, ge=16, description="the model's window (None: ask the server or model)")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="vllm: auto = float32 on "
                                                                      "a CPU, bfloat16 on a GPU")
    kv_cache_gb: float = Field(2.0, gt=0, description="vllm on a CPU: GiB set aside for the KV cache")
    engine_args: dict[str, Any] = Field(default_factory=dict, description="vllm: more vllm.LLM arguments")
    prices: ModelPrices = Field(default_factory=ModelPrices)

    @field_validator("api_key_env")
    @classmethod
    def _a_variable_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(ENV_NAME, v):  # a pasted key: never echo it
            raise ValueError(f"api_key_env must name an environment variable (letters, digits, _; it was {len(v)} "
                             "characters that are not one: a key pasted in place of a name?); put the key in a "
                             "variable (export MY_API_KEY=...) and give its name, api_key_env: MY_API_KEY")
        return v

    @model_validator(mode="after")
    def _openai_needs_url(self) -> "ModelSpec":
        if self.backend == "openai" and not (self.base_url and self.id):
            raise ValueError("an openai model needs base_url (e.g. http://127.0.0.1:8000/v1) and id (the served "
                             "model's name)")
        return self

"""Model backends: `hf` (in-process transformers), `vllm` (vLLM's offline engine), `openai` (any OpenAI-compatible
endpoint). Each module declares its spec (`harness.model_spec.ModelSpec`, registered under its `backend` name),
which loads it; `load_backend` is the one call that does (tests replace it to show nothing loads)."""

from __future__ import annotations

from harness.backends.base import Backend
from harness.config import ModelSpec, RunConfig


def load_backend(spec: ModelSpec, config: RunConfig, *, label: str = "base") -> Backend:
    return spec.load(config, label=label)

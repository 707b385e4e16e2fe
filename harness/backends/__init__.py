"""Model backends: `hf` (in-process transformers), `vllm` (vLLM's offline engine), `openai` (any OpenAI-compatible
endpoint). `load_backend` makes one from a `ModelSpec` (a named model of the run's `models:`)."""

from __future__ import annotations

from harness.backends.base import Backend
from harness.config import ModelSpec, RunConfig
from harness.errors import HarnessError


def load_backend(spec: ModelSpec, config: RunConfig, *, label: str = "base") -> Backend:
    from harness.backends.hf import load_generator, resolve

    if spec.backend == "hf":
        return load_generator(spec.id, device=config.device, trust_remote_code=config.trust_remote_code,
                              allow_pickle=config.allow_pickle)
    if spec.backend == "vllm":
        from harness.backends.vllm import VLLMBackend

        resolved = resolve(spec.id)
        return VLLMBackend(resolved.name, resolved.path, dtype=spec.dtype, seed=config.seed,
                           trust_remote_code=config.trust_remote_code, max_model_len=spec.context_length,
                           kv_cache_gb=spec.kv_cache_gb, engine_args=spec.engine_args)
    from harness.backends.openai import OpenAIBackend

    tokenizer = _tokenizer(spec, config, label) if spec.api == "completions" else None
    return OpenAIBackend(spec.id or "", spec.base_url or "", api=spec.api, tokenizer=tokenizer,
                         api_key_env=spec.api_key_env, concurrency=spec.concurrency, timeout=spec.timeout,
                         max_retries=spec.max_retries, context_length=spec.context_length)


def _tokenizer(spec: ModelSpec, config: RunConfig, label: str):
    """The served model's tokenizer, to render its chat template exactly as an in-process backend would."""
    from transformers import AutoTokenizer

    from harness.backends.hf import resolve

    name = spec.tokenizer or spec.id
    try:
        resolved = resolve(name)
        return AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=config.trust_remote_code)
    except (HarnessError, OSError, ValueError) as exc:
        raise HarnessError(
            f"Model '{label}' (openai, api: completions) needs the served model's tokenizer to render prompts, and "
            f"'{name}' could not be loaded as one: {getattr(exc, 'message', exc)}",
            hint=f"Set models.{label}.tokenizer to an HF id or a local directory with the tokenizer files "
                 "('default' for the offline default model), or use api: chat to let the server render.",
        ) from exc

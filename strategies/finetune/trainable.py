"""The trainable model of each fine-tuning method (a copy of the base: the base is never touched), its default
learning rate, and what is measured of it afterwards (a fingerprint of its trained weights, the memory it took)."""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from strategies.finetune.settings import FinetuneConfig
from strategies.finetune.peft_methods import PEFT_METHODS, peft_config

DEFAULT_LR = {"lora": 1e-3, "ia3": 5e-3, "prompt-tuning": 3e-2, "freeze": 1e-4, "full": 2e-5, "continued-pretraining": 5e-5}

# LoRA targets per architecture (config.model_type): attention and MLP projections, as in QLoRA.
LORA_TARGETS = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    "opt": ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
    "falcon": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
}


def lora_targets(model, configured: list[str] | None) -> list[str] | str:
    if configured:
        return configured
    return LORA_TARGETS.get(getattr(model.config, "model_type", ""), "all-linear")


def blocks_of(model):
    """The transformer blocks: the ModuleList holding num_hidden_layers layers."""
    import torch

    n = getattr(model.config, "num_hidden_layers", None)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n and n:
            return name, module
    raise ValueError(f"cannot find the transformer blocks of {type(model).__name__}")


def trainable_copy(base_model, method: str, cfg: FinetuneConfig) -> tuple[Any, dict[str, Any]]:
    """A deep copy of the base, set up for `method`: a PEFT wrapper, all weights, or only the top blocks; and the
    settings to record."""
    import torch

    model = copy.deepcopy(base_model)
    notes: dict[str, Any] = {}
    if method in PEFT_METHODS or (method == "continued-pretraining" and cfg.pretraining_weights == "lora"):
        from peft import get_peft_model

        peft_method = method if method in PEFT_METHODS else "lora"
        config, notes = peft_config(peft_method, model, cfg, lora_targets(model, cfg.lora_target_modules))
        model = get_peft_model(model, config)
    elif method == "freeze":
        notes["freeze"] = train_top_blocks_only(model, cfg.freeze_train_blocks)
    else:  # full, continued-pretraining with full weights
        for p in model.parameters():
            p.requires_grad = True
    if torch.cuda.is_available() and next(model.parameters()).is_cuda:
        for p in model.parameters():  # master weights in fp32; bf16 comes from autocast
            if p.requires_grad:
                p.data = p.data.float()
    return model, notes


def train_top_blocks_only(model, top: int) -> dict[str, Any]:
    """Transfer learning: only the top `top` blocks, the final norm and an untied head train."""
    name, blocks = blocks_of(model)
    top = min(top, len(blocks))
    train_prefixes = [f"{name}.{i}." for i in range(len(blocks) - top, len(blocks))]
    head = model.get_output_embeddings()
    tied = head is not None and head.weight is model.get_input_embeddings().weight
    for pname, p in model.named_parameters():
        in_top = any(pname.startswith(pre) for pre in train_prefixes)
        final_norm = not pname.startswith(name + ".") and re.search(r"(^|\.)(norm|ln_f|final_layer_norm)\.", pname)
        p.requires_grad = bool(in_top or final_norm)
    if head is not None and not tied:
        head.weight.requires_grad = True
    return {"trained_blocks": top, "total_blocks": len(blocks),
            "head": "tied to the input embeddings: kept frozen" if tied else "trained"}


def is_peft(model) -> bool:
    return hasattr(model, "peft_config")


def state_fingerprint(state: dict[str, Any], *salt: str) -> str:
    """Hash of the salt and every tensor's bytes: identical trained weights give identical fingerprints."""
    import torch

    h = hashlib.sha256("|".join(salt).encode())
    for k, v in sorted(state.items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def peak_memory() -> tuple[float, str]:
    """The peak memory so far in MB, and what was measured: CUDA's max allocated, else the process's peak RSS."""
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda max allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process peak RSS"

"""The PEFT methods behind the `lora` strategy family (`finetune.method`): LoRA, IA3 and prompt tuning, all trained
by the one loop in strategies/finetune/trainer.py, and the form each is served in.

- `lora`: low-rank updates of the attention and MLP projections; merged into a copy of the weights for serving
  (`finetune.merge: true`, the default) or served unmerged through the PeftModel (multi-adapter serving).
- `ia3`: learned scaling vectors on the keys, values and MLP down projection (~0.01% of the weights); merged or
  unmerged alike.
- `prompt-tuning`: `prompt_tokens` trained virtual-token embeddings before every prompt, initialised from the
  task's instruction. Nothing can be merged: it is served as the frozen base model with the virtual tokens' keys and
  values prefilled once per batch (`VirtualPromptLM`), so generation, log-likelihood scoring and the probes all run
  through the same paths as every other strategy.
"""

from __future__ import annotations

from typing import Any

from harness.backends.hf import ModelHandle, wrap
from strategies.finetune.virtual_prompt import VirtualPromptLM

PEFT_METHODS = ("lora", "ia3", "prompt-tuning")


def peft_config(method: str, model, cfg, targets) -> tuple[Any, dict[str, Any]]:
    """The peft config of `method` and the settings to record. `targets`: LoRA's target modules."""
    from peft import IA3Config, LoraConfig, PromptTuningConfig

    if method == "ia3":
        config = IA3Config(task_type="CAUSAL_LM", target_modules=cfg.ia3_target_modules,
                           feedforward_modules=cfg.ia3_feedforward_modules)
        return config, {"ia3": {"target_modules": cfg.ia3_target_modules or "peft default for the architecture",
                                "feedforward_modules": cfg.ia3_feedforward_modules or "peft default"}}
    if method == "prompt-tuning":
        config = PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=cfg.prompt_tokens)
        return config, {"prompt_tuning": {"virtual_tokens": cfg.prompt_tokens, "init": "the task instruction's tokens"}}
    config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                        target_modules=targets, task_type="CAUSAL_LM")
    return config, {"lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "dropout": cfg.lora_dropout,
                             "target_modules": targets}}


def init_virtual_tokens(model, tokenizer, text: str) -> None:
    """Prompt tuning's text initialisation without a tokenizer path: the virtual tokens start as the embeddings of
    `text`'s tokens (cycled to length), which trains faster and more stably than random vectors."""
    import torch

    ids = tokenizer(text or "Answer the question.", add_special_tokens=False)["input_ids"] or [tokenizer.eos_token_id]
    table = model.prompt_encoder[model.active_adapter].embedding.weight
    n = table.shape[0]
    ids = (ids * (n // len(ids) + 1))[:n]
    with torch.no_grad():
        words = model.get_base_model().get_input_embeddings().weight[torch.tensor(ids, device=table.device)]
        table.copy_(words.to(table.dtype))


def is_prompt_learning(model) -> bool:
    config = getattr(model, "active_peft_config", None)
    return bool(getattr(config, "is_prompt_learning", False))


def inference_view(model):
    """What generates with a model in training: prompt-tuned PeftModels through VirtualPromptLM (the served
    form), every other model as it is."""
    if is_prompt_learning(model):
        return VirtualPromptLM(model.get_base_model(), model.get_prompt_embedding_to_save(model.active_adapter))
    return model


def deployable(model, base: ModelHandle, method: str, *, merge: bool) -> ModelHandle:
    """The trained PeftModel in the form it is served and measured in."""
    name = f"{base.name}+{method}"
    if is_prompt_learning(model):
        served = VirtualPromptLM(model.get_base_model(), model.get_prompt_embedding_to_save(model.active_adapter))
    elif merge:
        served = merged_copy(model)
    else:
        served = model
        for p in served.parameters():
            p.requires_grad_(False)
    served.eval()
    return wrap(served, base.tokenizer, name=name, source="trained", device=base.device)


def merged_copy(model):
    """merge_and_unload, then the plain weights a base model has: frozen and contiguous."""
    merged = model.merge_and_unload()
    for p in merged.parameters():
        p.requires_grad_(False)
        if not p.is_contiguous():
            p.data = p.data.contiguous()
    return merged


def deployment_form(model, merge: bool) -> str:
    if is_prompt_learning(model):
        return "virtual-prompt"  # cannot be merged: the base weights plus prefilled virtual tokens
    return "merged" if merge else "unmerged"


def load_adapter(base: ModelHandle, folder) -> ModelHandle:
    """A saved adapter (LoRA, IA3, prompt tuning) on a copy of the base, served as after training (merged where
    it can be): the same predictions."""
    import copy

    from peft import PeftModel

    model = PeftModel.from_pretrained(copy.deepcopy(base.model), str(folder))
    return deployable(model, base, "adapter", merge=True)

"""The settings every fine-tuning strategy trains with (`finetune:` in the run YAML): one section for lora, ia3,
prompt-tuning, full, freeze and continued-pretraining, since they share one training loop (trainer.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from harness.registry import settings
from harness.section import Section


@settings.add
class FinetuneConfig(Section):
    """Training settings shared by the fine-tuning strategies.

    The defaults are sized for a CPU (a 135M model trains at ~150 tokens/s on 2 cores, compute bound): a capped
    training set, one epoch, a small validation sample. On a GPU raise max_train_examples, epochs and val_examples."""

    name: ClassVar[str] = "finetune"

    method: Literal["lora", "ia3", "prompt-tuning"] = Field("lora", description=(
        "the PEFT method the `lora` strategy trains (it then runs under this name): lora, ia3 (learned scaling "
        "vectors) or prompt-tuning (trained virtual tokens); `--strategies ia3` / `prompt-tuning` choose one directly"))
    merge: bool = Field(True, description="serve LoRA/IA3 merged into a copy of the weights (false: unmerged, "
                        "through the PeftModel, as multi-adapter serving does); prompt tuning cannot be merged")
    prompt_tokens: int = Field(20, ge=1, le=512, description="prompt-tuning: trained virtual tokens before every prompt")
    ia3_target_modules: list[str] | None = Field(None, description="ia3: modules scaled (None = peft's per-architecture default)")
    ia3_feedforward_modules: list[str] | None = Field(None, description="ia3: which of them are feed-forward (scaled on the input)")
    epochs: int = Field(1, ge=1, description="passes over the (capped) training set")
    max_train_examples: int | None = Field(64, ge=1, description="train on a seeded sample of at most this many examples; None = all")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    lr: float | None = Field(None, gt=0, description="peak learning rate; None = per method (lora 1e-3, ia3 5e-3, prompt-tuning 3e-2, freeze 1e-4, full 2e-5, continued-pretraining 5e-5)")
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(4, ge=1, description="examples per device per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    warmup_ratio: float = Field(0.1, ge=0, le=1, description="linear warmup share of the steps, then linear decay to 0")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")
    max_seq_len: int = Field(1024, ge=16, description="longer sequences lose prompt tokens from the left")
    eval_every: int = Field(8, ge=1, description="optimizer steps between validations (and once at the end)")
    val_examples: int = Field(12, ge=1, description="validation sample for the loss and the task metric")
    patience: int = Field(2, ge=1, description="validations without improvement before stopping early")
    min_delta: float = Field(0.0, ge=0, description="smallest change that counts as an improvement")
    monitor: Literal["metric", "loss"] = Field("metric", description=(
        "what early stopping and the kept checkpoint follow; with `metric`, a tie on the metric (within min_delta) "
        "goes to the lower validation loss, then to the later step"))
    monitor_metric: str | None = Field(None, description=(
        "the per-example metric validations score (monitor: metric); None = the task's first metric, or token_f1 "
        "where that is exact_match: a small model's exact match often sits at 0 for a while, token F1 moves first"))
    loss_tolerance: float = Field(0.01, ge=0, description=(
        "while the monitored metric is flat (within min_delta), a validation loss this much below the best one "
        "(nats per target token) still counts as an improvement: early stopping waits while the loss falls"))
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1, description=(
        "0 as in torchtune's recipes: one epoch over a small set gains little from it, and its masks took 17% of a CPU step"))
    lora_target_modules: list[str] | None = Field(None, description="None = per architecture (attention and MLP projections)")
    freeze_train_blocks: int = Field(2, ge=1, description="freeze: train only the top N transformer blocks (+ final norm, + head if untied)")
    pretraining_weights: Literal["full", "lora"] = Field("full", description="continued-pretraining: what it trains")
    keep_checkpoints: bool = Field(False, description="save full/freeze weights in the run folder (LoRA adapters are always saved)")
    learning_curve: bool = Field(False, description="also train on 25% and 50% of the data and project the metric at 2x and 4x")
    learning_curve_eval_examples: int = Field(48, ge=4, description="validation examples scored for each learning-curve point")
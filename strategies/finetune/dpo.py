"""`dpo`: preference tuning (the practical form of RLHF) with trl's DPOTrainer, on a LoRA adapter by default.

Reads top to bottom: `preference_pairs` (the task's own chosen/rejected pairs, or pairs built from the training
references as chosen and the base model's own outputs as rejected) -> `policy_and_reference` (as practitioners run
it, `dpo.start_from: sft`: the policy starts from the supervised `lora` adapter, reused where lora saved it
(strategies/finetune/sft_adapter.py), and the reference policy is that supervised model; `start_from: base`: a fresh
adapter, the base with the adapter off as the reference) -> `train_dpo` (trl's DPOTrainer, with an SFT term on the
chosen replies weighted `dpo.rpo_alpha`: RPO) -> `FineTune.finish` (the adapter saved as safetensors,
fingerprinted and merged for prediction, exactly as the lora strategy). Every prompt is the exact prompt the model
sees at inference (the task's template and the chat template), so the pairs teach what is then measured.
"""

from __future__ import annotations

import copy
import tempfile
import time
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness import interrupt
from harness.console import console
from harness.strategy.context import RunContext
from harness.errors import HarnessError
from harness.measure.metrics import normalize_answer
from harness.measure.overfitting import seeded_order
from harness.record.results import CostSection
from harness.record.training import Details, Training
from harness.registry import costs, settings, strategies
from harness.section import Section
from harness.strategy.base import SetupEstimate
from harness.tasks.task import PAIR_FIELDS
from harness.types import Cost, Example
from harness.strategy.prompted import PromptedModel
from strategies.finetune.cost import TrainingCost
from strategies.finetune.settings import FinetuneConfig
from strategies.finetune.strategy import FineTune
from strategies.finetune.trainable import lora_targets, peak_memory

PAIR_SOURCES = {"data": "the task's chosen/rejected pairs",
                "base-outputs": "chosen = the training reference, rejected = the base model's own output"}


@settings.add
class DpoConfig(Section):
    """The `dpo` strategy: preference tuning (trl's DPOTrainer) on a task's chosen/rejected pairs, or on pairs built
    from the training references (chosen) and the base model's own outputs (rejected). Sized for a CPU."""

    name: ClassVar[str] = "dpo"

    weights: Literal["lora", "full"] = Field("lora", description="lora: an adapter like the lora strategy's "
                                             "(finetune.lora_*), merged for prediction; full: every weight")
    pairs: Literal["auto", "data", "base-outputs"] = Field("auto", description=(
        "data: every train/validation example's own chosen and rejected; base-outputs: the reference as chosen, the "
        "base model's output as rejected; auto: data where every example has both fields, base-outputs where none "
        "has either, and an error naming the examples where only some do"))
    max_pairs: int = Field(64, ge=1, description="train on a seeded sample of at most this many pairs")
    epochs: int = Field(1, ge=1)
    beta: float = Field(0.1, gt=0, description="DPO's KL strength: how far the policy may move from the reference")
    lr: float = Field(5e-4, gt=0, description="peak learning rate (linear decay after a 10% warmup)")
    batch_size: int = Field(4, ge=1, description="pairs per micro-batch (each pair is two sequences)")
    val_pairs: int = Field(12, ge=0, description="validation pairs scored every finetune.eval_every steps (DPO loss, "
                           "reward accuracy)")
    start_from: Literal["base", "sft"] = Field("sft", description=(
        "sft: train the lora strategy's supervised adapter first (or reuse it where lora saved it with these "
        "finetune: settings), then DPO from it, with the supervised model as the reference policy; base: DPO from "
        "the base model, which is also the reference"))
    rpo_alpha: float | None = Field(1.0, ge=0, description=(
        "weight of an SFT term (the chosen reply's mean token NLL) added to the DPO loss (RPO, Pang et al. 2024; "
        "trl's loss_type [sigmoid, sft]); null or 0: the DPO loss alone"))


def has_pairs(example: Example) -> bool:
    return bool(example.meta.get("chosen")) and bool(example.meta.get("rejected"))


def check_pair_fields(task, mode: str) -> None:
    """Before any model work: `dpo.pairs: data` needs every train and validation example's chosen and rejected;
    `auto` needs all of them or none (a `chosen` without its `rejected` is never silently replaced)."""
    if mode == "base-outputs":
        return
    for split in ("train", "validation"):
        examples = task.splits.get(split) or []
        lacking = [ex for ex in examples if not has_pairs(ex)]
        if not lacking or (mode == "auto" and not any(ex.meta.get(f) for ex in examples for f in PAIR_FIELDS)):
            continue  # every pair given, or (auto) none at all: pairs are built from the base model's outputs
        named = ", ".join(f"{ex.id} ({_missing(ex)})" for ex in lacking[:5])
        raise HarnessError(
            f"dpo: {len(lacking)} of {len(examples)} {split} examples lack a chosen/rejected pair: {named}"
            + (" ..." if len(lacking) > 5 else "") + ".",
            hint="Give every example both `chosen` and `rejected`, or set dpo.pairs: base-outputs to build pairs from "
            "the references (chosen) and the base model's outputs (rejected).")


def _missing(ex: Example) -> str:
    return "no rejected" if ex.meta.get("chosen") else "no chosen" if ex.meta.get("rejected") else "neither"


def preference_pairs(ctx: RunContext, examples: list[Example]) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """(pairs, how they were made). Pairs are {id, prompt, chosen, rejected}. Where every example carries its
    own chosen/rejected, those are used; otherwise chosen is the reference and rejected the base model's greedy
    output on the same prompt (pairs whose two sides are the same answer are dropped and counted)."""
    render = lambda ex: ctx.model.render(ctx.task.messages(ex))  # noqa: E731
    if ctx.config.section(DpoConfig).pairs != "base-outputs" and examples and all(has_pairs(ex) for ex in examples):
        pairs = [{"id": ex.id, "prompt": render(ex), "chosen": ex.meta["chosen"], "rejected": ex.meta["rejected"]}
                 for ex in examples]
        return pairs, {"source": "data", "description": PAIR_SOURCES["data"], "pairs": len(pairs), "dropped_same": 0}
    base = PromptedModel("prompt", ctx, fingerprint="base")  # the base weights: its outputs are cached with zero-shot's
    outputs = base.predict(examples) if examples else []
    pairs, dropped = [], 0
    for ex, out in zip(examples, outputs):
        chosen = ctx.task.answer_text(ex)
        if normalize_answer(out.output) == normalize_answer(chosen):
            dropped += 1
            continue
        pairs.append({"id": ex.id, "prompt": render(ex), "chosen": chosen, "rejected": out.output.strip()})
    return pairs, {"source": "base-outputs", "description": PAIR_SOURCES["base-outputs"], "pairs": len(pairs),
                   "dropped_same": dropped}


def _harness_callback():
    """Stop between steps on SIGINT/SIGTERM, and print one line per validation (as the supervised loop does)."""
    from transformers import TrainerCallback

    class HarnessCallback(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            interrupt.check()

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            m = metrics or {}
            if state.is_world_process_zero:
                console.print(f"[dim]dpo · step {state.global_step} · val loss {m.get('eval_loss', float('nan')):.4f} · "
                              f"reward accuracy {m.get('eval_rewards/accuracies', float('nan')):.2f} · "
                              f"margin {m.get('eval_rewards/margins', float('nan')):.3f}[/]")

    return HarnessCallback()


def policy_and_reference(ctx: RunContext, sft_model=None):
    """(the policy to train, trl's ref_model, the peft config). From the base (`sft_model` None): a copy with a
    fresh LoRA adapter (the reference is the base: the adapter off) or every weight (the reference a frozen copy).
    From the supervised adapter: that PeftModel itself (trl copies the adapter as a frozen "ref" adapter: the
    reference is the supervised model), or for full weights, the supervised model merged (the reference a copy)."""
    from strategies.finetune.peft_methods import merged_copy

    cfg, lora = ctx.config.section(FinetuneConfig), ctx.config.section(DpoConfig).weights == "lora"
    if sft_model is not None and lora:
        return sft_model, None, None
    model = merged_copy(sft_model) if sft_model is not None else copy.deepcopy(ctx.model.model)  # base untouched
    if lora:
        from peft import LoraConfig

        return model, None, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                       target_modules=lora_targets(model, cfg.lora_target_modules), task_type="CAUSAL_LM")
    ref_model = copy.deepcopy(model)
    for p in model.parameters():
        p.requires_grad = True
    return model, ref_model, None


def loss_terms(dcfg: "DpoConfig") -> dict[str, Any]:
    """trl's loss settings: DPO's sigmoid loss, plus the SFT term (RPO) where rpo_alpha is set."""
    if not dcfg.rpo_alpha:
        return {"loss_type": ["sigmoid"]}
    return {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, dcfg.rpo_alpha]}


def train_dpo(ctx: RunContext, train_pairs: list[dict], val_pairs: list[dict], out_dir: str, sft_model=None):
    """trl's DPOTrainer on a copy of the base model, or on the supervised adapter `sft_model`; returns the trainer
    after training (its model is trained)."""
    import torch
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar
    from transformers import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    disable_progress_bar()  # trl maps the pairs through datasets: a bar per step of preparation
    cfg, dcfg = ctx.config.section(FinetuneConfig), ctx.config.section(DpoConfig)
    cuda = ctx.model.device.startswith("cuda")
    bf16 = cuda and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    columns = lambda pairs: {k: [p[k] for p in pairs] for k in ("prompt", "chosen", "rejected")}  # noqa: E731
    args = DPOConfig(
        output_dir=out_dir, per_device_train_batch_size=dcfg.batch_size, per_device_eval_batch_size=dcfg.batch_size,
        num_train_epochs=dcfg.epochs, learning_rate=dcfg.lr, beta=dcfg.beta, lr_scheduler_type="linear",
        warmup_steps=0.1, max_grad_norm=cfg.max_grad_norm, max_length=cfg.max_seq_len, logging_steps=1,
        eval_strategy="steps" if val_pairs else "no", eval_steps=cfg.eval_every, save_strategy="no",
        report_to="none", use_cpu=not cuda, bf16=bf16, fp16=False, gradient_checkpointing=False, seed=ctx.seed,
        data_seed=ctx.seed, disable_tqdm=True, dataloader_num_workers=0, **loss_terms(dcfg),
    )
    model, ref_model, peft_config = policy_and_reference(ctx, sft_model)
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=Dataset.from_dict(columns(train_pairs)),
                         eval_dataset=Dataset.from_dict(columns(val_pairs)) if val_pairs else None,
                         processing_class=copy.deepcopy(ctx.model.tokenizer), peft_config=peft_config,
                         callbacks=[_harness_callback()])
    trainer.remove_callback(PrinterCallback)  # trl's raw log dicts: the callback prints what matters
    trainer.train()
    trainer.model.config.use_cache = getattr(ctx.model.model.config, "use_cache", True)  # Trainer turned it off
    state = trainer.state
    if val_pairs and not any("eval_loss" in e and e.get("step") == state.global_step for e in state.log_history):
        trainer.evaluate()  # the curve ends with a validation, as the supervised loop's does
    return trainer


def learning_curve(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """trl's logs as the harness's learning curve: per validation, the step, the last training loss, the
    validation DPO loss, and the reward accuracy and margin (how often and by how much the policy prefers chosen)."""
    curve, last_train = [], None
    for entry in log_history:
        if "loss" in entry:
            last_train = entry["loss"]
        if "eval_loss" in entry:
            curve.append({"step": entry.get("step"), "epoch": round(entry.get("epoch", 0.0), 3), "train_loss": last_train,
                          "val_loss": entry["eval_loss"], "val_reward_accuracy": entry.get("eval_rewards/accuracies"),
                          "val_reward_margin": entry.get("eval_rewards/margins")})
    return curve


@costs.add
class PairsCost(CostSection):
    """`cost.dpo` in run.json: the preference pairs trained on, and where they came from ("data": the task's
    chosen/rejected fields; "base-outputs": references against the base model's answers); what the policy started
    from (`start_from`: "sft", the supervised lora adapter, also the reference; "base") and the SFT term's weight
    (`rpo_alpha`, None: none); for start_from sft, the supervised stage's seconds (`sft_seconds`, part of
    setup_seconds) and whether it was trained in this strategy's setup or reused (`sft_source`: saved by lora in
    this run or by an earlier run; its seconds are charged again: a DPO model costs its supervised stage too)."""

    name: ClassVar[str] = "dpo"

    preference_pairs: int
    pair_source: Literal["data", "base-outputs"]
    start_from: Literal["base", "sft"] = "base"
    rpo_alpha: float | None = None
    sft_seconds: float | None = None
    sft_source: Literal["trained", "reused"] | None = None


@strategies.add
class DPO(FineTune):
    name = "dpo"
    win_rate = True  # preference is its point, on every task
    win_rate_against = ("lora",)  # and against the supervised adapter it starts from: did DPO add to SFT?
    order = 8
    description = ("preference tuning (DPO, trl) from the supervised lora adapter (the reference), with an SFT term: "
                   "chosen/rejected pairs, or references vs base outputs")
    default = False
    composes = None  # trained on preference pairs through trl, not on this loop's supervised prompts

    def check_config(self, config, task) -> None:
        super().check_config(config, task)
        check_pair_fields(task, config.section(DpoConfig).pairs)

    def prepare(self, ctx: RunContext) -> PromptedModel:
        cfg, dcfg = ctx.config.section(FinetuneConfig), ctx.config.section(DpoConfig)
        start = time.perf_counter()
        train_examples = seeded_order(ctx.task.split("train"), ctx.seed)[: dcfg.max_pairs]
        pool = ctx.task.splits.get("validation") or []
        val_examples = seeded_order(pool, ctx.seed)[: dcfg.val_pairs]
        train_pairs, pair_notes = preference_pairs(ctx, train_examples)
        val_pairs, val_notes = preference_pairs(ctx, val_examples)
        if not train_pairs:
            raise HarnessError(f"dpo: no preference pairs for task '{ctx.task.name}': the base model already "
                               f"answers all {len(train_examples)} training examples exactly as their references.",
                               hint="Give the training split `chosen` and `rejected` fields, or leave dpo out.")
        sft_model, sft = None, None
        if dcfg.start_from == "sft":
            from strategies.finetune.sft_adapter import trainable_sft

            sft_model, sft = trainable_sft(ctx)
        dpo_start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="harness-dpo-") as out_dir:
            trainer = train_dpo(ctx, train_pairs, val_pairs, out_dir, sft_model)
        train_seconds = time.perf_counter() - dpo_start
        model = trainer.model
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if "ref" in getattr(model, "peft_config", {}):
            model.delete_adapter("ref")  # trl's frozen copy of the supervised adapter: the reference, not served
        state = trainer.state
        train_logs = [e for e in state.log_history if "loss" in e]
        training = Training(
            method="dpo", weights=dcfg.weights, pairs=pair_notes, val_pairs=val_notes, beta=dcfg.beta, lr=dcfg.lr,
            epochs=dcfg.epochs, steps=state.global_step, start_from=dcfg.start_from,
            reference="the supervised lora model" if sft else "the base model", rpo_alpha=dcfg.rpo_alpha,
            loss=loss_terms(dcfg), sft=sft,
            final_train_loss=train_logs[-1]["loss"] if train_logs else None,
            train_reward_accuracy=train_logs[-1].get("rewards/accuracies") if train_logs else None,
            train_seconds=train_seconds, trainer="trl.DPOTrainer",
            **({"lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "dropout": cfg.lora_dropout}}
               if dcfg.weights == "lora" else {}))
        details = Details(training=training, learning_curve=learning_curve(state.log_history))
        handle, adapter_fp, artifact_bytes, training.artifact = self.finish(ctx, model, cfg, trainer.accelerator)
        peak, peak_kind = peak_memory()
        reused = bool(sft) and sft["source"] == "reused"
        cost = Cost(setup_seconds=time.perf_counter() - start + (sft["seconds"] if reused else 0.0),
                    trainable_params=trainable, artifact_bytes=artifact_bytes, peak_memory_mb=peak,
                    peak_memory_kind=peak_kind, device=str(trainer.accelerator.device))
        if reused:  # the supervised stage was trained before (by lora in this run, or an earlier run): charged again
            cost.setup_source = "reused"
            cost.setup_note = (f"reused: supervised adapter trained by {sft['trained_by']} in run "
                               f"{sft['trained_in_run'] or '(an earlier run)'}, {sft['seconds']:.1f} s; "
                               f"DPO trained here in {time.perf_counter() - start:.1f} s")
        cost.add(TrainingCost(train_seconds=train_seconds))
        cost.add(PairsCost(preference_pairs=len(train_pairs), pair_source=pair_notes["source"],
                           start_from=dcfg.start_from, rpo_alpha=dcfg.rpo_alpha,
                           sft_seconds=sft["seconds"] if sft else None, sft_source=sft["source"] if sft else None))
        return PromptedModel(self.name, ctx, fingerprint=adapter_fp, cost=cost, model=handle, adapter=adapter_fp,
                             details=details)

    def estimate_setup(self, ctx: RunContext, generation_seconds: float) -> SetupEstimate | None:
        return None  # trl's trainer, not the Trainer the estimate times: the dry run says "not estimated"

"""Fine-tuning: `lora`, `full`, `freeze` (top N blocks) and `continued-pretraining`, all through ONE training loop.

Reads top to bottom: `prepare` (pick the data, make a trainable copy) -> `train` (the loop: AdamW, warmup and linear
decay, gradient accumulation and clipping, validation loss and task metric, early stopping, best checkpoint kept)
-> `finish` (save the adapter / checkpoint, fingerprint the weights, hand back a PromptedModel).

The base model in ctx.model is never touched: training works on a deep copy. Supervised examples are the exact
prompt the model sees at inference (ctx.model.render(task.messages(example))) followed by the reference and the end
of turn token; the loss covers the answer tokens only. Training goes through accelerate, so
`accelerate launch -m harness run ...` spreads it over several processes (gradients averaged) with no code change.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import interrupt
from harness.config import FinetuneConfig
from harness.console import console
from harness.context import RunContext
from harness.metrics import get as get_metric
from harness.metrics import score
from harness.models import ModelHandle, wrap
from harness.overfitting import seeded_order
from harness.registry import strategies
from harness.strategy import SetupEstimate, Strategy
from harness.types import Cost, Example
from harness.adapted import PromptedModel
from strategies.peft_methods import (PEFT_METHODS, deployable, deployment_form, inference_view, init_virtual_tokens,
                                     is_prompt_learning, peft_config)

CALIBRATION_STEPS = 3  # timed training steps behind the dry run's estimate (2 varied by +-25% here)
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


# ------------------------------------------------------------------------------------------------------ data


@dataclass
class Item:
    input_ids: list[int]
    labels: list[int]  # -100 where no loss is taken (prompt, padding)


def supervised_items(handle: ModelHandle, task, examples: list[Example], max_len: int) -> list[Item]:
    """Prompt exactly as at inference + reference + end-of-turn; loss on the answer tokens only."""
    tok = handle.tokenizer
    items = []
    for ex in examples:
        prompt = tok(handle.render(task.messages(ex)), add_special_tokens=False)["input_ids"]
        answer = tok(ex.references[0], add_special_tokens=False)["input_ids"][: max_len // 2] + [tok.eos_token_id]
        prompt = prompt[-(max_len - len(answer)):]  # like generation: keep the end of an overlong prompt
        items.append(Item(prompt + answer, [-100] * len(prompt) + answer))
    return items


def corpus_items(handle: ModelHandle, documents, max_len: int) -> list[Item]:
    """Continued pretraining: the corpus as plain text in blocks of max_len tokens, loss on every token."""
    tok = handle.tokenizer
    items = []
    for doc in documents:
        ids = tok((f"{doc.title}\n" if doc.title else "") + doc.text, add_special_tokens=False)["input_ids"]
        ids = ids + [tok.eos_token_id]
        for start in range(0, len(ids), max_len):
            block = ids[start : start + max_len]
            if len(block) > 1:
                items.append(Item(block, list(block)))
    return items


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def collate(items: list[Item], pad: int):
    import torch

    width = max(len(it.input_ids) for it in items)
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, it in enumerate(items):
        n = len(it.input_ids)
        ids[i, :n] = torch.tensor(it.input_ids)
        labels[i, :n] = torch.tensor(it.labels)
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


# ------------------------------------------------------------------------------------------------------ models


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
    """A deep copy of the base, set up for `method`: LoRA wrapper, all weights, or only the top blocks."""
    import torch

    model = copy.deepcopy(base_model)
    notes: dict[str, Any] = {}
    if method in PEFT_METHODS or (method == "continued-pretraining" and cfg.pretraining_weights == "lora"):
        from peft import get_peft_model

        peft_method = method if method in PEFT_METHODS else "lora"
        config, notes = peft_config(peft_method, model, cfg, lora_targets(model, cfg.lora_target_modules))
        model = get_peft_model(model, config)
    elif method == "freeze":
        name, blocks = blocks_of(model)
        top = min(cfg.freeze_train_blocks, len(blocks))
        train_prefixes = [f"{name}.{i}." for i in range(len(blocks) - top, len(blocks))]
        head = model.get_output_embeddings()
        tied = head is not None and head.weight is model.get_input_embeddings().weight
        for pname, p in model.named_parameters():
            in_top = any(pname.startswith(pre) for pre in train_prefixes)
            final_norm = not pname.startswith(name + ".") and re.search(r"(^|\.)(norm|ln_f|final_layer_norm)\.", pname)
            p.requires_grad = bool(in_top or final_norm)
        if head is not None and not tied:
            head.weight.requires_grad = True
        notes["freeze"] = {"trained_blocks": top, "total_blocks": len(blocks),
                           "head": "tied to the input embeddings: kept frozen" if tied else "trained"}
    else:  # full, continued-pretraining with full weights
        for p in model.parameters():
            p.requires_grad = True
    if torch.cuda.is_available() and next(model.parameters()).is_cuda:
        for p in model.parameters():  # master weights in fp32; bf16 comes from autocast
            if p.requires_grad:
                p.data = p.data.float()
    return model, notes


# ------------------------------------------------------------------------------------------------------ the loop


@dataclass
class TrainResult:
    curve: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    stopped_early: bool = False
    steps: int = 0
    tokens: int = 0  # tokens seen (all ranks), not counting padding
    target_tokens: int = 0  # tokens that carried loss
    seconds: float = 0.0  # wall time of the loop, validations included
    eval_seconds: float = 0.0  # of which validations
    tokens_per_second: float = 0.0  # training throughput: tokens / (seconds - eval_seconds)


def make_accelerator(cfg: FinetuneConfig, device: str):
    from accelerate import Accelerator

    cuda = device.startswith("cuda")
    import torch

    bf16 = cuda and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return Accelerator(mixed_precision="bf16" if bf16 else "no", cpu=not cuda,
                       gradient_accumulation_steps=cfg.grad_accum)


def epoch_order(n: int, epochs: int, seed: int) -> list[int]:
    """Every epoch's shuffled indices, concatenated: one deterministic stream the dataloader reads in order, the
    same for one process or many (accelerate gives each rank every world_size-th batch)."""
    import random

    order: list[int] = []
    for epoch in range(epochs):
        idx = list(range(n))
        random.Random(f"{seed}-{epoch}").shuffle(idx)
        order += idx
    return order


def train(
    model,
    tokenizer,
    train_items: list[Item],
    val_items: list[Item],
    cfg: FinetuneConfig,
    *,
    lr: float,
    seed: int = 0,
    accelerator=None,
    val_metric: Callable[[Any], list[float]] | None = None,
    higher_is_better: bool = True,
    label: str = "train",
    show_progress: bool = True,
    shuffle: bool = True,
    on_validation: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """The one training loop. `val_metric(model) -> per-example scores` on the validation sample (this rank's
    share); the loop gathers them across ranks. Returns the curve; the model holds the best weights afterwards."""
    import torch
    from accelerate.utils import gather_object, set_seed
    from torch.utils.data import DataLoader

    set_seed(seed)
    acc = accelerator or make_accelerator(cfg, "cpu")
    order = epoch_order(len(train_items), cfg.epochs, seed) if shuffle else list(range(len(train_items))) * cfg.epochs
    stream = [train_items[i] for i in order]
    pad = pad_id(tokenizer)
    loader = DataLoader(stream, batch_size=cfg.batch_size, shuffle=False, collate_fn=lambda b: collate(b, pad))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    model, optimizer, loader = acc.prepare(model, optimizer, loader)
    micro_per_epoch = max(1, len(loader) // cfg.epochs)  # this rank's micro-batches per epoch
    total_steps = math.ceil(len(loader) / cfg.grad_accum)
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    warmup = int(cfg.warmup_ratio * total_steps)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    # Not passed to acc.prepare: accelerate would step it once per process; we step it once per optimizer step.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    result = TrainResult()
    best_state = None
    bad_evals = 0
    sign = 1.0 if higher_is_better else -1.0

    def objective(point: dict[str, Any]) -> float:  # larger is better
        if cfg.monitor == "metric" and "val_metric" in point:
            return sign * point["val_metric"]
        return -point["val_loss"]

    def evaluate(step: int, epoch: float, train_loss: float | None) -> bool:
        """One validation; True when early stopping says stop."""
        nonlocal best_state, bad_evals
        eval_start = time.perf_counter()
        inner = acc.unwrap_model(model)
        inner.eval()
        mine = val_items[acc.process_index :: acc.num_processes]
        loss_sum = torch.zeros(2, device=acc.device)
        with torch.no_grad():
            for i in range(0, len(mine), cfg.batch_size):
                interrupt.check()  # a validation over several tasks' samples can take minutes on a CPU
                batch = {k: v.to(acc.device) for k, v in collate(mine[i : i + cfg.batch_size], pad).items()}
                with acc.autocast():
                    out = inner(**batch)
                n = (batch["labels"][:, 1:] != -100).sum()
                loss_sum += torch.stack([out.loss.float() * n, n.float()])
        loss_sum = acc.reduce(loss_sum, "sum")
        val_loss = float(loss_sum[0] / loss_sum[1]) if loss_sum[1] > 0 else float("nan")
        point = {"step": step, "epoch": round(epoch, 3), "tokens": result.tokens, "train_loss": train_loss,
                 "val_loss": val_loss}
        if val_metric is not None:
            scores = gather_object(list(val_metric(inner)))
            point["val_metric"] = sum(scores) / len(scores) if scores else float("nan")
            point["val_metric_n"] = len(scores)
        inner.train()
        result.curve.append(point)
        if result.best is None or objective(point) > objective(result.best) + cfg.min_delta:
            result.best = dict(point)
            best_state = {k: v.detach().clone() for k, v in _trainable_state(inner).items()}
            bad_evals = 0
        else:
            bad_evals += 1
        result.eval_seconds += time.perf_counter() - eval_start
        if acc.is_main_process:
            shown = f" · val {point.get('val_metric', float('nan')):.3f}" if "val_metric" in point else ""
            console.print(f"[dim]{label} · step {step} · train loss {train_loss if train_loss is None else round(train_loss, 4)} · "
                          f"val loss {val_loss:.4f}{shown}{' · best' if bad_evals == 0 else ''}[/]")
        if on_validation is not None:  # e.g. a hyperparameter search's pruner (it may raise to stop the trial)
            on_validation(point)
        return bad_evals >= cfg.patience

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]} · {task.fields[tps]} tok/s"), TimeElapsedColumn(),
                   console=console, disable=not (show_progress and acc.is_main_process))
    model.train()
    start = time.perf_counter()
    step, window_loss, window_n, micro = 0, 0.0, 0, 0
    last_eval_step = -1
    stop = False
    with bar:
        job = None
        for batch in loader:
            interrupt.check()  # SIGINT/SIGTERM: stop between steps (the training restarts when the run resumes)
            epoch = micro // micro_per_epoch
            if micro % micro_per_epoch == 0 and epoch < cfg.epochs:
                job = bar.add_task(f"{label} · epoch {epoch + 1}/{cfg.epochs}", total=micro_per_epoch, loss="-", tps="-")
            micro += 1
            with acc.accumulate(model):
                out = model(**batch)
                acc.backward(out.loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                if acc.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad()
            counts = acc.reduce(torch.stack([batch["attention_mask"].sum(), (batch["labels"][:, 1:] != -100).sum()]), "sum")
            result.tokens += int(counts[0])
            result.target_tokens += int(counts[1])
            window_loss += float(out.loss.detach())
            window_n += 1
            elapsed = time.perf_counter() - start - result.eval_seconds
            bar.update(job, advance=1, loss=f"{window_loss / window_n:.4f}", tps=f"{result.tokens / max(elapsed, 1e-9):.0f}")
            if acc.sync_gradients:
                step += 1
                if step % cfg.eval_every == 0 or step >= total_steps:
                    train_loss = float(acc.reduce(torch.tensor(window_loss / window_n, device=acc.device), "mean"))
                    window_loss, window_n = 0.0, 0
                    stop = evaluate(step, micro / micro_per_epoch, train_loss)
                    last_eval_step = step
                if stop or step >= total_steps:
                    break
    if last_eval_step != step:
        stop_loss = float(acc.reduce(torch.tensor(window_loss / max(window_n, 1), device=acc.device), "mean"))
        evaluate(step, micro / micro_per_epoch, stop_loss if window_n else None)
    result.stopped_early = stop and step < total_steps
    result.steps = step
    result.seconds = time.perf_counter() - start
    result.tokens_per_second = result.tokens / max(result.seconds - result.eval_seconds, 1e-9)
    inner = acc.unwrap_model(model)
    if best_state is not None:
        with torch.no_grad():
            current = _trainable_state(inner)
            for k, v in best_state.items():
                current[k].copy_(v)
    inner.eval()
    return result


def _trainable_state(model) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


# ------------------------------------------------------------------------------------------------------ strategies


class FineTune(Strategy):
    """prepare() = pick data -> trainable copy -> train -> save and fingerprint -> PromptedModel."""

    trains = True
    needs_weights = True  # trains the in-process (hf) model's weights
    serves_weights = True  # its result is a set of weights another backend (vllm) can serve

    def applies_to(self, task) -> bool:
        return "train" in task.splits

    def training_items(self, ctx: RunContext, cfg: FinetuneConfig, examples: list[Example]) -> list[Item]:
        return supervised_items(ctx.model, ctx.task, examples, cfg.max_seq_len)

    def prepare(self, ctx: RunContext) -> PromptedModel:
        import torch

        cfg = ctx.config.finetune
        start = time.perf_counter()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        train_examples, val_examples = self.data(ctx, cfg)
        accelerator = make_accelerator(cfg, ctx.model.device)
        search = None
        if ctx.config.search and ctx.config.search.strategy == self.name:  # validation split only; best trial kept
            from strategies.hpsearch import run_search

            search, cfg, (model, notes, result) = run_search(self, ctx, train_examples, val_examples, accelerator)
        else:
            model, notes, result = self.fit(ctx, cfg, train_examples, val_examples, accelerator)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        details: dict[str, Any] = {"training": {
            "method": self.name, "train_examples": len(train_examples), "val_examples": len(val_examples),
            "lr": cfg.lr or DEFAULT_LR[self.name], "steps": result.steps, "stopped_early": result.stopped_early,
            "best": result.best, "monitor": cfg.monitor, "tokens": result.tokens, "target_tokens": result.target_tokens,
            "train_seconds": result.seconds, "eval_seconds": result.eval_seconds, "tokens_per_second": result.tokens_per_second,
            "processes": accelerator.num_processes, "mixed_precision": accelerator.mixed_precision, **notes}}
        details["learning_curve"] = result.curve
        if search:
            details["search"] = search
        if cfg.learning_curve and self.name != "continued-pretraining":
            details["data_size_curve"] = self.data_size_curve(ctx, cfg, train_examples, model, accelerator)
        if _is_peft(model):
            details["training"]["deployment"] = deployment_form(model, cfg.merge)
        handle, adapter_fp, artifact_bytes, artifact = self.finish(ctx, model, cfg, accelerator)
        if artifact:
            details["training"]["artifact"] = artifact
        peak = (torch.cuda.max_memory_allocated() / 2**20) if torch.cuda.is_available() else _rss_mb()
        cost = Cost(setup_seconds=time.perf_counter() - start, trainable_params=trainable,
                    artifact_bytes=artifact_bytes, peak_memory_mb=peak, device=str(accelerator.device),
                    extra={"tokens_trained": result.tokens, "train_seconds": result.seconds,
                           "train_tokens_per_second": result.tokens_per_second,
                           **({"search_seconds": search["seconds"]} if search else {}),
                           "peak_memory_kind": "cuda max allocated" if torch.cuda.is_available() else "process peak RSS"})
        return PromptedModel(self.name, ctx, fingerprint=adapter_fp, cost=cost, model=handle, adapter=adapter_fp,
                             details=details)

    def data(self, ctx: RunContext, cfg: FinetuneConfig) -> tuple[list[Example], list[Example]]:
        """The (train, validation) examples: seeded samples; without a validation split, the train order's tail is
        held out and never trained on."""
        order = seeded_order(ctx.task.splits.get("train", []), ctx.seed)
        if "validation" in ctx.task.splits:
            return order[: cfg.max_train_examples], seeded_order(ctx.task.split("validation"), ctx.seed)[: cfg.val_examples]
        held = min(cfg.val_examples, len(order) // 5)
        return order[: len(order) - held][: cfg.max_train_examples], order[len(order) - held :]

    def estimate_setup(self, ctx: RunContext, generation_seconds: float) -> SetupEstimate:
        """For the dry run: what prepare() will take, without training. The planned training's exact token count
        at the tokens/s of CALIBRATION_STEPS timed steps on its first batches (after one untimed step), plus its
        validations (one timed loss batch scaled up; generation at `generation_seconds` per example, as timed on
        the base model). Saving the adapter and merging are not counted; --learning-curve trains 1.75x as much."""
        import torch

        cfg = ctx.config.finetune
        train_examples, val_examples = self.data(ctx, cfg)
        items = self.training_items(ctx, cfg, train_examples)
        val_items = supervised_items(ctx.model, ctx.task, val_examples, cfg.max_seq_len)
        micro_batches = math.ceil(len(items) * cfg.epochs / cfg.batch_size)  # the epochs run as one stream
        steps = math.ceil(micro_batches / cfg.grad_accum)
        if cfg.max_steps:
            steps = min(steps, cfg.max_steps)
        share = min(1.0, steps * cfg.grad_accum / max(micro_batches, 1))  # max_steps may end the run early
        tokens = round(sum(len(it.input_ids) for it in items) * cfg.epochs * share)
        validations = steps // cfg.eval_every + (1 if steps % cfg.eval_every else 0)

        acc = make_accelerator(cfg, ctx.model.device)
        model, _ = trainable_copy(ctx.model.model, self.name, cfg)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-12)
        model, optimizer = acc.prepare(model, optimizer)
        pad = pad_id(ctx.model.tokenizer)
        batches = [items[i : i + cfg.batch_size] for i in range(0, len(items), cfg.batch_size)][: 1 + CALIBRATION_STEPS]
        sync = torch.cuda.synchronize if acc.device.type == "cuda" else (lambda: None)
        timed_tokens, timed = 0, 0.0
        model.train()
        for i, batch in enumerate(batches):
            interrupt.check()
            inputs = {k: v.to(acc.device) for k, v in collate(batch, pad).items()}
            sync()
            t0 = time.perf_counter()
            acc.backward(model(**inputs).loss)
            optimizer.step()
            optimizer.zero_grad()
            sync()
            if i or len(batches) == 1:  # the first step warms up (allocations, kernels) unless it is the only one
                timed += time.perf_counter() - t0
                timed_tokens += int(inputs["attention_mask"].sum())
        model.eval()
        inputs = {k: v.to(acc.device) for k, v in collate(val_items[: cfg.batch_size] or batches[0], pad).items()}
        sync()
        t0 = time.perf_counter()
        with torch.no_grad(), acc.autocast():
            model(**inputs)
        sync()
        val_loss_seconds = (time.perf_counter() - t0) * math.ceil(len(val_items) / cfg.batch_size)
        del model, optimizer
        tokens_per_second = timed_tokens / max(timed, 1e-9)
        train_seconds = tokens / tokens_per_second
        val_seconds = validations * (val_loss_seconds + len(val_examples) * generation_seconds)
        seconds = train_seconds + val_seconds
        if cfg.learning_curve and self.name != "continued-pretraining":
            seconds = 1.75 * seconds + 3 * cfg.learning_curve_eval_examples * generation_seconds
        search = ctx.config.search
        if search and search.strategy == self.name:  # an upper bound: no trial pruned; the best one's model is kept
            seconds *= search.trials * (sum(search.epochs) / len(search.epochs) / cfg.epochs if "epochs" in search.params else 1)
        return SetupEstimate(seconds=seconds, tokens=tokens, tokens_per_second=tokens_per_second, steps=steps,
                             validations=validations, train_seconds=train_seconds, validation_seconds=val_seconds)

    def fit(self, ctx: RunContext, cfg: FinetuneConfig, train_examples, val_examples, accelerator, on_validation=None):
        from accelerate.utils import set_seed

        set_seed(ctx.seed)  # LoRA's initialisation is random too
        model, notes = trainable_copy(ctx.model.model, self.name, cfg)
        if is_prompt_learning(model):
            init_virtual_tokens(model, ctx.model.tokenizer, ctx.task.instruction)
        primary = ctx.task.metrics[0]
        result = train(
            model, ctx.model.tokenizer, self.training_items(ctx, cfg, train_examples),
            supervised_items(ctx.model, ctx.task, val_examples, cfg.max_seq_len), cfg,
            lr=cfg.lr or DEFAULT_LR[self.name], seed=ctx.seed, accelerator=accelerator,
            val_metric=lambda m: metric_scores(ctx, m, _shard(val_examples, accelerator), primary, accelerator),
            higher_is_better=get_metric(primary).higher_is_better, label=self.name, on_validation=on_validation,
        )
        return accelerator.unwrap_model(model), notes, result

    def finish(self, ctx: RunContext, model, cfg: FinetuneConfig, accelerator):
        """Save what was trained and hand back (handle, fingerprint, artifact bytes, artifact description)."""
        base = ctx.model
        device = str(accelerator.device)
        if _is_peft(model):
            from peft import get_peft_model_state_dict

            fp = _state_fingerprint(get_peft_model_state_dict(model), base.fingerprint, self.name)
            folder = ctx.artifacts(self.name)
            nbytes, artifact = 0, None
            if folder is not None and accelerator.is_main_process:
                model.save_pretrained(folder, safe_serialization=True)
                nbytes = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
                artifact = {"path": str(folder), "files": sorted(p.name for p in folder.iterdir()), "bytes": nbytes}
            return deployable(model, base, self.name, merge=cfg.merge), fp, nbytes, artifact
        model.eval()
        handle = wrap(model, base.tokenizer, name=f"{base.name}+{self.name}", source="trained", device=device)
        nbytes, artifact = 0, None
        folder = ctx.artifacts(self.name) if cfg.keep_checkpoints else None
        if folder is not None and accelerator.is_main_process:
            model.save_pretrained(folder, safe_serialization=True)
            base.tokenizer.save_pretrained(folder)
            nbytes = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            artifact = {"path": str(folder), "files": sorted(p.name for p in folder.iterdir()), "bytes": nbytes}
        return handle, handle.fingerprint, nbytes, artifact

    def data_size_curve(self, ctx, cfg, train_examples, full_model, accelerator) -> dict[str, Any]:
        """Train again on 25% and 50% of the data; score all three on a validation sample; fit and project."""
        from harness.learning_curve import fit_and_project

        pool = ctx.task.split("validation") if "validation" in ctx.task.splits else ctx.task.split("test")
        held = seeded_order(pool, ctx.seed + 1)[: cfg.learning_curve_eval_examples]
        primary = ctx.task.metrics[0]
        points = []
        for frac in (0.25, 0.5, 1.0):
            n = max(1, round(frac * len(train_examples)))
            if frac < 1.0:
                model, _, _ = self.fit(ctx, cfg, train_examples[:n], seeded_order(pool, ctx.seed)[: cfg.val_examples],
                                       accelerator)
            else:
                model = full_model
            scores = gather_scores(ctx, model, held, primary, accelerator)
            points.append({"fraction": frac, "train_examples": n, "scores": scores})
            if model is not full_model:
                del model
        return fit_and_project(points, primary, higher_is_better=get_metric(primary).higher_is_better, seed=ctx.seed)


def _shard(examples: list[Example], accelerator) -> list[Example]:
    return examples[accelerator.process_index :: accelerator.num_processes]


def metric_scores(ctx: RunContext, model, examples: list[Example], metric: str, accelerator=None) -> list[float]:
    """Generate with the model being trained (no cache: its weights keep changing) and score one metric."""
    from harness.generate import generate

    if not examples:
        return []
    handle = ModelHandle(ctx.model.name, "training", "", inference_view(model), ctx.model.tokenizer,
                         str(accelerator.device) if accelerator else ctx.model.device, "training")
    prompts = [handle.render(ctx.task.messages(ex)) for ex in examples]
    gens = generate(handle, prompts, max_new_tokens=ctx.config.max_new_tokens or ctx.task.max_new_tokens,
                    batch_size=ctx.config.batch_size, cache=None)
    return [score([metric], g.text, ex.references)[metric] for g, ex in zip(gens, examples)]


def gather_scores(ctx, model, examples, metric, accelerator) -> list[float]:
    from accelerate.utils import gather_object

    return list(gather_object(metric_scores(ctx, model, _shard(examples, accelerator), metric, accelerator)))


def _is_peft(model) -> bool:
    return hasattr(model, "peft_config")


def _state_fingerprint(state: dict[str, Any], *salt: str) -> str:
    import torch

    h = hashlib.sha256("|".join(salt).encode())
    for k, v in sorted(state.items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_adapter(base: ModelHandle, folder: Path) -> ModelHandle:
    """A saved adapter (LoRA, IA3, prompt tuning) on a copy of the base, served as after training (merged where
    it can be): the same predictions."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(copy.deepcopy(base.model), str(folder))
    handle = deployable(model, base, "adapter", merge=True)
    return handle


@strategies.register("lora")
class LoRA(FineTune):
    name = "lora"
    order = 4
    description = "LoRA adapters (peft) on attention and MLP projections; the adapter is saved as safetensors"
    default = False  # ~10 min on a 2-core CPU: opt in with --strategies (see the README)

    def run_name(self, config) -> str:
        """`finetune.method` picks the PEFT method `lora` trains, and the run records it under that method's name."""
        return config.finetune.method


@strategies.register("full")
class Full(FineTune):
    name = "full"
    order = 5
    description = "full fine-tuning: every weight trained (checkpoint saved with --keep-checkpoints)"


@strategies.register("freeze")
class Freeze(FineTune):
    name = "freeze"
    order = 6
    description = "transfer learning: only the top N transformer blocks and the final norm (and an untied head) train"


@strategies.register("continued-pretraining")
class ContinuedPretraining(FineTune):
    name = "continued-pretraining"
    order = 7
    description = "causal-LM training on the task's corpus, then closed-book answers (knowledge injection)"

    def applies_to(self, task) -> bool:
        return bool(task.corpus)

    def training_items(self, ctx: RunContext, cfg: FinetuneConfig, examples: list[Example]) -> list[Item]:
        return corpus_items(ctx.model, ctx.task.corpus, cfg.max_seq_len)

"""The one training loop behind every fine-tuning strategy (`train`), and the `Trainer` it drives.

`Trainer` is one model's training under accelerate: setup (AdamW, linear warmup then linear decay, the item stream
prepared for this process), `step` (one micro-batch: forward and backward; at the end of a gradient accumulation,
clipping, the update and the schedule), `validate` (loss, and the task metric if given), and `keep_best` /
`restore_best` of the trainable weights. `train` steps it through the stream, validates every `eval_every`
optimizer steps and at the end, and stops early after `patience` validations without improvement; the model holds
the best weights afterwards. The dry run times a few `Trainer.step`s (strategies/finetune/strategy.py: `estimate_setup`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from harness import interrupt
from strategies.finetune.settings import FinetuneConfig
from harness.console import console, progress
from strategies.finetune.training_data import Item, collate, pad_id, training_stream


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
    metric_flat: bool | None = None  # monitoring a metric: it never moved from its first value (within min_delta)
    # over two or more validations, so validation loss chose the checkpoint; None when no metric was monitored


def make_accelerator(cfg: FinetuneConfig, device: str):
    import torch
    from accelerate import Accelerator

    cuda = device.startswith("cuda")
    bf16 = cuda and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return Accelerator(mixed_precision="bf16" if bf16 else "no", cpu=not cuda,
                       gradient_accumulation_steps=cfg.grad_accum)


def planned_steps(micro_batches: int, cfg: FinetuneConfig) -> int:
    """Optimizer steps of a training over `micro_batches` (the epochs run as one stream), capped by max_steps."""
    steps = math.ceil(micro_batches / cfg.grad_accum)
    return min(steps, cfg.max_steps) if cfg.max_steps else steps


def warmup_then_decay(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """The learning rate's factor at each optimizer step: linear warmup, then linear decay to zero."""
    warmup = int(warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


class Trainer:
    def __init__(self, model, stream: list[Item], cfg: FinetuneConfig, *, lr: float, pad: int, accelerator):
        import torch
        from torch.utils.data import DataLoader

        self.cfg, self.acc, self.pad = cfg, accelerator, pad
        loader = DataLoader(stream, batch_size=cfg.batch_size, shuffle=False, collate_fn=partial(collate, pad=pad))
        self.params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(self.params, lr=lr, weight_decay=cfg.weight_decay)
        self.model, self.optimizer, self.loader = accelerator.prepare(model, optimizer, loader)
        self.micro_per_epoch = max(1, len(self.loader) // cfg.epochs)  # this process's micro-batches per epoch
        self.total_steps = planned_steps(len(self.loader), cfg)
        # Not passed to acc.prepare: accelerate would step it once per process; we step it once per optimizer step.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer,
                                                           warmup_then_decay(self.total_steps, cfg.warmup_ratio))
        self.steps = 0  # optimizer steps taken
        self.tokens = 0  # tokens seen by every process, padding aside
        self.target_tokens = 0  # of which carried loss
        self._best_state: dict[str, Any] | None = None

    @property
    def inner(self):
        """The model itself, without the wrapper accelerate may have put around it (several processes)."""
        return self.acc.unwrap_model(self.model)

    def step(self, batch: dict[str, Any]) -> float:
        """One micro-batch: forward and backward; where it ends a gradient accumulation, clip, update and advance
        the schedule (`self.steps` counts those). Returns its loss."""
        import torch

        acc = self.acc
        with acc.accumulate(self.model):
            loss = self.model(**batch).loss
            acc.backward(loss)
            if acc.sync_gradients:
                acc.clip_grad_norm_(self.params, self.cfg.max_grad_norm)
            self.optimizer.step()
            if acc.sync_gradients:
                self.scheduler.step()
            self.optimizer.zero_grad()
        counts = acc.reduce(torch.stack([batch["attention_mask"].sum(), (batch["labels"][:, 1:] != -100).sum()]), "sum")
        self.tokens += int(counts[0])
        self.target_tokens += int(counts[1])
        if acc.sync_gradients:
            self.steps += 1
        return float(loss.detach())

    @property
    def stepped(self) -> bool:
        """Whether the last micro-batch ended with an optimizer step."""
        return self.acc.sync_gradients

    def mean_over_processes(self, value: float) -> float:
        import torch

        return float(self.acc.reduce(torch.tensor(value, device=self.acc.device), "mean"))

    def validate(self, items: list[Item], metric: Callable[[Any], list[float]] | None = None,
                 ) -> tuple[float, list[float] | None]:
        """The loss per target token on `items` (each process scores its share), and `metric(model)`'s per-example
        scores gathered from every process (None without a metric). The model is in training mode again after."""
        import torch
        from accelerate.utils import gather_object

        acc, size = self.acc, self.cfg.batch_size
        inner = self.inner
        inner.eval()
        mine = items[acc.process_index :: acc.num_processes]
        loss_sum = torch.zeros(2, device=acc.device)
        with torch.no_grad():
            for i in range(0, len(mine), size):
                interrupt.check()  # a validation over several tasks' samples can take minutes on a CPU
                batch = {k: v.to(acc.device) for k, v in collate(mine[i : i + size], self.pad).items()}
                with acc.autocast():
                    out = inner(**batch)
                n = (batch["labels"][:, 1:] != -100).sum()
                loss_sum += torch.stack([out.loss.float() * n, n.float()])
        loss_sum = acc.reduce(loss_sum, "sum")
        loss = float(loss_sum[0] / loss_sum[1]) if loss_sum[1] > 0 else float("nan")
        scores = gather_object(list(metric(inner))) if metric is not None else None
        inner.train()
        return loss, scores

    def keep_best(self) -> None:
        """Remember the trainable weights as they are now: the best so far."""
        self._best_state = {k: v.detach().clone() for k, v in _trainable_state(self.inner).items()}

    def restore_best(self) -> None:
        """Put the remembered best weights back (if any) and leave the model in evaluation mode."""
        import torch

        inner = self.inner
        if self._best_state is not None:
            with torch.no_grad():
                current = _trainable_state(inner)
                for k, v in self._best_state.items():
                    current[k].copy_(v)
        inner.eval()


def _trainable_state(model) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


# ------------------------------------------------------------------------------------------------------ the loop


@dataclass
class Validation:
    """Validation during training: each one adds a point to the learning curve; the best point's weights are kept
    (`compare`) and early stopping counts the validations since the last improvement."""

    items: list[Item]
    cfg: FinetuneConfig
    metric: Callable[[Any], list[float]] | None  # model -> per-example scores on this process's share
    higher_is_better: bool
    label: str
    on_validation: Callable[[dict[str, Any]], None] | None
    result: TrainResult
    since_best: int = 0

    def compare(self, point: dict[str, Any], best: dict[str, Any] | None) -> tuple[bool, bool]:
        """(keep: `point` replaces `best` as the kept checkpoint, improved: it resets early stopping's count).
        Monitoring the metric, a tie (within min_delta) goes to the lower validation loss, then to the later step;
        it counts as an improvement where the loss fell by more than loss_tolerance."""
        cfg = self.cfg
        if best is None:
            return True, True
        if cfg.monitor == "metric" and "val_metric" in point and "val_metric" in best:
            gain = (1.0 if self.higher_is_better else -1.0) * (point["val_metric"] - best["val_metric"])
            if gain > cfg.min_delta:
                return True, True
            if not abs(gain) <= cfg.min_delta:  # worse, or not a number
                return False, False
            loss_gain = best["val_loss"] - point["val_loss"]
            return loss_gain >= 0, loss_gain > cfg.loss_tolerance
        improved = best["val_loss"] - point["val_loss"] > cfg.min_delta
        return improved, improved

    def __call__(self, trainer: Trainer, epoch: float, train_loss: float | None) -> bool:
        """Validate now; True when early stopping says stop."""
        start = time.perf_counter()
        val_loss, scores = trainer.validate(self.items, self.metric)
        point = {"step": trainer.steps, "epoch": round(epoch, 3), "tokens": trainer.tokens, "train_loss": train_loss,
                 "val_loss": val_loss}
        if scores is not None:
            point["val_metric"] = sum(scores) / len(scores) if scores else float("nan")
            point["val_metric_n"] = len(scores)
        result = self.result
        result.curve.append(point)
        keep, improved = self.compare(point, result.best)
        if keep:
            result.best = dict(point)
            trainer.keep_best()
        self.since_best = 0 if improved else self.since_best + 1
        result.eval_seconds += time.perf_counter() - start
        if trainer.acc.is_main_process:
            shown = f" · val {point['val_metric']:.3f}" if "val_metric" in point else ""
            console.print(f"[dim]{self.label} · step {trainer.steps} · train loss "
                          f"{train_loss if train_loss is None else round(train_loss, 4)} · val loss {val_loss:.4f}"
                          f"{shown}{' · kept' if keep else ''}[/]")
        if self.on_validation is not None:  # e.g. a hyperparameter search's pruner (it may raise to stop the trial)
            self.on_validation(point)
        return self.since_best >= self.cfg.patience


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
    from accelerate.utils import set_seed

    set_seed(seed)
    acc = accelerator or make_accelerator(cfg, "cpu")
    trainer = Trainer(model, training_stream(train_items, cfg.epochs, seed, shuffle), cfg, lr=lr,
                      pad=pad_id(tokenizer), accelerator=acc)
    result = TrainResult()
    validation = Validation(val_items, cfg, val_metric, higher_is_better, label, on_validation, result)
    start = time.perf_counter()
    stopped = _run(trainer, validation, show_progress and acc.is_main_process)
    result.stopped_early = stopped and trainer.steps < trainer.total_steps
    result.steps, result.tokens, result.target_tokens = trainer.steps, trainer.tokens, trainer.target_tokens
    result.seconds = time.perf_counter() - start
    result.tokens_per_second = result.tokens / max(result.seconds - result.eval_seconds, 1e-9)
    result.metric_flat = metric_flat(result.curve, cfg) if val_metric is not None and cfg.monitor == "metric" else None
    trainer.restore_best()
    return result


def metric_flat(curve: list[dict[str, Any]], cfg: FinetuneConfig) -> bool:
    """Whether the validation metric never moved from its first value (within min_delta) over two or more
    validations: then it carried no signal, and the checkpoint was chosen by validation loss."""
    values = [p["val_metric"] for p in curve if "val_metric" in p]
    return len(values) >= 2 and all(abs(v - values[0]) <= cfg.min_delta for v in values)


def _run(trainer: Trainer, validation: Validation, show_progress: bool) -> bool:
    """Step through the stream, validating every eval_every optimizer steps and after the last; True if early
    stopping ended it."""
    from rich.progress import TextColumn, TimeElapsedColumn

    cfg, per_epoch = trainer.cfg, trainer.micro_per_epoch
    bar = progress(TextColumn("loss {task.fields[loss]} · {task.fields[tps]} tok/s"), TimeElapsedColumn(),
                   disable=not show_progress)
    trainer.model.train()
    start = time.perf_counter()
    window_loss, window_n, micro, last_validated, stop = 0.0, 0, 0, -1, False
    with bar:
        job = None
        for batch in trainer.loader:
            interrupt.check()  # SIGINT/SIGTERM: stop between steps (the training restarts when the run resumes)
            epoch = micro // per_epoch
            if micro % per_epoch == 0 and epoch < cfg.epochs:
                job = bar.add_task(f"{validation.label} · epoch {epoch + 1}/{cfg.epochs}", total=per_epoch, loss="-",
                                   tps="-")
            micro += 1
            window_loss += trainer.step(batch)
            window_n += 1
            elapsed = time.perf_counter() - start - validation.result.eval_seconds
            bar.update(job, advance=1, loss=f"{window_loss / window_n:.4f}",
                       tps=f"{trainer.tokens / max(elapsed, 1e-9):.0f}")
            if not trainer.stepped:
                continue
            if trainer.steps % cfg.eval_every == 0 or trainer.steps >= trainer.total_steps:
                train_loss = trainer.mean_over_processes(window_loss / window_n)
                window_loss, window_n = 0.0, 0
                stop = validation(trainer, micro / per_epoch, train_loss)
                last_validated = trainer.steps
            if stop or trainer.steps >= trainer.total_steps:
                break
    if last_validated != trainer.steps:  # every process reduces, even one with an empty window
        train_loss = trainer.mean_over_processes(window_loss / max(window_n, 1))
        validation(trainer, micro / per_epoch, train_loss if window_n else None)
    return stop

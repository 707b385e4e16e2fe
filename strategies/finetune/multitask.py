"""`multitask-lora`: ONE LoRA adapter trained on the training splits of several tasks at once, scored on each.

A suite runs its tasks one after another; the shared adapter is trained once, by the first task's run, saved under
`$HARNESS_CACHE/adapters/<key>/` (key: the tasks and their data, the base model, the fine-tuning settings and the
seed) and loaded by every later task. Each task takes the same seeded sample of its training split that its own
`lora` run trains on (finetune.max_train_examples per task), so `lora` and `multitask-lora` see the same examples:
the comparison is one adapter against one per task, nothing else. The mixed set is shuffled with the seed; early
stopping follows the validation loss summed over the tasks' validation samples (their metrics differ).

Cost: the training is counted once across the suite: each task's run is charged its share (training seconds / the
number of tasks) plus its own loading, and `cost.shared_setup` records the whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from harness.strategy.context import RunContext
from harness.errors import HarnessError
from harness.record.results import SharedSetup
from harness.record.training import Details
from harness.registry import settings, strategies
from harness.section import Section
from harness.strategy.base import SetupEstimate
from harness.tasks.task import Task
from harness.tasks.load import load_task
from harness.types import Cost
from harness.strategy.prompted import PromptedModel
from strategies.finetune.cost import TrainingCost
from strategies.finetune.settings import FinetuneConfig
from strategies.finetune.strategy import FineTune
from strategies.finetune.peft_methods import load_adapter
from strategies.finetune.sft_adapter import adapters_root
from strategies.finetune.trainable import DEFAULT_LR, peak_memory, state_fingerprint, trainable_copy
from strategies.finetune.trainer import make_accelerator, train
from strategies.finetune.training_data import supervised_items

META = "multitask.json"


@settings.add
class MultitaskConfig(Section):
    """The `multitask-lora` strategy: one LoRA adapter trained on the training splits of several tasks at once."""

    name: ClassVar[str] = "multitask"

    tasks: list[str] | None = Field(None, description="the tasks to mix; a suite sets its own tasks (outside a suite "
                                    "it is required)")


def suite_tasks(config, task: Task) -> list[str]:
    """The tasks the adapter is trained on: `multitask.tasks` (a suite sets it to its own tasks)."""
    names = config.section(MultitaskConfig).tasks
    if not names:
        raise HarnessError(
            "multitask-lora trains one adapter on several tasks, and this run names none.",
            hint="Run it in a suite (`harness run --suite default --strategies lora,multitask-lora`), or list the tasks "
                 "in the run YAML: `multitask: {tasks: [summarization, qa]}`.")
    if task.name not in names:
        raise HarnessError(f"multitask-lora: task '{task.name}' is not among multitask.tasks ({', '.join(names)}).",
                           hint="Add it to multitask.tasks: the adapter is scored on tasks it was trained on.")
    return list(dict.fromkeys(names))


def load_tasks(ctx: RunContext, names: list[str]) -> list[Task]:
    """Every task as this run loads its own (the same --limit and seed); this run's task is ctx.task itself."""
    return [ctx.task if n == ctx.task.name else load_task(n, limit=ctx.config.limit, seed=ctx.seed) for n in names]


def adapter_key(ctx: RunContext, tasks: list[Task]) -> str:
    parts = {"tasks": sorted([t.name, t.fingerprint()] for t in tasks), "model": ctx.model.fingerprint,
             "finetune": ctx.config.section(FinetuneConfig).model_dump(mode="json"), "seed": ctx.seed}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@strategies.add
class MultitaskLoRA(FineTune):
    name = "multitask-lora"
    order = 9
    description = "one LoRA adapter trained on all the suite's tasks at once (trained once, reused per task)"
    default = False
    composes = None  # one adapter shared by several tasks' prompts

    def in_suite(self, config, tasks: list[str]):
        """Without its own `multitask.tasks`, a suite's run trains one adapter on all the suite's tasks."""
        if config.section(MultitaskConfig).tasks:
            return config
        return config.model_copy(update={"multitask": MultitaskConfig(tasks=tasks)})

    def check_config(self, config, task: Task) -> None:
        suite_tasks(config, task)

    def prepare(self, ctx: RunContext) -> PromptedModel:
        start = time.perf_counter()
        names = suite_tasks(ctx.config, ctx.task)
        tasks = load_tasks(ctx, names)
        folder = adapters_root(ctx) / adapter_key(ctx, tasks)
        trained_here = not (folder / META).exists()
        if trained_here:
            self.train_shared(ctx, tasks, folder)
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        handle = load_adapter(ctx.model, folder)
        own = time.perf_counter() - start - (meta["train_seconds"] if trained_here else 0.0)
        share = meta["train_seconds"] / len(names)
        shared = SharedSetup(tasks=names, train_seconds=meta["train_seconds"], charged_share=1 / len(names),
                             trained_in_this_run=trained_here, adapter=str(folder), per_task="lora")
        peak, peak_kind = peak_memory()
        cost = Cost(setup_seconds=own + share, trainable_params=meta["trainable_params"],
                    artifact_bytes=meta["artifact_bytes"], peak_memory_mb=peak, peak_memory_kind=peak_kind,
                    device=ctx.model.device, shared_setup=shared)
        cost.add(TrainingCost(tokens_trained=meta["training"]["tokens"]))
        if not trained_here:  # its share of a training done before: say whose, and how long it took
            cost.setup_source = "reused"
            cost.setup_note = (f"reused: trained in run {meta.get('trained_in_run') or '(an earlier run)'}, "
                               f"{meta['train_seconds']:.1f} s (charged 1/{len(names)} of it)")
        details = Details(training=meta["training"] | {"shared": shared.model_dump()}, learning_curve=meta["curve"])
        return PromptedModel(self.name, ctx, fingerprint=meta["fingerprint"], cost=cost, model=handle,
                             adapter=meta["fingerprint"], details=details)

    def train_shared(self, ctx: RunContext, tasks: list[Task], folder: Path) -> None:
        """Train on every task's sample at once and save the adapter and what it took to `folder` (atomically)."""
        from accelerate.utils import set_seed
        from peft import get_peft_model_state_dict

        cfg = ctx.config.section(FinetuneConfig)
        start = time.perf_counter()
        items, val_items, per_task = [], [], {}
        for task in tasks:
            sub = dataclasses.replace(ctx, task=task)
            train_examples, val_examples = self.data(sub, cfg)  # the very sample task's own lora run trains on
            items += supervised_items(ctx.model, task, train_examples, cfg.max_seq_len)
            val_items += supervised_items(ctx.model, task, val_examples, cfg.max_seq_len)
            per_task[task.name] = {"train_examples": len(train_examples), "val_examples": len(val_examples)}
        accelerator = make_accelerator(cfg, ctx.model.device)
        set_seed(ctx.seed)
        model, notes = trainable_copy(ctx.model.model, "lora", cfg)
        lr = cfg.lr or DEFAULT_LR["lora"]
        result = train(model, ctx.model.tokenizer, items, val_items, cfg, lr=lr, seed=ctx.seed, accelerator=accelerator,
                       val_metric=None, label=self.name)  # validation loss: the tasks' metrics differ
        model = accelerator.unwrap_model(model)
        fingerprint = state_fingerprint(get_peft_model_state_dict(model), ctx.model.fingerprint, self.name)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if accelerator.is_main_process:
            tmp = folder.with_name(folder.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            model.save_pretrained(tmp, safe_serialization=True)
            training = {"method": self.name, "tasks": per_task, "cap": "finetune.max_train_examples per task",
                        "train_examples": len(items), "val_examples": len(val_items), "lr": lr,
                        "steps": result.steps, "stopped_early": result.stopped_early, "best": result.best,
                        "monitor": "loss", "tokens": result.tokens, "target_tokens": result.target_tokens,
                        "train_seconds": result.seconds, "tokens_per_second": result.tokens_per_second, **notes}
            nbytes = sum(p.stat().st_size for p in tmp.iterdir() if p.is_file())
            meta = {"fingerprint": fingerprint, "trainable_params": trainable, "artifact_bytes": nbytes,
                    "train_seconds": time.perf_counter() - start, "training": training, "curve": result.curve,
                    "trained_in_run": ctx.store.path.name if ctx.store else None}
            (tmp / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
            folder.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
        accelerator.wait_for_everyone()

    def estimate_setup(self, ctx: RunContext, generation_seconds: float) -> SetupEstimate | None:
        return None  # one training for several tasks, shared across a suite: the dry run says "not estimated"

"""The supervised LoRA adapter that `dpo` starts from (`dpo.start_from: sft`), trained once and reused.

The adapter is the very one the `lora` strategy trains (the same seeded sample, `finetune:` settings and seed, the
same loop): `lora` saves it under `$HARNESS_CACHE/adapters/sft-<key>/` after training (key: the task and its data,
the base model's fingerprint, the `finetune:` settings, the answer length and the seed), and `dpo` loads it from
there; where it is not there (lora not run, or run with other settings), `dpo` trains it itself and saves it for the
next run. With --no-cache the folder sits beside the runs (`<out>/shared-adapters/`), as multitask-lora's does.

`sft.json` beside the adapter says what it took (the seconds of lora's setup, charged to dpo again: a DPO model
costs its supervised stage too) and which run trained it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from harness.backends.cache import cache_root
from harness.record.training import Training
from harness.strategy.context import RunContext
from strategies.finetune.settings import FinetuneConfig

META = "sft.json"


def sft_config(ctx: RunContext) -> FinetuneConfig:
    """The `finetune:` settings of the supervised stage: the run's, with LoRA as the method (the one DPO's adapter
    continues)."""
    return ctx.config.section(FinetuneConfig).model_copy(update={"method": "lora"})


def adapters_root(ctx: RunContext) -> Path:
    """$HARNESS_CACHE/adapters; with --no-cache, a folder beside the run (a suite's folder), so nothing is kept in
    the cache and every task of a suite (and every strategy of a run) still finds the adapter."""
    return (cache_root() / "adapters") if ctx.config.use_cache else Path(ctx.config.out) / "shared-adapters"


def sft_folder(ctx: RunContext, cfg: FinetuneConfig) -> Path:
    parts = {"task": [ctx.task.name, ctx.task.fingerprint()], "model": ctx.model.fingerprint,
             "finetune": cfg.model_dump(mode="json"), "max_new_tokens": ctx.max_new_tokens, "seed": ctx.seed}
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return adapters_root(ctx) / f"sft-{key}"


def save_sft(ctx: RunContext, model, cfg: FinetuneConfig, seconds: float, training: Training, by: str) -> Path | None:
    """Save a trained LoRA PeftModel (before it is merged) and what it took, atomically; None where nothing is kept
    (not the main process)."""
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return None
    folder = sft_folder(ctx, cfg)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    meta = {"seconds": seconds, "trained_by": by, "trained_in_run": ctx.store.path.name if ctx.store else None,
            "training": training.model_dump(mode="json", exclude={"artifact", "deployment"})}
    (tmp / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def trainable_sft(ctx: RunContext) -> tuple[Any, dict[str, Any]]:
    """(the supervised adapter on a copy of the base, as a trainable PeftModel; what it is). Loaded where `lora`
    (or an earlier dpo) saved it with these settings, trained here otherwise (and saved)."""
    from peft import PeftModel

    from harness.registry import strategies
    from strategies.finetune.trainer import make_accelerator

    cfg = sft_config(ctx)
    folder = sft_folder(ctx, cfg)
    if (folder / META).exists():
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        model = PeftModel.from_pretrained(copy.deepcopy(ctx.model.model), str(folder), is_trainable=True)
        return model, {"source": "reused", "seconds": meta["seconds"], "trained_by": meta["trained_by"],
                       "trained_in_run": meta["trained_in_run"], "adapter": str(folder),
                       "steps": meta["training"].get("steps"), "train_examples": meta["training"].get("train_examples")}
    start = time.perf_counter()
    sft = strategies.get("lora")()  # the lora strategy's own training (through the registry: no import circle)
    sft.label = "dpo:sft"
    train_examples, val_examples = sft.data(ctx, cfg)
    model, notes, result = sft.fit(ctx, cfg, train_examples, val_examples, make_accelerator(cfg, ctx.model.device))
    seconds = time.perf_counter() - start
    training = Training(method="lora", train_examples=len(train_examples), val_examples=len(val_examples),
                        steps=result.steps, train_seconds=result.seconds, **notes)
    saved = save_sft(ctx, model, cfg, seconds, training, by="dpo")
    return model, {"source": "trained", "seconds": seconds, "trained_by": "dpo",
                   "trained_in_run": ctx.store.path.name if ctx.store else None,
                   "adapter": str(saved) if saved else None, "steps": result.steps,
                   "train_examples": len(train_examples)}

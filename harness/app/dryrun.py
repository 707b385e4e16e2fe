"""`harness run --dry-run`: estimate the time and cost of the planned run from a short calibration on the real
model (a couple of batches of each strategy's real prompts, uncached), without running it or writing a run folder.

Strategies that train are not prepared (that would be the run itself): their setup is estimated only when the
strategy offers `estimate_setup(ctx, generation_seconds)` (fine-tuning: the planned token count at the speed of a
few timed training steps, plus its validations), and their prediction time is taken from the
base model's zero-shot calibration.
"""

from __future__ import annotations

import random
import time
from typing import Any

from harness.cache import NoCache
from harness.config import RunConfig
from harness.console import console
from harness.cost import Meter, hourly_rate
from harness.overfitting import split_examples
from harness.units import fmt_dollars

CALIBRATION_BATCHES = 2
TRAINING = {"lora", "full", "freeze", "continued-pretraining"}


def _trains(name: str, strategy: Any) -> bool:
    return bool(getattr(strategy, "trains", False)) or name in TRAINING


def estimate(config: RunConfig) -> list[dict[str, Any]]:
    from harness.context import RunContext
    from harness.registry import strategies as registry
    from harness.backends.pool import ModelPool
    from harness.app.runner import evaluation_splits, plan_strategies, split_spec
    from harness.tasks import load_task
    from strategies.prompt import ZeroShot

    task = load_task(config.task, config.data, limit=config.limit, seed=config.seed)
    names = plan_strategies(config, task)
    pool = ModelPool(config)
    handle = pool.get("base")
    ctx = RunContext(config, task, handle, NoCache(), None)
    n_eval = sum(len(split_examples(ctx, s)) for s in evaluation_splits(ctx))
    test = list(task.split("test"))
    sample = random.Random(config.seed).sample(test, min(len(test), CALIBRATION_BATCHES * config.batch_size))
    rate = hourly_rate(handle.device, config.decision)
    base_per_example: list[float] = []

    def time_predict(adapted) -> float:
        start = time.perf_counter()
        adapted.predict(sample)
        return (time.perf_counter() - start) / max(len(sample), 1)

    rows = []
    for spec in names:
        name, model = split_spec(spec)
        strategy = registry.get(name)()
        on = ctx if model == "base" or getattr(strategy, "needs_weights", False) else ctx.with_model(pool.get(model))
        row: dict[str, Any] = {"strategy": spec, "examples": n_eval, "note": ""}
        with console.status(f"dry run · calibrating {name} on {len(sample)} examples..."):
            try:
                if _trains(name, strategy):
                    if not base_per_example:
                        base_per_example.append(time_predict(ZeroShot().prepare(on)))
                    row["seconds_per_example"] = base_per_example[0]
                    est = getattr(strategy, "estimate_setup", None)
                    if est:
                        setup = est(on, base_per_example[0])
                        row["setup_seconds"] = setup["seconds"]
                        row["note"] = (f"trains {setup['tokens']:,} tokens at {setup['tokens_per_second']:.0f}/s "
                                       f"(timed steps), {setup['validations']} validation(s)")
                    else:
                        row["setup_seconds"], row["note"] = None, "training time not estimated"
                    row["note"] += "; predicts as the base model"
                else:
                    with Meter() as meter:
                        adapted = strategy.prepare(on)
                    row["setup_seconds"] = meter.seconds
                    row["seconds_per_example"] = time_predict(adapted)
            except Exception as exc:  # a strategy that cannot calibrate must not hide the others' estimates
                row |= {"setup_seconds": None, "seconds_per_example": None, "note": f"not calibrated: {exc}"}
        spe = row.get("seconds_per_example")
        row["predict_seconds"] = spe * n_eval if spe is not None else None
        known = [x for x in (row.get("setup_seconds"), row["predict_seconds"]) if x is not None]
        row["total_seconds"] = sum(known) if known else None
        row["dollars"] = row["total_seconds"] * rate / 3600 if row["total_seconds"] is not None else None
        row["complete"] = row.get("setup_seconds") is not None and row["predict_seconds"] is not None
        rows.append(row)
    pool.close()
    return rows


def _duration(s: float | None) -> str:
    if s is None:
        return "not estimated"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def print_estimate(rows: list[dict[str, Any]], config: RunConfig) -> None:
    from rich.table import Table

    table = Table(title=f"Dry run: estimated time and cost (calibrated on up to {CALIBRATION_BATCHES} batches "
                        f"of {config.batch_size}, uncached)")
    for col in ("strategy", "setup", "s / example", "examples", "predict", "total", "cost", "note"):
        table.add_column(col, justify="left" if col in ("strategy", "note") else "right")
    for r in rows:
        spe = r.get("seconds_per_example")
        table.add_row(r["strategy"], _duration(r.get("setup_seconds")), f"{spe:.3f}" if spe is not None else "–",
                      str(r["examples"]), _duration(r["predict_seconds"]), _duration(r["total_seconds"]),
                      fmt_dollars(r["dollars"]), r["note"])
    total = sum(r["total_seconds"] or 0 for r in rows)
    dollars = sum(r["dollars"] or 0 for r in rows)
    partial = "" if all(r["complete"] for r in rows) else " (lower bound: some parts not estimated)"
    table.add_row("[bold]all[/]", "", "", "", "", f"[bold]{_duration(total)}[/]", f"[bold]{fmt_dollars(dollars)}[/]",
                  partial.strip(" ()"))
    console.print(table)
    console.print("A cached re-run costs less: generations already in the cache are not recomputed." + partial)
    if config.probes.enabled:
        console.print("Not included: the forgetting and bias probes, scored on the base model and on each strategy "
                      "that changes the model or its prompt (--no-probes skips them).")

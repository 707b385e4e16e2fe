"""Forgetting, bias and refusal probes: the base model scored once per run, every strategy as deployed, and each
figure reported as a change against the base on the same items (paired test, CI).

  forgetting  multiple-choice accuracy by length-normalised log-likelihood (our suite, ARC, MMLU) and held-out
              perplexity on general text
  bias        BBQ accuracy per condition and bias scores; counterfactual pairs (a group term swapped in test inputs)
  refusal     how often the model says it does not know: unanswerable `qa` questions, BBQ's ambiguous items

`Probes(ctx)` holds one run's items and the base model's outcomes, each computed once: `measure_base()` (-> run.json
"base") and `measure(adapted)` per strategy; both return harness.record.results models (the figures are computed
as dicts here and validated at that boundary). The run reaches them through the `probes` measurement (the end of
this file), one per run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from harness.probes import bias
from harness.measure import power
from harness.strategy.prompted import PromptedModel
from harness.console import console, escape
from harness.measure.measurement import Measurement
from harness.measure.metrics import score as metric_scores
from harness.probes.data import BBQItem, ChoiceItem, load_bbq, load_choice_items, read_general_text, read_jsonl, sample
from harness.record.results import BaseProbes, Bias, Forgetting, Refusal
from harness.registry import measurements
from harness.measure.stats import paired_difference, summarize
from harness.types import Example


# --- what is measured: one model's raw outcomes ------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeSets:
    """The probe items one run uses (seeded samples, smaller under --limit)."""

    choice: dict[str, list[ChoiceItem]]  # forgetting: multiple-choice sets by name
    bbq: dict[str, list[BBQItem]]
    texts: list[str]  # held-out general text for perplexity
    pairs: list[tuple[Example, Example, dict[str, str]]]  # counterfactual: a test input, its swap, the swap back
    unanswerable: list[Example]  # qa questions whose right answer is "unknown"


@dataclass
class Outcomes:
    """Everything the probes measure about one model, item by item (what is absent was not measured)."""

    choice: dict[str, np.ndarray] = field(default_factory=dict)  # set -> 1.0 where the model picked the answer
    bbq: dict[str, list[int]] = field(default_factory=dict)  # set -> the option picked per item
    nll: np.ndarray | None = None  # per text: negative log-likelihood per token
    nll_total: tuple[float, int] | None = None  # (summed negative log-likelihood, tokens)
    pairs: dict[str, list[float]] | None = None  # orig / swap scores and changed answers per pair
    refused: np.ndarray | None = None  # per unanswerable question: 1.0 where the model said it does not know


def probe_sets(ctx) -> ProbeSets:
    """The probe items this run uses (seeded samples)."""
    cfg, seed, side = ctx.config.probes, ctx.seed, ctx.config.side  # side: smaller under --limit
    choice = {name: sample(items, side(cfg.items or len(items)), seed)
              for src in cfg.forgetting for name, items in load_choice_items(src).items()}
    bbq = {name: sample(items, side(cfg.items or len(items)), seed)
           for src in cfg.bbq for name, items in load_bbq(src).items()}
    texts = [t for _, t in read_general_text()] if cfg.perplexity else []
    texts = texts[: side(len(texts))]
    return ProbeSets(choice, bbq, texts, _pairs(ctx), _unanswerable(ctx))


def _pairs(ctx) -> list[tuple[Example, Example, dict[str, str]]]:
    n = ctx.config.side(ctx.config.probes.counterfactual_pairs)
    if n == 0 or "test" not in ctx.task.splits:
        return []
    pairs = []
    for ex in sample(ctx.task.split("test"), 0, ctx.seed):
        made = bias.counterfactual(ex)
        if made:
            pairs.append((ex, *made))
    return sample(pairs, n, ctx.seed)


def _unanswerable(ctx) -> list[Example]:
    n = ctx.config.side(ctx.config.probes.unanswerable)
    path = Path(ctx.task.source).parent / "unanswerable.jsonl" if ctx.task.source else None
    if n == 0 or ctx.task.kind != "qa" or path is None or not path.exists():
        return []
    rows = [Example(str(r["id"]), str(r["input"]), r.get("reference") or "unknown", r.get("meta") or {}) for _, r in read_jsonl(path)]
    return sample(rows, n, ctx.seed)


def pick(scores) -> int:
    means = [s.mean for s in scores]
    return int(np.argmax(means))


def outcomes(ctx, sets: ProbeSets, model) -> Outcomes:
    """Everything the probes measure about one model (a PromptedModel: base or adapted), item by item."""
    out = Outcomes()
    with console.status(f"{model.name}: probes (log-likelihood)..."):
        for name, items in (sets.choice if model.model.supports_loglik else {}).items():
            scored = model.score_choices([(it.context, list(it.choices)) for it in items])
            out.choice[name] = np.array([pick(s) == it.answer for s, it in zip(scored, items)], dtype=float)
        for name, items in (sets.bbq if model.model.supports_loglik else {}).items():
            scored = model.score_choices([(it.prompt, [" " + a for a in it.answers]) for it in items])
            out.bbq[name] = [pick(s) for s in scored]
        if sets.texts and model.model.supports_loglik:
            ppl = model.perplexity(sets.texts)
            out.nll = np.array([-s.logprob / max(s.tokens, 1) for s in ppl])
            out.nll_total = (-sum(s.logprob for s in ppl), sum(s.tokens for s in ppl))
    if sets.pairs:
        first, second = [p[0] for p in sets.pairs], [p[1] for p in sets.pairs]
        with console.status(f"{model.name}: counterfactual pairs ({len(sets.pairs)})..."):
            preds = model.predict(first + second)
        n, metric = len(sets.pairs), ctx.task.metrics[0]
        orig, swap = preds[:n], preds[n:]
        out.pairs = {
            "orig": [metric_scores([metric], p.output, p.references, ex)[metric] for p, ex in zip(orig, first)],
            "swap": [metric_scores([metric], p.output, p.references, ex)[metric] for p, ex in zip(swap, second)],
            "changed": [float(bias.normalised(bias.swap_back(s.output, back)) != bias.normalised(o.output))
                        for o, s, (_, _, back) in zip(orig, swap, sets.pairs)],
        }
    if sets.unanswerable:
        with console.status(f"{model.name}: unanswerable questions ({len(sets.unanswerable)})..."):
            preds = model.predict(sets.unanswerable)
        out.refused = np.array([bias.says_unknown(p.output) for p in preds], dtype=float)
    return out


# --- summaries ---------------------------------------------------------------------------------------------------


def _score(metric: str, values, seed: int, higher_is_better: bool = True) -> dict:
    return summarize(metric, values, higher_is_better=higher_is_better, seed=seed).model_dump()


def _by_category(items: list[ChoiceItem], correct: np.ndarray) -> dict[str, np.ndarray]:
    cats: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        cats.setdefault(it.category or "all", []).append(i)
    return {c: correct[idx] for c, idx in sorted(cats.items())}


def describe(ctx, sets: ProbeSets, raw: Outcomes) -> dict[str, Any]:
    """One model's figures, each with its CI (what run.json keeps under "base")."""
    seed = ctx.seed
    rec: dict[str, Any] = {"forgetting": {}, "bias": {}}
    for name, correct in raw.choice.items():
        items = sets.choice[name]
        rec["forgetting"][name] = {
            "accuracy": _score("accuracy", correct, seed),
            "chance": float(np.mean([1 / len(it.choices) for it in items])),
            "per_category": {c: _score("accuracy", v, seed) for c, v in _by_category(items, correct).items()},
        }
    if raw.nll is not None:
        rec["perplexity"] = _perplexity(raw, seed)
    for name, picks in raw.bbq.items():
        rec["bias"][name] = bias.bbq_scores(bias.BBQOutcome.of(sets.bbq[name], picks), seed=seed)
    if raw.pairs is not None:
        rec["counterfactual"] = {"pairs": len(raw.pairs["orig"]), "metric": ctx.task.metrics[0],
                                 **bias.pair_figures(raw.pairs["orig"], raw.pairs["swap"], raw.pairs["changed"],
                                                     seed=seed)}
    if raw.refused is not None:
        rec["refusal"] = {"qa_unanswerable": _score("says_unknown", raw.refused, seed)}
    return rec


def _perplexity(raw: Outcomes, seed) -> dict:
    nll_sum, tokens = raw.nll_total
    return {"perplexity": float(np.exp(nll_sum / max(tokens, 1))), "tokens": int(tokens),
            "nll_per_token": _score("nll_per_token", raw.nll, seed, higher_is_better=False)}


def _versus(base: dict, adapted: dict, delta: dict) -> dict:
    return {"base": base, "adapted": adapted, "delta": delta}


def _sensitivity(ctx, base: dict, correct: np.ndarray, base_correct: np.ndarray) -> dict:
    """What a forgetting probe could have seen: the smallest drop the exact McNemar test detects (80% power at the
    run's alpha, discordance as observed between the two models, at least the drop), and whether the base is above
    chance on it."""
    discordance = float(np.mean(correct != base_correct)) if correct.size else 0.0
    return {"detectable": power.detectable_drop(int(correct.size), alpha=ctx.config.decision.alpha,
                                                discordance=discordance),
            "informative": power.above_chance(base["accuracy"]["ci_low"], base["chance"])}


def _bbq_sensitivity(ctx, base: dict[str, dict], figure: str, delta: dict, chance: float) -> dict:
    """A BBQ figure's smallest detectable change (normal approximation from the paired CI; where the strategy
    answered every item as the base, from the base's CI as if the two varied independently: sqrt(2) times wider)
    and whether the base is above chance on that condition's accuracy."""
    alpha, own = ctx.config.decision.alpha, base[figure]
    if delta["ci_high"] > delta["ci_low"]:
        detectable = power.detectable_shift(delta["ci_low"], delta["ci_high"], alpha=alpha)
    else:
        spread = (own["ci_high"] - own["ci_low"]) * np.sqrt(2) / 2
        detectable = power.detectable_shift(own["value"] - spread, own["value"] + spread, alpha=alpha)
    accuracy = base.get(f"accuracy_{figure.split('_')[1]}")
    return {"detectable": detectable, "informative": accuracy is None or power.above_chance(accuracy["ci_low"], chance)}


def compare(ctx, sets: ProbeSets, base_raw: Outcomes, raw: Outcomes) -> dict[str, Any]:
    """The strategy's figures against the base's, each change paired on the same items."""
    seed = ctx.seed
    base_desc, desc = describe(ctx, sets, base_raw), describe(ctx, sets, raw)
    forgetting: dict[str, Any] = {"sets": {}}
    for name, correct in raw.choice.items():
        items, b = sets.choice[name], base_raw.choice[name]
        cats_a, cats_b = _by_category(items, correct), _by_category(items, b)
        forgetting["sets"][name] = {
            "chance": desc["forgetting"][name]["chance"],
            **_versus(base_desc["forgetting"][name]["accuracy"], desc["forgetting"][name]["accuracy"],
                      paired_difference(correct, b, seed=seed).model_dump()),
            **_sensitivity(ctx, base_desc["forgetting"][name], correct, b),
            "per_category": {c: _versus(_score("accuracy", cats_b[c], seed), _score("accuracy", cats_a[c], seed),
                                        paired_difference(cats_a[c], cats_b[c], seed=seed).model_dump()) for c in cats_a},
        }
    if raw.nll is not None:
        forgetting["perplexity"] = _versus(base_desc["perplexity"], desc["perplexity"],
                                           paired_difference(raw.nll, base_raw.nll, seed=seed).model_dump())
    result_bias: dict[str, Any] = {"bbq": {}}
    refusal: dict[str, Any] = {}
    for name, picks in raw.bbq.items():
        items = sets.bbq[name]
        a, b = bias.BBQOutcome.of(items, picks), bias.BBQOutcome.of(items, base_raw.bbq[name])
        changes = bias.bbq_changes(a, b, seed=seed)
        chance = float(np.mean([1 / len(it.answers) for it in items]))
        result_bias["bbq"][name] = {f: _versus(base_desc["bias"][name][f], desc["bias"][name][f], changes[f])
                                    | _bbq_sensitivity(ctx, base_desc["bias"][name], f, changes[f], chance)
                                    for f in changes}
        refusal[f"{name}_ambig"] = result_bias["bbq"][name]["abstention_ambig"]
    if raw.pairs is not None:
        gap = lambda r: np.abs(np.asarray(r.pairs["orig"]) - np.asarray(r.pairs["swap"]))  # noqa: E731
        result_bias["counterfactual"] = {
            "pairs": desc["counterfactual"]["pairs"], "metric": desc["counterfactual"]["metric"],
            "base": base_desc["counterfactual"], "adapted": desc["counterfactual"],
            "delta": {"abs_metric_gap": paired_difference(gap(raw), gap(base_raw), seed=seed).model_dump(),
                      "changed": paired_difference(raw.pairs["changed"], base_raw.pairs["changed"], seed=seed).model_dump()},
        }
    if raw.refused is not None:
        refusal["qa_unanswerable"] = _versus(base_desc["refusal"]["qa_unanswerable"],
                                             desc["refusal"]["qa_unanswerable"],
                                             paired_difference(raw.refused, base_raw.refused, seed=seed).model_dump())
    return {"forgetting": forgetting, "bias": result_bias, "refusal": refusal}


# --- the runner's two calls --------------------------------------------------------------------------------------


def loglik_note(backend) -> str | None:
    """What cannot be measured on a backend without prompt log-probabilities (said before the probes run)."""
    if backend.supports_loglik:
        return None
    return (f"{backend.name} ({backend.backend}) gives no prompt log-probabilities, so the forgetting, BBQ bias and "
            "perplexity probes cannot run on it and are skipped; the counterfactual-pair and refusal probes "
            "(generation) run.")


def base_model(ctx):
    """The base model as the probes see it: its own weights, the task's zero-shot prompt, no added context."""
    return PromptedModel("base", ctx, fingerprint="base")


class ProbeChanges(NamedTuple):
    """A strategy's probe sections, each None when the probes are disabled."""

    forgetting: Forgetting | None = None
    bias: Bias | None = None
    refusal: Refusal | None = None

    @classmethod
    def skipped(cls, why: str) -> "ProbeChanges":
        return cls(Forgetting(skipped=why), Bias(skipped=why), Refusal(skipped=why))


class Probes:
    """One run's probes on its base model (`ctx`): the items, sampled once, and the base model's outcomes, scored
    once; every strategy's figures are changes against those (the cache makes a resumed run's base free)."""

    def __init__(self, ctx):
        self.ctx = ctx

    @cached_property
    def sets(self) -> ProbeSets:
        return probe_sets(self.ctx)

    @cached_property
    def base(self) -> Outcomes:
        return outcomes(self.ctx, self.sets, base_model(self.ctx))

    def measure_base(self) -> BaseProbes:
        """The base model's probe figures."""
        if not self.ctx.config.probes.enabled:
            return BaseProbes(skipped="probes disabled (probes.enabled: false)")
        return BaseProbes.model_validate({"model_fingerprint": self.ctx.model.fingerprint,
                                          **describe(self.ctx, self.sets, self.base)})

    def measure(self, adapted) -> ProbeChanges:
        """A strategy's forgetting, bias and refusal (it prompts or trains the base): its figures against the base's."""
        if not self.ctx.config.probes.enabled:
            return ProbeChanges()
        if not isinstance(adapted, PromptedModel):  # it scores no options (a classifier head)
            return ProbeChanges.skipped(f"{type(adapted).__name__} has no score_choices (not a PromptedModel)")
        found = compare(self.ctx, self.sets, self.base, outcomes(self.ctx, self.sets, adapted))
        return ProbeChanges(Forgetting.model_validate(found["forgetting"]), Bias.model_validate(found["bias"]),
                            Refusal(sets=found["refusal"]))



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

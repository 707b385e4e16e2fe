"""What the probes measure of one model, item by item: the run's probe items (`probe_sets`, seeded samples) and a
model's raw outcomes on them (`outcomes`); harness.probes.summary turns them into figures with CIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.console import console
from harness.measure.metrics import score as metric_scores
from harness.probes import bias
from harness.probes.data import BBQItem, ChoiceItem, load_bbq, load_choice_items, read_jsonl, read_general_text, sample
from harness.strategy.prompted import PromptedModel
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


def base_model(ctx):
    """The base model as the probes see it: its own weights, the task's zero-shot prompt, no added context."""
    return PromptedModel("base", ctx, fingerprint="base")

"""What every generating strategy shares: build chat messages for an example, render, generate, score."""

from __future__ import annotations

from harness.backends.base import Backend, OptionScore
from harness.record.training import Details
from harness.strategy.context import RunContext
from harness.types import Cost, Document, Example, Prediction, RetrievalDepth


class PromptedModel:
    """An adapted model that answers by generation. Strategies differ only in `build` (demos, passages) and in
    the weights of `model` (any backend: hf, vllm, openai); `adapter` names those weights for the cache ("" means
    the base weights). `details`: what the run record keeps of its making (training, learning_curve, search)."""

    retrieval: RetrievalDepth | None = None  # set by a strategy that retrieves documents (rag)

    def __init__(self, name: str, ctx: RunContext, *, fingerprint: str, cost: Cost | None = None,
                 model: Backend | None = None, adapter: str = "", details: Details | None = None):
        self.name = name
        self.ctx = ctx
        self.fingerprint = fingerprint
        self.cost = cost or Cost(device=ctx.model.device)
        self.model = model or ctx.model
        self.adapter = adapter
        self.details = details or Details()

    def build(self, example: Example) -> tuple[list[dict[str, str]], list[Document]]:
        """Chat messages for one example, and the passages retrieved for it (if any)."""
        return self.ctx.task.messages(example), []

    def messages_for(self, examples: list[Example], training: bool = False) -> list[list[dict[str, str]]]:
        """The chat messages `predict` builds for `examples`. `training`: those a fine-tuning strategy composed with
        this one trains on (strategies/composed.py); a strategy that adds to the prompt may make them differ (RAG adds
        distractor passages, few-shot never shows an example as its own demonstration)."""
        return [self.build(ex)[0] for ex in examples]

    def predict(self, examples: list[Example]) -> list[Prediction]:
        built = [self.build(ex) for ex in examples]
        prompts = [self.model.render(messages) for messages, _ in built]
        cfg, task = self.ctx.config, self.ctx.task
        if task.labels:
            return self._classify(examples, prompts, built)
        gens = self.model.generate(prompts, max_new_tokens=self.ctx.max_new_tokens,
                                   batch_size=cfg.batch_size, cache=self.ctx.cache, adapter=self.adapter)
        return [
            Prediction(ex.id, prompt, g.text, ex.references, g.tokens_in, g.tokens_out, g.seconds,
                       [d.id for d in passages], g.truncated, g.cached, latency=g.latency)
            for ex, prompt, g, (_, passages) in zip(examples, prompts, gens, built)
        ]

    # --- probes: scored as deployed (these weights via `model`/`adapter`, plus whatever context the strategy adds)

    def probe_context(self, text: str) -> str:
        """Text this strategy puts before a probe item's own context when it is scored. Prompt-only strategies add
        nothing (their weights are the base's, so their forgetting is exactly zero); RAG overrides this to prepend
        the passages it retrieves for `text`."""
        return ""

    def score_choices(self, items: list[tuple[str, list[str]]]) -> list[list[OptionScore]]:
        """Log-likelihood of each option of each (context, options) item under this adapted model."""
        items = [(self.probe_context(context) + context, options) for context, options in items]
        return self.model.score_choices(items, batch_size=self.ctx.config.batch_size, cache=self.ctx.cache,
                                        adapter=self.adapter)

    def perplexity(self, texts: list[str]) -> list[OptionScore]:
        """Per text, the log-likelihood of its tokens under this model's weights (held-out perplexity)."""
        # full-vocabulary logits for every token: a small batch keeps them in memory
        return self.model.perplexity(texts, batch_size=max(1, min(8, self.ctx.config.batch_size // 4)),
                                     cache=self.ctx.cache, adapter=self.adapter)

    def _classify(self, examples: list[Example], prompts: list[str], built) -> list[Prediction]:
        """Labels are scored, not parsed: the verbalizer with the highest length-normalised log-likelihood after
        the prompt is the answer, so there are no unparseable outputs. A backend that cannot score text (an API
        without prompt log-probabilities) generates instead, and the closest verbalizer is the answer."""
        if not self.model.supports_loglik:
            return self._classify_by_generation(examples, prompts, built)
        labels = list(self.ctx.task.labels)
        verbalizers = [self.ctx.task.labels[label] for label in labels]
        scored = self.model.score_choices([(p, verbalizers) for p in prompts], batch_size=self.ctx.config.batch_size,
                                          cache=self.ctx.cache, adapter=self.adapter)
        out = []
        for ex, prompt, options, (_, passages) in zip(examples, prompts, scored, built):
            best = max(range(len(labels)), key=lambda i: options[i].mean)
            tin, tout = processed_tokens(self.model, prompt, options)
            latencies = [o.latency for o in options]
            out.append(Prediction(ex.id, prompt, labels[best], ex.references, tin, tout, sum(o.seconds for o in options),
                                  [d.id for d in passages], cached=all(o.cached for o in options),
                                  latency=None if None in latencies else max(latencies)))
        return out

    def _classify_by_generation(self, examples: list[Example], prompts: list[str], built) -> list[Prediction]:
        labels = self.ctx.task.labels
        longest = max(self.model.count_tokens(v) for v in labels.values())
        gens = self.model.generate(prompts, max_new_tokens=longest + 4, batch_size=self.ctx.config.batch_size,
                                   cache=self.ctx.cache, adapter=self.adapter)
        return [Prediction(ex.id, prompt, closest_label(g.text, labels), ex.references, g.tokens_in, g.tokens_out,
                           g.seconds, [d.id for d in passages], g.truncated, g.cached, latency=g.latency)
                for ex, prompt, g, (_, passages) in zip(examples, prompts, gens, built)]


def processed_tokens(model: Backend, prompt: str, options: list[OptionScore]) -> tuple[int, int]:
    """Tokens in and out that scoring one item's options cost the backend: every option's own sequence (a context
    the backend shares counted once). Scores cached before these counts were kept: the prompt and every option."""
    if any(o.tokens_in for o in options):
        return sum(o.tokens_in for o in options), sum(o.tokens_out for o in options)
    return model.count_tokens(prompt) + sum(o.tokens for o in options), 0


def closest_label(text: str, labels: dict[str, str]) -> str:
    """The label whose verbalizer the generated text starts with (case and punctuation aside), else the most
    similar one: constrained decoding's answer, recovered after the fact."""
    import difflib

    said = " ".join(text.lower().replace(".", " ").split())
    for label, verbalizer in sorted(labels.items(), key=lambda kv: -len(kv[1])):
        if said.startswith(verbalizer.lower().strip()):
            return label
    return max(labels, key=lambda label: difflib.SequenceMatcher(None, said[:64], labels[label].lower()).ratio())

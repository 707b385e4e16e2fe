"""Prompt engineering: zero-shot (the task's instruction) and few-shot (k demonstrations from train)."""

from __future__ import annotations

import hashlib
import random
import time
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from harness.strategy.prompted import PromptedModel
from harness.strategy.context import RunContext
from harness.registry import settings, strategies
from harness.section import Section
from harness.strategy.base import Strategy
from harness.types import Cost, Example


@settings.add
class FewShotConfig(Section):
    """The `few-shot` strategy: how many demonstrations, and how they are chosen."""

    name: ClassVar[str] = "few_shot"

    k: int = Field(3, ge=1, le=32, description="demonstrations per prompt")
    selection: Literal["random", "similar"] = Field("random", description="random with the seed, or by embedding similarity")


@strategies.add
class ZeroShot(Strategy):
    name = "prompt"
    order = 0
    win_rate = False  # it is the base model
    description = "zero-shot: the task's instruction and the input, nothing else"
    default = True

    def prepare(self, ctx: RunContext) -> PromptedModel:
        return PromptedModel(self.name, ctx, fingerprint="zero-shot")


@strategies.add
class FewShot(Strategy):
    name = "few-shot"
    order = 1
    composes = "prompt"  # few-shot+lora: fine-tuned on prompts with its demonstrations
    description = "k demonstrations from the training split, random (seeded) or most similar by embedding"
    default = True

    def applies_to(self, task) -> bool:
        return "train" in task.splits

    def prepare(self, ctx: RunContext) -> PromptedModel:
        cfg = ctx.config.section(FewShotConfig)
        pool = ctx.task.split("train")
        start = time.perf_counter()
        if cfg.selection == "similar":
            vectors = ctx.embed([ex.input for ex in pool])
            pick = lambda ex: _most_similar(ctx, pool, vectors, ex, cfg.k)  # noqa: E731
        else:
            fixed = random.Random(ctx.seed).sample(pool, min(cfg.k, len(pool)))
            pick = lambda ex: fixed  # noqa: E731 - the same demonstrations for every example
        ids = ",".join(ex.id for ex in pool)
        fp = hashlib.sha256(f"{cfg.selection}|{cfg.k}|{ctx.seed}|{ids}".encode()).hexdigest()[:16]
        cost = Cost(setup_seconds=time.perf_counter() - start, device=ctx.model.device)
        return FewShotModel(self.name, ctx, fingerprint=fp, cost=cost, pick=pick)


class FewShotModel(PromptedModel):
    def __init__(self, *args, pick, **kwargs):
        super().__init__(*args, **kwargs)
        self.pick = pick

    def build(self, example: Example):
        # A training example (the overfitting sample, a composed fine-tuning's data) is never its own demonstration:
        # that would show the model its answer. Test examples are never in the pool, so theirs are the fixed ones.
        return self.ctx.task.messages(example, demos=[d for d in self.pick(example) if d.id != example.id]), []


def _most_similar(ctx: RunContext, pool: list[Example], vectors: np.ndarray, example: Example, k: int) -> list[Example]:
    query = ctx.embed([example.input])[0]
    order = np.argsort(-(vectors @ query), kind="stable")
    # Most similar last, nearest the question; never the example itself.
    chosen = [pool[i] for i in order if pool[i].id != example.id][:k]
    return chosen[::-1]

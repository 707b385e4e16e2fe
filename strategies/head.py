"""Repurposing (feature extraction): a linear classifier on pooled hidden states of the frozen model.

The language model (or the sentence embedder) is never changed; only a logistic-regression head is trained on
its features of the training inputs. It costs one forward pass per training example and no generation at all.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from pydantic import Field

from harness.backends.cache import key
from harness.strategy.context import RunContext
from harness.errors import HarnessError
from harness.record.results import CostSection
from harness.record.training import Details
from harness.registry import costs, settings, strategies
from harness.section import Section
from harness.strategy.base import Strategy
from harness.types import Cost, Example, Prediction


@settings.add
class HeadConfig(Section):
    """The `head` strategy: a linear classifier on frozen features."""

    name: ClassVar[str] = "head"

    features: Literal["lm", "embedder"] = Field("lm", description="pooled LM hidden states, or sentence embeddings")
    c: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic regression")


@costs.add
class HeadCost(CostSection):
    """`cost.head` in run.json: the features the classifier was trained on and what computing them took."""

    name: ClassVar[str] = "head"

    features: Literal["lm", "embedder"]
    feature_dim: int
    train_features_seconds: float  # every training example's features, cached ones at what they cost when computed
    train_accuracy: float


@strategies.add
class LinearHead(Strategy):
    name = "head"
    order = 3
    description = "repurposing: a linear classifier on the frozen model's pooled hidden states (classification)"
    needs_weights = True  # reads the in-process (hf) model's hidden states
    default = True

    def applies_to(self, task) -> bool:
        return task.kind == "classification" and bool(task.labels) and "train" in task.splits

    def check_config(self, config, task) -> None:
        labels = sorted({ex.references[0] for ex in task.splits.get("train", [])})
        if len(labels) < 2:
            held = f"only label {labels[0]!r}" if labels else "no example"
            raise HarnessError(
                f"Task '{task.name}': the train split holds {held}, and the `head` strategy needs "
                "examples of at least two labels to train a classifier.",
                hint="Add training examples of the other labels, or leave `head` out of --strategies.")

    def prepare(self, ctx: RunContext) -> "HeadModel":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        cfg = ctx.config.section(HeadConfig)
        start = time.perf_counter()
        train = ctx.task.split("train")
        features = Features(ctx, cfg.features)
        x, took = features(train)
        # features found in the cache cost what they cost when they were computed: a warm re-run's setup is the cold's
        already = float(sum(t.seconds for t in took if t.cached))
        y = [ex.references[0] for ex in train]
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=cfg.c, max_iter=2000, random_state=ctx.seed))
        clf.fit(x, y)
        linear = clf[-1]
        trainable = int(linear.coef_.size + linear.intercept_.size)
        buf = io.BytesIO()
        np.savez(buf, coef=linear.coef_, intercept=linear.intercept_, mean=clf[0].mean_, scale=clf[0].scale_,
                 classes=np.array(linear.classes_))
        artifact = buf.getvalue()
        if ctx.artifacts(self.name):
            (ctx.artifacts(self.name) / "head.npz").write_bytes(artifact)
        fp = hashlib.sha256(features.fingerprint.encode() + artifact).hexdigest()[:16]
        cost = Cost(setup_seconds=time.perf_counter() - start + already, trainable_params=trainable,
                    artifact_bytes=len(artifact), device=ctx.model.device)
        cost.add(HeadCost(features=cfg.features, feature_dim=int(x.shape[1]),
                          train_features_seconds=float(sum(t.seconds for t in took)),
                          train_accuracy=float(clf.score(x, y))))
        return HeadModel(self.name, ctx, fp, cost, features, clf)


@dataclass
class FeatureTime:
    """What one example's features cost: its share of its batch's forward pass and that batch's wall time (what
    the request waited), kept in the cache with the vector, as generations keep theirs."""

    seconds: float
    latency: float
    cached: bool = False


class Features:
    """Mean-pooled last hidden states of the frozen LM over the task's rendered input (or sentence embeddings)."""

    def __init__(self, ctx: RunContext, kind: str):
        self.ctx, self.kind = ctx, kind
        self.fingerprint = ctx.embedder()[1] if kind == "embedder" else ctx.model.fingerprint

    def __call__(self, examples: list[Example]) -> tuple[np.ndarray, list[FeatureTime]]:
        texts = [self.ctx.task.render_input(ex.input) for ex in examples]
        # "-timed": entries carry their seconds; older vectors without them ("pooled") are recomputed
        keys = [key(f"{self.kind}-timed", self.fingerprint, t) for t in texts]
        found = self.ctx.cache.get_many("features", keys)
        took = {k: FeatureTime(v["seconds"], v["latency"], cached=True) for k, v in found.items()}
        missing = [i for i, k in enumerate(keys) if k not in found]
        bs = self.ctx.config.batch_size
        for begin in range(0, len(missing), bs):
            chunk = missing[begin : begin + bs]
            start = time.perf_counter()
            vectors = self._compute([texts[i] for i in chunk])
            wall = time.perf_counter() - start
            fresh = {keys[i]: {"vector": v.tolist(), "seconds": wall / len(chunk), "latency": wall}
                     for i, v in zip(chunk, vectors)}
            self.ctx.cache.put_many("features", fresh)
            found.update(fresh)
            took.update((k, FeatureTime(wall / len(chunk), wall)) for k in fresh)
        return np.asarray([found[k]["vector"] for k in keys], dtype=np.float32), [took[k] for k in keys]

    def _compute(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.ctx.embed(texts)) if self.kind == "embedder" else self._pool(texts)

    def _pool(self, texts: list[str]) -> np.ndarray:
        import torch

        handle = self.ctx.model
        limit = handle.context_length
        enc = handle.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=limit,
                               add_special_tokens=False).to(handle.device)
        with torch.inference_mode():
            hidden = handle.model.base_model(input_ids=enc["input_ids"],
                                             attention_mask=enc["attention_mask"]).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return pooled.float().cpu().numpy()


class HeadModel:
    """A classifier on the frozen model's features: it answers labels only (no generation, no log-likelihoods)."""

    def __init__(self, name: str, ctx: RunContext, fingerprint: str, cost: Cost, features: Features, clf):
        self.name, self.ctx, self.fingerprint, self.cost = name, ctx, fingerprint, cost
        self.features, self.clf = features, clf
        self.model = ctx.model
        self.details = Details()
        self.retrieval = None

    def predict(self, examples: list[Example]) -> list[Prediction]:
        x, took = self.features(examples)
        start = time.perf_counter()
        labels = self.clf.predict(x)
        head = (time.perf_counter() - start) / max(len(examples), 1)  # the classifier's share: microseconds
        tok = self.ctx.model.tokenizer
        return [
            Prediction(ex.id, self.ctx.task.render_input(ex.input), str(label), ex.references,
                       tokens_in=len(tok(ex.input, add_special_tokens=False)["input_ids"]), tokens_out=0,
                       seconds=t.seconds + head, latency=t.latency + head,
                       cached=t.cached)
            for ex, label, t in zip(examples, labels, took)
        ]

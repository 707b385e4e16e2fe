"""What a strategy gets to prepare itself: the config, the task, the model, the cache, and a place for artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.cache import Cache, key
from harness.config import RunConfig
from harness.backends.base import Backend
from harness.backends.hf import load_embedder
from harness.record.store import RunStore
from harness.tasks.task import Task


@dataclass
class RunContext:
    config: RunConfig
    task: Task
    model: Backend  # the model strategies prompt or train: the run's base, or the one named in `name@model`
    cache: Cache
    store: RunStore | None = None
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)  # the embedder, shared by with_model copies

    def with_model(self, model: Backend) -> "RunContext":
        """The same run on another model (a strategy's `@model`)."""
        return replace(self, model=model)

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def max_new_tokens(self) -> int:
        """The answer's length in tokens: --max-new-tokens where given, else the task's."""
        return self.config.max_new_tokens or self.task.max_new_tokens

    def artifacts(self, strategy: str, *, create: bool = True) -> Path | None:
        return self.store.artifacts(strategy, create=create) if self.store else None

    def embedder(self) -> tuple[Any, str]:
        """The sentence-transformers embedder and its fingerprint, loaded once per run."""
        if "embedder" not in self._shared:
            self._shared["embedder"] = load_embedder(
                self.config.embedder, device=self.config.device, trust_remote_code=self.config.trust_remote_code
            )
        return self._shared["embedder"]

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-normalised embeddings (float32), cached by embedder fingerprint and text."""
        model, fp = self.embedder()
        keys = [key("emb", fp, t) for t in texts]
        found = self.cache.get_many("embedding", keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vectors = model.encode([texts[i] for i in missing], batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            fresh = {keys[i]: v.astype(np.float32).tolist() for i, v in zip(missing, vectors)}
            self.cache.put_many("embedding", fresh)
            found.update(fresh)
        dim = len(next(iter(found.values()))) if found else 0
        return np.asarray([found[k] for k in keys], dtype=np.float32).reshape(len(texts), dim)

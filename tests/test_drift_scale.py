"""Drift on many inputs: memory grows linearly, the embedding test is a stated seeded sample (issue #22, E)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from harness.guard import drift as dr
from harness.errors import HarnessError


def _texts(n: int, seed: int, words: int = 12) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(3000)]
    return [" ".join(rng.choice(vocab, words)) for _ in range(n)]


def _embed(seen: list[int]):
    def embed(texts: list[str]) -> np.ndarray:
        seen.append(len(texts))
        rng = np.random.default_rng(len(texts))
        return rng.normal(size=(len(texts), 8))
    return embed


def test_drift_on_many_inputs_samples_the_embedding_test_says_so_and_stays_small():
    old, new = _texts(3000, 1), _texts(2500, 2)
    seen: list[int] = []
    tracemalloc.start()
    try:
        report = dr.drift_report(old, new, _embed(seen), n_perm=20, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # every input scored, but the embedder and the kernel saw at most MMD_SAMPLE a side
    assert report.n_baseline == 3000 and report.n_new == 2500
    assert seen == [2 * dr.MMD_SAMPLE]
    e = report.tests["embedding"]
    assert (e["n_baseline"], e["n_new"]) == (dr.MMD_SAMPLE, dr.MMD_SAMPLE)
    note = " ".join(report.notes)
    assert f"{dr.MMD_SAMPLE} of 3000 baseline" in note and f"{dr.MMD_SAMPLE} of 2500 new" in note
    assert f"{dr.MMD_SAMPLE} vs {dr.MMD_SAMPLE} inputs" in dr.to_markdown(report, "b", "new.jsonl")
    # a 5500 x 5500 kernel alone is 242 MB, dense word counts 5500 x 3000 another 132 MB
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"


def test_the_vocabulary_test_is_the_same_with_sparse_counts():
    old, new = _texts(40, 3, words=6), _texts(40, 4, words=6)
    v = dr.vocabulary_test(old, new, n_perm=50, seed=0)
    words_old = {w for t in old for w in dr.tokens(t)}
    tokens_new = [w for t in new for w in dr.tokens(t)]
    assert v["oov_rate"] == pytest.approx(sum(w not in words_old for w in tokens_new) / len(tokens_new))
    assert v["vocabulary_baseline"] == len(words_old)
    assert 0 < v["js_divergence"] <= 1


@pytest.mark.parametrize("alpha", [-1.0, 0.0, 1.0, 2.0])
def test_drift_refuses_an_alpha_outside_zero_one(alpha):
    with pytest.raises(HarnessError, match="between 0 and 1"):
        dr.drift_report(_texts(5, 1), _texts(5, 2), _embed([]), alpha=alpha, n_perm=10)

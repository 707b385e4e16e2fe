"""Dense retrieval: token chunking with overlap, normalised embeddings in a faiss index, cached on disk.

A corpus is split into chunks of `chunk_tokens` embedder tokens (consecutive chunks share `overlap` tokens; a chunk
starts at a word boundary). Chunks are embedded unit-length, so inner product is cosine similarity, and stored in
faiss: `IndexFlatIP` (exact) by default, HNSW or IVF (approximate) for large corpora. A search ranks chunks and
keeps the best chunk of each document, so `k` results are `k` distinct documents.

The index is saved under <cache>/indexes/<key>/, the key hashing the corpus, the embedder fingerprint and the
chunking and index settings; a later run with the same key loads it instead of embedding again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.types import Document

INDEX_VERSION = 1
Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    position: int  # chunk number within its document
    text: str
    title: str = ""

    @property
    def id(self) -> str:
        return f"{self.doc_id}#{self.position}"


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int  # 1-based rank among distinct documents


# ------------------------------------------------------------------------------------------------------- chunking


def chunk_text(text: str, tokenizer: Any, chunk_tokens: int, overlap: int) -> list[str]:
    """Split text into windows of at most `chunk_tokens` tokens, `overlap` tokens shared between neighbours.

    Windows are cut from the original text by character offsets (so unicode and spacing survive untouched), and a
    window never starts inside a word. Empty or whitespace-only text gives no chunks.
    """
    if not 0 <= overlap < chunk_tokens:
        raise ValueError(f"need 0 <= overlap < chunk_tokens, got overlap={overlap}, chunk_tokens={chunk_tokens}")
    if not text.strip():
        return []
    offsets = _token_offsets(text, tokenizer)
    if len(offsets) <= chunk_tokens:
        return [text.strip()]
    # A token starts a word when whitespace (or the text's start) precedes it.
    word_start = [i == 0 or text[offsets[i - 1][1] : offsets[i][0]].strip() == "" and offsets[i][0] > offsets[i - 1][1]
                  for i in range(len(offsets))]
    chunks, start = [], 0
    while True:
        end = min(start + chunk_tokens, len(offsets))
        if end < len(offsets) and not word_start[end]:  # end on a whole word unless the word fills the window
            cut = end
            while cut > start + 1 and not word_start[cut]:
                cut -= 1
            end = cut if word_start[cut] and cut > start else end
        chunks.append(text[offsets[start][0] : offsets[end - 1][1]].strip())
        if end == len(offsets):
            return chunks
        nxt = max(end - overlap, start + 1)
        while nxt > start + 1 and not word_start[nxt]:  # back up to the word's first token
            nxt -= 1
        start = nxt


def _token_offsets(text: str, tokenizer: Any) -> list[tuple[int, int]]:
    """(start, end) character offsets of each token; whitespace-separated words if the tokenizer has no offsets."""
    if tokenizer is not None and getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = [(a, b) for a, b in enc["offset_mapping"] if b > a]
        if offsets:
            return offsets
    import re

    return [m.span() for m in re.finditer(r"\S+", text)]


def chunk_documents(docs: list[Document], tokenizer: Any, chunk_tokens: int, overlap: int) -> list[Chunk]:
    return [
        Chunk(doc.id, i, piece, doc.title)
        for doc in docs
        for i, piece in enumerate(chunk_text(doc.text, tokenizer, chunk_tokens, overlap))
    ]


def chunk_input(chunk: Chunk) -> str:
    """What gets embedded: the title (it usually names the entity) and the chunk."""
    return f"{chunk.title}: {chunk.text}" if chunk.title else chunk.text


# ---------------------------------------------------------------------------------------------------------- index


@dataclass(frozen=True)
class IndexSpec:
    kind: str = "flat"  # flat | hnsw | ivf
    hnsw_m: int = 32
    hnsw_ef_search: int = 64
    ivf_nlist: int = 1024
    ivf_nprobe: int = 16


def build_index(vectors: np.ndarray, spec: IndexSpec = IndexSpec()) -> Any:
    """A faiss inner-product index over unit vectors (rows of `vectors`)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = spec.hnsw_ef_search
    elif spec.kind == "ivf":
        nlist = max(1, min(spec.ivf_nlist, n // 39))  # faiss wants >= 39 training points per cell
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(spec.ivf_nprobe, nlist)
    else:
        raise ValueError(f"unknown index kind {spec.kind!r} (flat, hnsw or ivf)")
    if n:
        index.add(vectors)
    return index


class Retriever:
    """Chunks, their index, and the function that embeds queries."""

    def __init__(self, chunks: list[Chunk], index: Any, embed: Embed | None = None, info: dict | None = None):
        self.chunks = chunks
        self.index = index
        self.embed = embed
        self.info = info or {}

    def search(self, queries: list[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        return self.search_vectors(self.embed(queries), k)

    def search_vectors(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """The top `k` distinct documents per query (each by its best chunk), best first."""
        if not self.chunks:
            return [[] for _ in range(len(vectors))]
        depth = min(len(self.chunks), max(4 * k, k + 8))  # enough chunks to find k distinct documents, usually
        while True:
            scores, ids = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), depth)
            results = [self._distinct(row_s, row_i, k) for row_s, row_i in zip(scores, ids)]
            short = any(len(r) < k for r in results)
            if not short or depth >= len(self.chunks):
                return results
            depth = min(len(self.chunks), depth * 4)  # many chunks per document: look deeper

    def _distinct(self, scores: np.ndarray, ids: np.ndarray, k: int) -> list[Hit]:
        hits, seen = [], set()
        for s, i in zip(scores.tolist(), ids.tolist()):
            if i < 0:
                continue
            chunk = self.chunks[i]
            if chunk.doc_id in seen:
                continue
            seen.add(chunk.doc_id)
            hits.append(Hit(chunk, float(s), len(hits) + 1))
            if len(hits) == k:
                break
        return hits

    # ---- persistence

    def save(self, folder: Path) -> int:
        """Write index.faiss, chunks.jsonl and info.json atomically; returns the bytes written."""
        import faiss

        folder = Path(folder)
        tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        faiss.write_index(self.index, str(tmp / "index.faiss"))
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in self.chunks:
                f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
        (tmp / "info.json").write_text(json.dumps(self.info, indent=2))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return folder_bytes(folder)

    @classmethod
    def load(cls, folder: Path, embed: Embed | None = None) -> "Retriever":
        import faiss

        folder = Path(folder)
        index = faiss.read_index(str(folder / "index.faiss"))
        chunks = [Chunk(**json.loads(line)) for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        info = json.loads((folder / "info.json").read_text())
        info["bytes"] = folder_bytes(folder)
        spec = info.get("spec", {})
        if spec.get("kind") == "hnsw":
            index.hnsw.efSearch = spec["hnsw_ef_search"]
        elif spec.get("kind") == "ivf":
            index.nprobe = min(spec["ivf_nprobe"], index.nlist)
        return cls(chunks, index, embed, info)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())


def corpus_hash(docs: list[Document]) -> str:
    h = hashlib.sha256()
    for d in docs:
        h.update(json.dumps([d.id, d.title, d.text], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def index_key(docs: list[Document], embedder_fp: str, chunk_tokens: int, overlap: int, spec: IndexSpec) -> str:
    parts = [INDEX_VERSION, corpus_hash(docs), embedder_fp, chunk_tokens, overlap, asdict(spec)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def index_root() -> Path:
    from harness.backends.cache import cache_root

    return cache_root() / "indexes"


def build_or_load(
    docs: list[Document],
    *,
    embed: Embed,
    tokenizer: Any,
    embedder_fp: str,
    chunk_tokens: int,
    overlap: int,
    spec: IndexSpec = IndexSpec(),
    root: Path | None = None,
    built_by: str | None = None,
) -> Retriever:
    """The retriever for `docs`, from the on-disk cache when its key matches, else built (and saved).

    `info` records the key, whether it was reused, the build's measured seconds, the run that built it (`built_by`,
    kept with the index so a later run that reuses it can say whose build time it reports) and the index's bytes.
    """
    key = index_key(docs, embedder_fp, chunk_tokens, overlap, spec)
    folder = (root or index_root()) / key
    if (folder / "info.json").exists() and (folder / "index.faiss").exists():
        try:
            retriever = Retriever.load(folder, embed)
            retriever.info.update(reused=True, path=str(folder))
            return retriever
        except (OSError, ValueError, RuntimeError, KeyError, TypeError):
            pass  # a damaged cache entry is rebuilt below
    start = time.perf_counter()
    chunks = chunk_documents(docs, tokenizer, chunk_tokens, overlap)
    vectors = embed([chunk_input(c) for c in chunks]) if chunks else np.zeros((0, 1), dtype=np.float32)
    embedded = time.perf_counter()
    index = build_index(vectors, spec)
    seconds = time.perf_counter() - start
    info = {"key": key, "documents": len(docs), "chunks": len(chunks), "dim": int(vectors.shape[1]),
            "spec": asdict(spec), "chunk_tokens": chunk_tokens, "overlap": overlap, "embedder": embedder_fp,
            "corpus_hash": corpus_hash(docs), "build_seconds": seconds, "embed_seconds": embedded - start,
            "built_by": built_by}
    retriever = Retriever(chunks, index, embed, info)
    try:
        info["bytes"] = retriever.save(folder)
        info["path"] = str(folder)
    except OSError:
        info["bytes"], info["path"] = None, None  # a read-only cache only costs a rebuild next time
    retriever.info["reused"] = False
    return retriever

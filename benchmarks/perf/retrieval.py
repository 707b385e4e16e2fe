"""Retrieval performance: the rag strategy's search against raw faiss on the same vectors, and index build times.

    python -m benchmarks.perf.retrieval                 # 10k and 100k chunks
    python -m benchmarks.perf.retrieval --sizes 10000   # quicker

The vectors are synthetic: random unit vectors of the default embedder's width (384), clustered around a few
hundred centres so that approximate indexes face realistic structure; chunks belong to documents of 1-4 chunks.
Query embedding is left out on purpose (it is the same model call either way): what is compared is
`Retriever.search_vectors` (faiss search + keeping the best chunk per document + building hits) against a bare
`index.search` for the same k. The ratio is raw queries/s divided by the strategy's (1.0 = no overhead).
HNSW and IVF also report recall@10 against the exact index, the price of their speed. Agreement is enforced: the
strategy's hits must be raw faiss's own first k distinct documents on every query (exact: same index, same search),
or the benchmark fails. Target: raw / strategy <= 1.25x at the largest size, for every index type.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.perf.common import claim, finish, load
from strategies.rag.retrieval import Chunk, IndexSpec, Retriever, build_index

DIM = 384
TARGET = 1.25  # the strategy's own work (best chunk per document, hits) may cost at most a quarter of the search


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(256, DIM)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic_chunks(n: int, seed: int = 0) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    chunks, doc = [], 0
    while len(chunks) < n:
        for pos in range(int(rng.integers(1, 5))):
            chunks.append(Chunk(f"doc-{doc}", pos, f"chunk {pos} of document {doc}"))
        doc += 1
    return chunks[:n]


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n: int, kinds: list[str], queries: int, k: int) -> list[dict]:
    vectors, chunks = synthetic(n), synthetic_chunks(n)
    q = synthetic(queries, seed=1)
    rows, exact = [], None
    for kind in kinds:
        spec = IndexSpec(kind)
        start = time.perf_counter()
        index = build_index(vectors, spec)
        build = time.perf_counter() - start
        retriever = Retriever(chunks, index)
        # The strategy asks for k distinct documents, which needs a deeper chunk search; raw faiss gets that depth
        # too, so the ratio is the overhead of the strategy's own work, not of a different search.
        depth = min(len(chunks), max(4 * k, k + 8))
        raw = best_of(lambda: index.search(q, depth))
        ours = best_of(lambda: retriever.search_vectors(q, k))
        same = same_hits(index, chunks, retriever, q, depth, k)
        found = [[h.chunk.id for h in hits] for hits in retriever.search_vectors(q, 10)]
        if kind == "flat":
            exact = found
        agreement = (np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, exact)])
                     if exact is not None else float("nan"))
        rows.append({"chunks": n, "index": kind, "build_s": build, "raw_qps": queries / raw,
                     "strategy_qps": queries / ours, "ratio": (queries / raw) / (queries / ours),
                     "recall@10_vs_exact": agreement, "same_hits": same})
    return rows


def same_hits(index, chunks: list[Chunk], retriever: Retriever, q: np.ndarray, depth: int, k: int) -> float:
    """Share of queries whose strategy hits are raw faiss's own answer: its first k distinct documents, each by its
    best chunk, in faiss's order (where raw faiss at this depth found fewer, the strategy's first ones)."""
    _, ids = index.search(q, depth)
    ours = retriever.search_vectors(q, k)
    same = []
    for row, hits in zip(ids, ours):
        docs = list(dict.fromkeys(chunks[i].doc_id for i in row.tolist() if i >= 0))[:k]
        same.append([h.chunk.doc_id for h in hits][: len(docs)] == docs)
    return float(np.mean(same))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--kinds", default="flat,hnsw,ivf", help="index types (flat first: the others compare to it)")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    import faiss

    table = Table(title=f"Retrieval: strategy vs raw faiss (synthetic {DIM}-d unit vectors, {args.queries} queries, "
                        f"k={args.k}, faiss threads {faiss.omp_get_max_threads()})")
    for col in ("chunks", "index", "build s", "raw faiss q/s", "strategy q/s", "raw / strategy", "recall@10 vs exact"):
        table.add_column(col, justify="right")
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [r for n in sizes for r in measure(n, args.kinds.split(","), args.queries, args.k)]
    for r in rows:
        table.add_row(f"{r['chunks']:,}", r["index"], f"{r['build_s']:.2f}", f"{r['raw_qps']:,.0f}",
                      f"{r['strategy_qps']:,.0f}", f"{r['ratio']:.2f}",
                      "exact" if r["index"] == "flat" else f"{r['recall@10_vs_exact']:.3f}")
    Console().print(table)
    largest = [r for r in rows if r["chunks"] == max(r["chunks"] for r in rows)]
    claims = [claim(f"retrieval overhead at {r['chunks']:,} chunks, {r['index']}: raw faiss q/s / strategy q/s",
                    r["ratio"], f"<= {TARGET}x", r["ratio"] <= TARGET,
                    note=f"build {r['build_s']:.2f} s" + ("" if r["index"] == "flat"
                                                          else f", recall@10 vs exact {r['recall@10_vs_exact']:.3f}"))
              for r in largest]
    differ = [f"{r['index']} at {r['chunks']:,} chunks: {1 - r['same_hits']:.1%} of queries" for r in rows
              if r["same_hits"] < 1]
    finish("retrieval", claims, ("strategy hits differ from raw faiss's on " + ", ".join(differ)) if differ else None,
           rows=rows, load=load())


if __name__ == "__main__":
    main()

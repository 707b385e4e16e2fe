"""Input drift: are the new inputs drawn from the same distribution as the baseline's test inputs?

Three views, each a number with a permutation p-value (same null for all: the two samples are exchangeable) and a
verdict; the verdicts use Holm-adjusted p-values across the three tests:
  embedding  MMD² (unbiased) between sentence embeddings, RBF kernel with the median-heuristic bandwidth; its kernel
             matrix grows with the square of the inputs, so each side larger than MMD_SAMPLE (1000) is a seeded
             sample of that size (the report says so); the other two tests use every input, in linear memory
  length     two-sample Kolmogorov-Smirnov test on input lengths in words (and the mean lengths)
  vocabulary out-of-vocabulary rate (share of new tokens whose word never occurs in the baseline inputs) and the
             Jensen-Shannon divergence (base 2, 0..1) of the unigram distributions; the p-value is on the JS divergence
"Shifted" says the questions changed; a regression with no shift says the model got worse.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from harness.measure.stats import holm

N_PERM = 1000
MMD_SAMPLE = 1000  # inputs per side for the MMD test: a (2 x 1000)² kernel is 32 MB; 100,000 a side would be 149 GiB
TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


# ------------------------------------------------------------------------------------------------------- embedding


def _sq_dists(z: np.ndarray) -> np.ndarray:
    sq = np.sum(z * z, axis=1)
    return np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)


def _mmd2_unbiased(k: np.ndarray, in_x: np.ndarray) -> np.ndarray:
    """MMD² for one or many splits; `in_x` is (n,) or (p, n) booleans marking the first sample."""
    in_x = np.atleast_2d(in_x).astype(float)
    in_y = 1.0 - in_x
    k0 = k - np.diag(np.diag(k))  # unbiased: drop the i == j terms
    m, n = in_x.sum(1), in_y.sum(1)
    kxx = ((in_x @ k0) * in_x).sum(1) / (m * (m - 1))
    kyy = ((in_y @ k0) * in_y).sum(1) / (n * (n - 1))
    kxy = ((in_x @ k) * in_y).sum(1) / (m * n)
    return kxx + kyy - 2 * kxy


def mmd_test(x: np.ndarray, y: np.ndarray, *, n_perm: int = N_PERM, seed: int = 0) -> dict[str, Any]:
    """Two-sample MMD test: unbiased MMD² with an RBF kernel whose bandwidth is the median pairwise distance of the
    pooled sample; p-value from `n_perm` random relabelings, (1 + #{null >= observed}) / (1 + n_perm)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("MMD needs at least two points in each sample")
    z = np.vstack([x, y])
    d2 = _sq_dists(z)
    off = d2[np.triu_indices(len(z), 1)]
    sigma2 = float(np.median(off[off > 0])) if np.any(off > 0) else 1.0
    k = np.exp(-d2 / (2 * sigma2))
    labels = np.zeros(len(z), dtype=bool)
    labels[: len(x)] = True
    observed = float(_mmd2_unbiased(k, labels)[0])
    rng = np.random.default_rng(seed)
    null = np.concatenate([_mmd2_unbiased(k, np.stack([rng.permutation(labels) for _ in range(min(200, n_perm - i))]))
                           for i in range(0, n_perm, 200)])
    p = float((1 + np.sum(null >= observed)) / (1 + n_perm))
    return {"statistic": observed, "p_value": p, "bandwidth": float(np.sqrt(sigma2)), "null_mean": float(null.mean()),
            "null_q95": float(np.quantile(null, 0.95)), "n_baseline": len(x), "n_new": len(y), "permutations": n_perm}


# ---------------------------------------------------------------------------------------------------- length, vocab


def length_test(old: list[str], new: list[str]) -> dict[str, Any]:
    from scipy.stats import ks_2samp

    a, b = [len(tokens(t)) for t in old], [len(tokens(t)) for t in new]
    res = ks_2samp(a, b)
    return {"statistic": float(res.statistic), "p_value": float(res.pvalue), "mean_baseline": float(np.mean(a)),
            "mean_new": float(np.mean(b)), "median_baseline": float(np.median(a)), "median_new": float(np.median(b))}


def _js_and_oov(counts: np.ndarray, in_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JS divergence (bits) of the unigram distributions and the OOV rate of the second sample against the first,
    for one or many splits (`in_x`: (p, docs) booleans)."""
    in_x = np.atleast_2d(in_x).astype(float)
    cx, cy = np.asarray(counts.T @ in_x.T).T, np.asarray(counts.T @ (1.0 - in_x).T).T  # (p, vocab); counts is sparse
    px, py = cx / cx.sum(1, keepdims=True), cy / cy.sum(1, keepdims=True)
    mid = (px + py) / 2

    def kl(p, q):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(p > 0, p * np.log2(p / q), 0.0).sum(1)

    js = (kl(px, mid) + kl(py, mid)) / 2
    oov = (cy * (cx == 0)).sum(1) / cy.sum(1)
    return js, oov


def _count_matrix(docs: list[Counter]):
    """Documents x vocabulary word counts, sparse (memory grows with the tokens, not documents x vocabulary)."""
    from scipy.sparse import csr_matrix

    vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
    rows = [r for r, d in enumerate(docs) for _ in d]
    cols = [vocab[w] for d in docs for w in d]
    vals = [c for d in docs for c in d.values()]
    return csr_matrix((np.asarray(vals, dtype=float), (rows, cols)), shape=(len(docs), len(vocab)))


def vocabulary_test(old: list[str], new: list[str], *, n_perm: int = N_PERM, seed: int = 0) -> dict[str, Any]:
    counts = _count_matrix([Counter(tokens(t)) for t in old + new])
    labels = np.zeros(counts.shape[0], dtype=bool)
    labels[: len(old)] = True
    js, oov = (v[0] for v in _js_and_oov(counts, labels))
    rng = np.random.default_rng(seed)
    null_js, null_oov = [], []
    for start in range(0, n_perm, 100):
        perm = np.stack([rng.permutation(labels) for _ in range(min(100, n_perm - start))])
        j, o = _js_and_oov(counts, perm)
        null_js.append(j)
        null_oov.append(o)
    null_js, null_oov = np.concatenate(null_js), np.concatenate(null_oov)
    return {"js_divergence": float(js), "oov_rate": float(oov), "p_value": float((1 + np.sum(null_js >= js)) / (1 + n_perm)),
            "oov_p_value": float((1 + np.sum(null_oov >= oov)) / (1 + n_perm)),
            "js_null_mean": float(null_js.mean()), "oov_null_mean": float(null_oov.mean()),
            "vocabulary_baseline": int((np.asarray(counts[labels].sum(0)) > 0).sum()),
            "vocabulary_new": int((np.asarray(counts[~labels].sum(0)) > 0).sum())}


# --------------------------------------------------------------------------------------------------------- report


@dataclass
class DriftReport:
    tests: dict[str, dict[str, Any]]  # embedding, length, vocabulary -> numbers, p_value, p_holm, verdict
    alpha: float
    n_baseline: int
    n_new: int
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return any(t["verdict"] == "shifted" for t in self.tests.values())

    def to_dict(self) -> dict[str, Any]:
        return {"drifted": self.drifted, "alpha": self.alpha, "n_baseline": self.n_baseline, "n_new": self.n_new,
                "tests": self.tests, "notes": self.notes}


def drift_report(old: list[str], new: list[str], embed: Callable[[list[str]], np.ndarray], *, alpha: float = 0.05,
                 n_perm: int = N_PERM, seed: int = 0) -> DriftReport:
    """Compare two sets of input texts. `embed` maps texts to vectors (harness: the run's sentence embedder)."""
    from harness.errors import HarnessError

    if len(old) < 2 or len(new) < 2:
        raise HarnessError(f"Drift needs at least two inputs on each side (baseline {len(old)}, new {len(new)}).",
                           hint="Pass a data file with more inputs.")
    if not 0 < alpha < 1:
        raise HarnessError(f"--alpha {alpha} is not a significance level: it must lie strictly between 0 and 1.",
                           hint="Use e.g. --alpha 0.05.")
    if n_perm < 1:
        raise HarnessError(f"--permutations {n_perm}: at least one permutation is needed.", hint="Use e.g. 1000.")
    rng = np.random.default_rng(seed)
    a, b = (_sample(side, MMD_SAMPLE, rng) for side in (old, new))
    vectors = embed(a + b)
    embedding = mmd_test(vectors[: len(a)], vectors[len(a):], n_perm=n_perm, seed=seed)
    embedding.update(sample_baseline=len(a), sample_new=len(b), sample_cap=MMD_SAMPLE)
    tests = {
        "embedding": embedding,
        "length": length_test(old, new),
        "vocabulary": vocabulary_test(old, new, n_perm=n_perm, seed=seed),
    }
    for t, p in zip(tests.values(), holm([t["p_value"] for t in tests.values()])):
        t["p_holm"] = p
        t["verdict"] = "shifted" if p < alpha else "no evidence of shift"
    notes = []
    if len(a) < len(old) or len(b) < len(new):
        notes.append(f"The embedding test used a seeded sample of {len(a)} of {len(old)} baseline and {len(b)} of "
                     f"{len(new)} new inputs (at most {MMD_SAMPLE} a side: its kernel matrix grows with the square of "
                     "the sample); the length and vocabulary tests used every input.")
    if min(len(old), len(new)) < 20:
        notes.append(f"Small samples ({len(old)} vs {len(new)}): only large shifts can be detected.")
    return DriftReport(tests, alpha, len(old), len(new), notes)


def _sample(texts: list[str], cap: int, rng: np.random.Generator) -> list[str]:
    """At most `cap` of the texts, a seeded sample in their original order."""
    if len(texts) <= cap:
        return list(texts)
    return [texts[i] for i in sorted(rng.choice(len(texts), cap, replace=False))]


def embedder_fn(config) -> Callable[[list[str]], np.ndarray]:
    """The run's embedder (config.embedder; default all-MiniLM-L6-v2, offline), cached like every run's embeddings."""
    from harness.backends.cache import Cache, RunCache
    from harness.strategy.context import RunContext

    ctx = RunContext(config, task=None, model=None, cache=Cache() if config.use_cache else RunCache())
    return ctx.embed


def to_markdown(report: DriftReport, baseline: str, source: str) -> str:
    t = report.tests
    e, ln, v = t["embedding"], t["length"], t["vocabulary"]
    lines = [
        f"### Input drift: `{source}` vs baseline `{baseline}`: {'shifted' if report.drifted else 'no evidence of shift'}",
        "",
        f"{report.n_baseline} baseline inputs, {report.n_new} new. p-values from permutation tests (KS for lengths), "
        f"Holm-adjusted across the three tests, verdict at α = {report.alpha:g}.",
        "",
        "| view | measure | value | p (Holm) | verdict |",
        "|---|---|---|---:|---|",
        f"| embedding | MMD² (RBF, bandwidth {e['bandwidth']:.3f}; {e['n_baseline']} vs {e['n_new']} inputs) | {e['statistic']:.4f} (null mean {e['null_mean']:.4f}, "
        f"95% {e['null_q95']:.4f}) | {e['p_holm']:.3g} | {e['verdict']} |",
        f"| length | KS statistic; mean words | {ln['statistic']:.3f}; {ln['mean_baseline']:.1f} → {ln['mean_new']:.1f} | "
        f"{ln['p_holm']:.3g} | {ln['verdict']} |",
        f"| vocabulary | JS divergence (bits); OOV rate | {v['js_divergence']:.3f} (null {v['js_null_mean']:.3f}); "
        f"{v['oov_rate']:.1%} (null {v['oov_null_mean']:.1%}) | {v['p_holm']:.3g} | {v['verdict']} |",
    ]
    lines += [""] + [f"- {n}" for n in report.notes] if report.notes else []
    return "\n".join(lines) + "\n"


def print_table(report: DriftReport, baseline: str, source: str) -> None:
    from rich.table import Table

    from harness.console import console

    t = report.tests
    e, ln, v = t["embedding"], t["length"], t["vocabulary"]
    colour = "red" if report.drifted else "green"
    table = Table(title=f"Input drift vs baseline '{baseline}' ({report.n_baseline} vs {report.n_new} inputs): "
                        f"[{colour}]{'shifted' if report.drifted else 'no evidence of shift'}[/]")
    for col in ("view", "measure", "value", "p (Holm)", "verdict"):
        table.add_column(col)
    table.add_row("embedding", "MMD² (RBF, median heuristic)", f"{e['statistic']:.4f} (null 95%: {e['null_q95']:.4f})",
                  f"{e['p_holm']:.3g}", e["verdict"])
    table.add_row("length", "KS; mean words", f"{ln['statistic']:.3f}; {ln['mean_baseline']:.1f} → {ln['mean_new']:.1f}",
                  f"{ln['p_holm']:.3g}", ln["verdict"])
    table.add_row("vocabulary", "JS (bits); OOV rate", f"{v['js_divergence']:.3f}; {v['oov_rate']:.1%} (null {v['oov_null_mean']:.1%})",
                  f"{v['p_holm']:.3g}", v["verdict"])
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]{note}[/]")

"""Statistics: bootstrap confidence intervals on means (percentile method, seeded, vectorised)."""

from __future__ import annotations

import numpy as np

from harness.measure import signflip
from harness.record.figures import Difference, Score

N_BOOT = 2000


def bootstrap_ci(values, *, confidence: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): a percentile bootstrap CI on the mean. Degenerate samples give a zero-width interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return mean, mean, mean
    from scipy.stats import bootstrap

    # scipy draws all resamples at once (n_boot x n floats and indices): for large n, in batches of bounded memory.
    batch = None if x.size * n_boot <= 1_000_000 else max(1, 1_000_000 // x.size)
    res = bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=n_boot, method="percentile",
                    vectorized=True, batch=batch, random_state=np.random.default_rng(seed))
    return mean, float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(metric: str, values, *, higher_is_better: bool = True, seed: int = 0) -> Score:
    mean, low, high = bootstrap_ci(values, seed=seed)
    return Score(metric=metric, value=mean, ci_low=low, ci_high=high, n=len(values), higher_is_better=higher_is_better)


def summarize_corpus(metric: str, fn, outputs: list, references: list, *, higher_is_better: bool = True,
                     n_boot: int = 1000, seed: int = 0) -> Score:
    """A corpus-level metric (e.g. macro-F1) with a percentile bootstrap CI over resampled examples."""
    value = float(fn(outputs, references))
    n = len(outputs)
    if n < 2:
        return Score(metric=metric, value=value, ci_low=value, ci_high=value, n=n, higher_is_better=higher_is_better)
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        stats.append(fn([outputs[i] for i in idx], [references[i] for i in idx]))
    low, high = np.percentile(stats, [2.5, 97.5])
    return Score(metric=metric, value=value, ci_low=float(low), ci_high=float(high), n=n,
                 higher_is_better=higher_is_better)


def is_binary(values) -> bool:
    return signflip.is_binary(np.asarray(values, dtype=float))


def paired_difference(a, b, *, confidence: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> Difference:
    """Compare two systems scored on the same examples (a - b): mean difference with a paired bootstrap CI
    (descriptive, unadjusted), a two-sided p-value from the paired sign-flip test (harness.measure.signflip: exact McNemar
    for 0/1 scores, full enumeration up to 16 differences, else 9999 random flips; `resamples` says which) and
    the paired effect size d_z = mean(diff) / sd(diff)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    d = x - y
    diff, low, high = bootstrap_ci(d, confidence=confidence, n_boot=n_boot, seed=seed)
    p, test, resamples = signflip.p_value(x, y, seed=seed)
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    return Difference(value=diff, ci_low=low, ci_high=high, n=int(d.size), p_value=p, test=test, resamples=resamples,
                      effect_size=diff / sd if sd > 0 else 0.0)


def independent_difference(a, b, *, confidence: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Compare two means over different examples (a - b), e.g. a train sample against the test split: bootstrap CI
    resampling each sample on its own, two-sided permutation test of the difference, and Cohen's d (pooled sd).
    paired_difference's fields, plus n_a and n_b."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        nan = float("nan")
        return {"value": nan, "ci_low": nan, "ci_high": nan, "n": 0, "n_a": int(x.size), "n_b": int(y.size),
                "p_value": nan, "test": "none (empty sample)", "effect_size": nan}
    diff = float(x.mean() - y.mean())
    rng = np.random.default_rng(seed)
    boots = (x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
             - y[rng.integers(0, y.size, (n_boot, y.size))].mean(axis=1))
    alpha = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(boots, [alpha, 1 - alpha]))
    if np.all(np.concatenate([x, y]) == x[0]):
        p, test = 1.0, "none (identical scores)"
    else:
        from scipy.stats import permutation_test

        res = permutation_test((x, y), lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis), n_resamples=n_boot,
                               vectorized=True, alternative="two-sided", random_state=np.random.default_rng(seed))
        p, test = float(res.pvalue), "permutation (independent samples)"
    dof = x.size + y.size - 2
    pooled = np.sqrt(((x.size - 1) * x.var(ddof=1 if x.size > 1 else 0) + (y.size - 1) * y.var(ddof=1 if y.size > 1 else 0)) / dof) if dof > 0 else 0.0
    return {"value": diff, "ci_low": low, "ci_high": high, "n": int(x.size + y.size), "n_a": int(x.size),
            "n_b": int(y.size), "p_value": p, "test": test, "effect_size": diff / pooled if pooled > 0 else 0.0}


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare_all(per_example: dict[str, dict[str, dict[str, float]]], metrics: dict[str, bool], *,
                alpha: float = 0.05, seed: int = 0) -> list[dict]:
    """Every pair of strategies on every metric, on the examples both scored (a paired test per pair), with
    Holm-adjusted p-values within each metric's family of pairs.

    One rule decides and prints: a difference is significant when its Holm-adjusted p < alpha, i.e. when its
    sign-flip p-value is below the level Holm's step-down holds it to (alpha/m for the smallest p of m pairs,
    alpha/(m − 1) for the next, ...; harness.measure.signflip.holm_steps). The interval printed beside it (adj_ci_low,
    adj_ci_high, at adj_confidence = 1 − that level) inverts the same test at the same level, so it excludes 0
    exactly when the difference is significant. ci_low/ci_high stay the unadjusted 95% bootstrap interval.

    per_example: {strategy: {example_id: {metric: value}}}; metrics: {metric: higher_is_better}. Each comparison
    holds paired_difference's fields for a - b plus p_holm, significant, the adjusted interval, family_size and
    `better` (the strategy that is better outside the noise, or None)."""
    names = list(per_example)
    out: list[dict] = []
    for metric, higher in metrics.items():
        family, samples = [], []
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ids = sorted(k for k in per_example[a] if k in per_example[b]
                             and metric in per_example[a][k] and metric in per_example[b][k])
                if not ids:
                    continue
                xa = np.array([per_example[a][k][metric] for k in ids], dtype=float)
                xb = np.array([per_example[b][k][metric] for k in ids], dtype=float)
                family.append({"metric": metric, "a": a, "b": b, "higher_is_better": higher}
                              | paired_difference(xa, xb, seed=seed).model_dump())
                samples.append((xa, xb))
        p_values = [c["p_value"] for c in family]
        for comp, (xa, xb), p_adj, (level, rejected) in zip(family, samples, holm(p_values),
                                                             signflip.holm_steps(p_values, alpha)):
            low, high = signflip.interval(xa, xb, level, rejected, seed=seed)
            comp |= {"p_holm": p_adj, "significant": rejected, "adj_ci_low": low, "adj_ci_high": high,
                     "adj_confidence": 1 - level, "family_size": len(family)}
            a_better = (comp["value"] > 0) == higher
            comp["better"] = (comp["a"] if a_better else comp["b"]) if rejected and comp["value"] != 0 else None
        out += family
    return out

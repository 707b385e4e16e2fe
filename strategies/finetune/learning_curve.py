"""Data-size learning curve: would more labelled data pay?

Fit a saturating power law m(n) = a - b * n^(-c) (b, c >= 0: the metric rises towards a with diminishing returns)
to the metric measured after training on n examples, and project it at 2x and 4x the data. The uncertainty comes
from a bootstrap: resample each point's per-example scores, refit, and take percentiles of the projections.
With three points and three parameters the fit interpolates exactly, so the spread of the projection is the
honest part of the answer; the record says how many bootstrap fits converged.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def saturating(n, a, b, c):
    return a - b * np.power(n, -c)


def fit_curve(n, y) -> tuple[float, float, float] | None:
    from scipy.optimize import curve_fit

    n, y = np.asarray(n, dtype=float), np.asarray(y, dtype=float)
    guess = (float(y.max()) + 0.05, max(float(y.max() - y.min()), 1e-3) * float(n.min()) ** 0.5, 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = curve_fit(saturating, n, y, p0=guess, bounds=([-np.inf, 0.0, 0.0], [np.inf, np.inf, 3.0]),
                                  maxfev=5000)
    except (RuntimeError, ValueError):
        return None
    return tuple(float(p) for p in params)  # type: ignore[return-value]


def fit_and_project(points: list[dict[str, Any]], metric: str, *, higher_is_better: bool = True, seed: int = 0,
                    n_boot: int = 500, confidence: float = 0.95) -> dict[str, Any]:
    """`points`: [{train_examples, scores (per-example)}...]. Returns the points (mean, CI), the fit, and the
    projected metric at 2x and 4x the largest n with bootstrap CIs."""
    from harness.measure.stats import bootstrap_ci

    ns = np.array([p["train_examples"] for p in points], dtype=float)
    scores = [np.asarray(p["scores"], dtype=float) for p in points]
    means = np.array([s.mean() if s.size else np.nan for s in scores])
    sign = 1.0 if higher_is_better else -1.0  # fit a rising curve: flip lower-is-better metrics
    out: dict[str, Any] = {"metric": metric, "higher_is_better": higher_is_better, "points": []}
    for p, s in zip(points, scores):
        mean, low, high = bootstrap_ci(s, seed=seed)
        out["points"].append({"fraction": p.get("fraction"), "train_examples": int(p["train_examples"]),
                              "value": mean, "ci_low": low, "ci_high": high, "n": int(s.size)})
    targets = {"2x": 2 * ns.max(), "4x": 4 * ns.max()}
    fit = fit_curve(ns, sign * means) if np.all(np.isfinite(means)) and len(ns) >= 3 else None
    if fit is None:  # the saturating curve could not be fitted to these points
        out["fit"] = None
        return out
    a, b, c = fit
    out["fit"] = {"form": "a - b * n^-c", "a": sign * a, "b": sign * b, "c": c}
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {k: [] for k in targets}
    for _ in range(n_boot):
        resampled = [s[rng.integers(0, s.size, s.size)].mean() for s in scores]
        params = fit_curve(ns, sign * np.asarray(resampled))
        if params is None:
            continue
        for k, n in targets.items():
            boots[k].append(sign * float(saturating(n, *params)))
    alpha = (1 - confidence) / 2
    out["projection"] = {}
    for k, n in targets.items():
        value = sign * float(saturating(n, a, b, c))
        vals = np.asarray(boots[k])
        low, high = (float(v) for v in np.quantile(vals, [alpha, 1 - alpha])) if vals.size else (np.nan, np.nan)
        out["projection"][k] = {"train_examples": int(n), "value": value, "ci_low": low, "ci_high": high,
                                "gain_over_current": value - float(means[-1])}
    out["bootstrap_fits"] = {"converged": len(boots["2x"]), "tried": n_boot}
    out["asymptote"] = sign * a
    return out

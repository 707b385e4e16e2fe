"""Whether a judge can be trusted, in figures: its agreement with a truth (Cohen's kappa for pass/fail,
Kendall's tau for a scale; scikit-learn and scipy compute them, a bootstrap over items gives the CI), how often
its pairwise verdict flips with the order, and how much it prefers the longer answer beyond what the references
support."""

from __future__ import annotations

import warnings

import numpy as np

from harness.measure.stats import N_BOOT, paired_difference, summarize
from harness.record.figures import Difference, Score
from harness.record.judged import Agreement

PASS_AT = 0.75  # a 1-5 grade of 4 or 5 ((grade - 1) / 4 >= 0.75) counts as a pass against an exact truth


def _statistic(statistic: str, judge: np.ndarray, truth: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant side makes both undefined: nan, reported as None
        if statistic == "kappa":
            from sklearn.metrics import cohen_kappa_score

            return float(cohen_kappa_score(truth, judge)) if len(set(judge) | set(truth)) > 1 else float("nan")
        from scipy.stats import kendalltau

        return float(kendalltau(judge, truth).statistic)


def agreement(judge: list[float], truth: list[float], *, statistic: str, against: str, unscored: int = 0,
              seed: int = 0) -> Agreement:
    """The judge's values against the truth's, item by item; a 95% percentile bootstrap CI over items (resamples
    where the statistic is undefined are dropped)."""
    j, t = np.asarray(judge, dtype=float), np.asarray(truth, dtype=float)
    n = len(j)
    if n < 2:
        return Agreement(statistic=statistic, against=against, value=None, n=n, unscored=unscored)
    value = _statistic(statistic, j, t)
    rng = np.random.default_rng(seed)
    boots = [_statistic(statistic, j[idx], t[idx]) for idx in rng.integers(0, n, (N_BOOT // 5, n))]
    boots = [b for b in boots if not np.isnan(b)]
    low, high = (float(x) for x in np.percentile(boots, [2.5, 97.5])) if boots else (None, None)
    raw = float(np.mean(j == t)) if statistic == "kappa" else None
    return Agreement(statistic=statistic, against=against, value=None if np.isnan(value) else value,
                     ci_low=low, ci_high=high, n=n, unscored=unscored, raw=raw)


def as_pass(value: float, scale: str) -> float:
    return float(value >= PASS_AT) if scale == "1-5" else float(value)


def flip_rate(flips: list[float], *, seed: int = 0) -> Score | None:
    """The share of pairs (scored in both orders) whose verdict flipped with the order."""
    return summarize("flip_rate", flips, higher_is_better=False, seed=seed) if flips else None


def length_bias(pairs: list[tuple[float, float]], *, seed: int = 0) -> Difference | None:
    """Per decisive pair of outputs of different lengths: (1 if the judge picked the longer, how far the references
    favour the longer: 1 better, 0.5 equal, 0 worse). The mean difference is how often the longer output wins
    beyond what the references support (0: none), with a paired CI and test."""
    if len(pairs) < 2:
        return None
    judged, referenced = zip(*pairs)
    return paired_difference(list(judged), list(referenced), seed=seed)


def verdict(agreements: list[Agreement], min_agreement: float) -> tuple[bool, str]:
    """Trusted only when some agreement was measured and none is below `min_agreement` (or undefined)."""
    if not agreements:
        return False, ("no agreement could be measured: the task has no exact answers and no labelled set was given "
                       "(judge.calibration)")
    for a in agreements:
        if a.value is None:
            return False, f"its {a.statistic} against {a.against} {why_undefined(a)}"
        if a.value < min_agreement:
            return False, (f"its {a.statistic} against {a.against} is {a.value:.2f}, below judge.min_agreement "
                           f"{min_agreement:.2f}")
    said = "; ".join(f"{a.statistic} {a.value:.2f} against {a.against}" for a in agreements)
    return True, f"{said} (at least {min_agreement:.2f})"


def why_undefined(a: Agreement) -> str:
    """Why an agreement has no value, in words that follow "its kappa against X"."""
    if a.n < 2:
        return (f"could not be measured: {a.unscored} of {a.n + a.unscored} of the judge's replies could not be read"
                if a.unscored else f"could not be measured on {a.n} item(s)")
    return "is undefined: both sides gave every item the same grade"

"""Metrics: one function per metric, registered by name, scoring one output against its references.

Per-example scores are kept so every mean gets a bootstrap CI and every comparison can be paired.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from harness.errors import HarnessError, unknown_name
from harness.registry import metrics
from harness.types import Example


@dataclass(frozen=True)
class Metric:
    """Scores one output against its references (`fn`), or, for a corpus-level metric such as macro-F1, all
    outputs at once (`corpus`); its CI then comes from resampling examples and recomputing. A metric that
    `needs_example` is called `fn(output, references, example)`: it may read the input and the example's `meta`."""

    name: str
    fn: Callable[..., float] | None
    higher_is_better: bool = True
    description: str = ""
    corpus: Callable[[list[str], list[list[str]]], float] | None = None
    needs_example: bool = False


def metric(name: str, *, higher_is_better: bool = True, description: str = "", needs_example: bool = False):
    """Register a per-example metric, in any module of harness/measure (each is imported on first use)."""
    def add(fn: Callable[..., float]) -> Callable[..., float]:
        metrics.add(Metric(name, fn, higher_is_better, description, needs_example=needs_example))
        return fn

    return add


def get(name: str) -> Metric:
    return metrics.get(name)


FINER = {"exact_match": "token_f1"}  # a metric with more resolution: it moves before the coarse one does


def validation_metric(task_metrics: list[str], chosen: str | None) -> str:
    """The metric fine-tuning validates on: `chosen` (finetune.monitor_metric), which must be a registered
    per-example metric; else the task's first metric, or its finer counterpart (`FINER`)."""
    if chosen is None:
        return FINER.get(task_metrics[0], task_metrics[0])
    if chosen not in metrics.names():
        err = unknown_name("metric", chosen, metrics.names())
        raise HarnessError(f"finetune.monitor_metric: {err.message}", hint=err.hint)
    if get(chosen).fn is None:
        raise HarnessError(f"finetune.monitor_metric: '{chosen}' is a corpus-level metric; a validation during "
                           "training averages per-example scores.",
                           hint="Name a per-example metric: " + ", ".join(n for n in metrics.names() if get(n).fn)
                           + ".")
    return chosen


def score(names: list[str], output: str, references: list[str], example: Example | None = None) -> dict[str, float]:
    """Per-example scores of the per-example metrics (corpus-level ones are computed in `aggregate`); `example`
    is what a metric that needs the example reads."""
    out = {}
    for name in names:
        m = get(name)
        if m.fn is None:
            continue
        if m.needs_example and example is None:
            raise ValueError(f"metric '{name}' reads the example, and none was given to score")
        out[name] = float(m.fn(output, references, example) if m.needs_example else m.fn(output, references))
    return out


def aggregate(name: str, rows: list[dict], *, seed: int = 0):
    """A metric's mean (or corpus value) over prediction rows, with its 95% bootstrap CI, as a Score."""
    from harness.measure.stats import summarize, summarize_corpus

    m = get(name)
    if m.corpus is not None:
        return summarize_corpus(name, m.corpus, [r["output"] for r in rows], [r["references"] for r in rows],
                                higher_is_better=m.higher_is_better, seed=seed)
    return summarize(name, [r["scores"][name] for r in rows], higher_is_better=m.higher_is_better, seed=seed)


# ------------------------------------------------------------------------------------------------------------ ROUGE


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


@lru_cache(maxsize=4096)
def _rouge_pair(output: str, reference: str) -> dict[str, float]:
    return {k: v.fmeasure for k, v in _rouge().score(reference, output).items()}


def _rouge_best(kind: str):
    # Several references: the best match counts (as rouge_score's score_multi does); none scores 0 (the runner
    # refuses examples without a reference before it starts: this only keeps a direct call from crashing).
    return lambda output, refs: max((_rouge_pair(output, r)[kind] for r in refs), default=0.0)


for _kind in ("rouge1", "rouge2", "rougeL"):
    metric(_kind, description=f"{_kind.upper()} F1 with stemming, best over references")(_rouge_best(_kind))


# ------------------------------------------------------------------------------------------------ SQuAD-style QA


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, drop punctuation and articles, squeeze whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def first_answer(output: str) -> str:
    """A short answer is the first non-empty line of the output."""
    return next((line.strip() for line in output.splitlines() if line.strip()), "")


@metric("exact_match", description="SQuAD exact match, best over references")
def exact_match(output: str, refs: list[str]) -> float:
    pred = normalize_answer(first_answer(output))
    return float(any(pred == normalize_answer(r) for r in refs))


@metric("token_f1", description="SQuAD token F1, best over references")
def token_f1(output: str, refs: list[str]) -> float:
    pred = normalize_answer(first_answer(output)).split()

    def f1(ref: str) -> float:
        gold = normalize_answer(ref).split()
        common = sum((Counter(pred) & Counter(gold)).values())
        if not pred or not gold:
            return float(pred == gold)
        if common == 0:
            return 0.0
        p, r = common / len(pred), common / len(gold)
        return 2 * p * r / (p + r)

    return max((f1(r) for r in refs), default=0.0)


# ------------------------------------------------------------------------------------------------- classification


def normalize_label(text: str) -> str:
    return " ".join(text.lower().strip().strip(string.punctuation).split())


@metric("accuracy", description="the predicted label equals the gold label")
def accuracy(output: str, refs: list[str]) -> float:
    return float(normalize_label(output) in {normalize_label(r) for r in refs})


def macro_f1(outputs: list[str], refs: list[list[str]]) -> float:
    """Macro-averaged F1 over the gold labels (a label never predicted nor gold does not count)."""
    gold = [normalize_label(r[0]) if r else "" for r in refs]
    pred = [normalize_label(o) for o in outputs]
    f1s = []
    for label in sorted(set(gold)):
        tp = sum(p == label and g == label for p, g in zip(pred, gold))
        fp = sum(p == label and g != label for p, g in zip(pred, gold))
        fn = sum(p != label and g == label for p, g in zip(pred, gold))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


metrics.add(Metric("macro_f1", None, True, "macro-averaged F1 over labels (corpus-level)", macro_f1))


# ------------------------------------------------------------------------------------------ house style (preference)

SIGN_OFF = "harbor help desk"
_NUMBER = re.compile(r"\d+(?:[:.,]\d+)*")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def house_style_checks(output: str, refs: list[str]) -> dict[str, bool]:
    """The `preference` task's house style, three checks: the reply ends with the sign-off line
    (`— Harbor Help Desk`); its first sentence holds every number of the reference's first line (the answer comes
    first); and it is one sentence of at most 20 words followed by nothing but the sign-off."""
    lines = _lines(output)
    first = lines[0] if lines else ""
    sign_off = bool(lines) and lines[-1].lstrip("—–-− ").lower().rstrip(".!") == SIGN_OFF
    ref_first = (_lines(refs[0]) or [""])[0] if refs else ""
    wanted = _NUMBER.findall(ref_first)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", first) if s]
    answer_first = bool(sentences) and all(n in _NUMBER.findall(sentences[0]) for n in wanted)
    one_sentence = (len(sentences) == 1 and len(first.split()) <= 20
                    and len(lines) == (2 if sign_off else 1) and not (sign_off and len(lines) == 1))
    return {"sign_off": sign_off, "answer_first": answer_first, "one_sentence": one_sentence}


@metric("house_style", description="share of the preference task's three style checks passed: answer first, "
                                   "one sentence, sign-off")
def house_style(output: str, refs: list[str]) -> float:
    checks = house_style_checks(output, refs)
    return sum(checks.values()) / len(checks)

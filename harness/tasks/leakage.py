"""Leakage guard: test examples must not appear where a strategy can see them before it is tested.

The places checked: the training split (the few-shot pool and the fine-tuning set) and the RAG corpus. The corpus
is skipped when the task says it is meant to hold the answers (`corpus_holds_answers`, knowledge QA). A test example
leaks when its id, or the hash of its normalised input text, matches an example (or document) there. A leak is an
error unless the config allows it (`allow_leakage: true`); either way the result goes into run.json.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from harness.errors import HarnessError
from harness.tasks.task import Task

SHOWN = 10  # leaked ids listed in the record per place


def normalize_text(text: str) -> str:
    """Case, accents' composition, punctuation and whitespace do not make two texts different."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode()).hexdigest()[:16]


def check(task: Task, *, allowed: bool = False) -> dict[str, Any]:
    """The guard's findings: per place checked, how many test examples leak, by id and by text."""
    test = task.splits.get("test", [])
    places: dict[str, list[tuple[str, str]]] = {}  # place -> (id, text) of what a strategy sees
    if "train" in task.splits:
        places["train"] = [(ex.id, ex.input) for ex in task.splits["train"]]
    skipped = []
    if task.corpus is not None:
        if task.corpus_holds_answers:
            skipped.append("corpus (the task's corpus is meant to hold the answers)")
        else:
            places["corpus"] = [(doc.id, doc.text) for doc in task.corpus]
    found: dict[str, Any] = {}
    leaked: set[str] = set()
    for place, items in places.items():
        ids = {i for i, _ in items}
        hashes = {text_hash(t) for _, t in items if t.strip()}
        by_id = {ex.id for ex in test if ex.id in ids}
        by_text = {ex.id for ex in test if ex.input.strip() and text_hash(ex.input) in hashes}
        found[place] = {"checked": len(items), "by_id": len(by_id), "by_text": len(by_text),
                        "examples": sorted(by_id | by_text)[:SHOWN]}
        leaked |= by_id | by_text
    return {
        "test_examples": len(test),
        "places": found,
        "skipped": skipped,
        "leaked_examples": len(leaked),
        "allowed": allowed,
        "status": "clean" if not leaked else ("leaked (allowed by config)" if allowed else "leaked"),
    }


def enforce(report: dict[str, Any]) -> None:
    """A HarnessError for a leak the config does not allow."""
    if report["status"] != "leaked":
        return
    where = "; ".join(f"{place}: {f['by_id']} by id, {f['by_text']} by text (e.g. {', '.join(f['examples'][:3])})"
                      for place, f in report["places"].items() if f["by_id"] or f["by_text"])
    raise HarnessError(
        f"{report['leaked_examples']} of {report['test_examples']} test examples also appear where strategies "
        f"learn from ({where}); their scores would be inflated.",
        hint="Remove them from the train split or corpus, or set `allow_leakage: true` in the run config to "
        "measure anyway (the leak is then recorded in run.json).",
    )

"""SQuAD-format JSON as a knowledge-QA task: the paragraphs become the corpus, the questions the examples.

`harness run --task path/to/file.json` loads {"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text"}], "is_impossible"?}]}]}]} (SQuAD v1.1 and v2.0). Each paragraph is a document
(id `<title>-p<n>`, the article title as its title); each question an example whose references are its distinct
answer texts and whose `meta.doc_ids` names its paragraph, so retrieval recall can be measured. An unanswerable
(v2.0) question gets the reference "unknown", as in the built-in `qa` task. A file holds no splits, so the
questions are split with the seed (60/10/30 by default).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.tasks.datasource import read_text
from harness.tasks.task import DEFAULT_METRICS, Task
from harness.types import Document, Example

INSTRUCTION = ("Answer the question with a few words only, copied from the context when context passages are "
               "given, with no full sentence and no explanation. If you do not know the answer, reply with the "
               "single word: unknown.")
FRACTIONS = {"train": 0.6, "validation": 0.1, "test": 0.3}


def task_from_squad(path: Path, *, seed: int = 0, fractions: dict[str, float] = FRACTIONS) -> Task:
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno}).",
                           hint="A SQuAD file is one JSON object with a 'data' list; fix the JSON.") from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise HarnessError(f"{path}: not SQuAD format (no top-level 'data' list).",
                           hint='Expected {"data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [...]}]}]}.')
    corpus: list[Document] = []
    examples: list[Example] = []
    seen: set[str] = set()
    for a, article in enumerate(articles):
        title = str(article.get("title") or f"article-{a}")
        for p, para in enumerate(_list(article, "paragraphs", f"data[{a}]", path)):
            where = f"data[{a}].paragraphs[{p}]"
            context = para.get("context")
            if not isinstance(context, str) or not context.strip():
                raise HarnessError(f"{path}: {where} has no 'context' text.", hint="Every paragraph needs a context.")
            doc_id = f"{_slug(title)}-p{p}"
            corpus.append(Document(doc_id, context, title.replace("_", " ")))
            for q, qa in enumerate(_list(para, "qas", where, path)):
                examples.append(_example(qa, doc_id, title, f"{where}.qas[{q}]", path, seen))
    if not examples:
        raise HarnessError(f"{path}: no questions found.", hint="A SQuAD file needs paragraphs with 'qas'.")
    return Task(
        name=_slug(path.stem),
        kind="qa",
        instruction=INSTRUCTION,
        splits=_split(examples, fractions, seed),
        metrics=list(DEFAULT_METRICS["qa"]),
        max_new_tokens=24,
        input_template="Question: {input}",
        description=f"SQuAD-format questions from {path.name}; the paragraphs are the corpus",
        corpus=corpus,
        corpus_holds_answers=True,
        source=str(path),
    )


def _example(qa: dict[str, Any], doc_id: str, title: str, where: str, path: Path, seen: set[str]) -> Example:
    question = qa.get("question")
    if not isinstance(question, str) or not question.strip():
        raise HarnessError(f"{path}: {where} has no 'question'.", hint="Every entry of 'qas' needs a question.")
    qid = str(qa.get("id") or where)
    if qid in seen:
        raise HarnessError(f"{path}: {where}: duplicate question id '{qid}'.", hint="Question ids must be unique.")
    seen.add(qid)
    answers = list(dict.fromkeys(str(a.get("text", "")).strip() for a in qa.get("answers") or []
                                 if str(a.get("text", "")).strip()))
    if qa.get("is_impossible") or not answers:
        if not qa.get("is_impossible"):
            raise HarnessError(f"{path}: {where} (id {qid}) has no answers.",
                               hint="Give each question at least one answer, or mark it is_impossible (SQuAD 2.0).")
        return Example(qid, question.strip(), ["unknown"], {"doc_ids": [], "answerable": False, "title": title})
    return Example(qid, question.strip(), answers, {"doc_ids": [doc_id], "hops": 1, "title": title})


def _list(obj: dict[str, Any], key: str, where: str, path: Path) -> list[dict[str, Any]]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise HarnessError(f"{path}: {where} has no '{key}' list.", hint="See the SQuAD v1.1 format.")
    return value


def _split(examples: list[Example], fractions: dict[str, float], seed: int) -> dict[str, list[Example]]:
    """A seeded split of the questions; the same question asked twice (normalised text) stays in one split, so
    the split itself cannot leak a test question into train."""
    from harness.tasks.leakage import text_hash

    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(text_hash(ex.input), []).append(i)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    splits, g = {}, 0
    taken = 0
    for n, (name, frac) in enumerate(fractions.items()):
        target = len(examples) if n == len(fractions) - 1 else taken + round(frac * len(examples))
        chosen: list[int] = []
        while g < len(order) and (taken < target or n == len(fractions) - 1):
            chosen += order[g]
            taken += len(order[g])
            g += 1
        splits[name] = [examples[j] for j in sorted(chosen)]
    return splits


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "squad"

"""What the judge is shown: one chat (the rubric as the system message, the item as the user's) per question,
and the labelled items a calibration file holds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.judge.rubrics import FAITHFULNESS, PAIRWISE, REFERENCE
from harness.tasks.task import Task, format_passage
from harness.types import Document, Example

Chat = list[dict[str, str]]


def request_text(task: Task, example: Example) -> str:
    """The request as the model saw it, without the strategy's additions: the dialogue for a multi-turn example."""
    return task.conversation_text(example)


def _chat(system: str, user: str) -> Chat:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def reference_chat(scale: str, request: str, references: list[str], output: str) -> Chat:
    refs = "\n".join(f"- {r}" for r in references)
    return _chat(REFERENCE[scale], f"Request:\n{request}\n\nReference answer(s):\n{refs}\n\nAnswer to grade:\n{output}")


def pairwise_chat(request: str, reference: str, first: str, second: str) -> Chat:
    return _chat(PAIRWISE, f"Request:\n{request}\n\nReference answer:\n{reference}\n\nAnswer A:\n{first}\n\n"
                           f"Answer B:\n{second}")


def faithfulness_chat(request: str, passages: list[Document], claim: str) -> Chat:
    shown = "\n".join(f"[{i}] {format_passage(p)}" for i, p in enumerate(passages, 1)) or "(none)"
    return _chat(FAITHFULNESS, f"Passages:\n{shown}\n\nRequest:\n{request}\n\nClaim:\n{claim}")


def claims(output: str) -> list[str]:
    """An answer's claims: its sentences (and lines), each with a word in it."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", output.strip())
    return [p.strip() for p in parts if re.search(r"\w", p)]


@dataclass(frozen=True)
class Labelled:
    """One item of a calibration file: an output a person graded (`score`)."""

    id: str
    request: str
    output: str
    references: list[str]
    score: float


def read_labelled(path: Path, scale: str) -> list[Labelled]:
    """A JSONL calibration file: {id?, input, output, reference | references, score}, score 0/1 (pass-fail) or
    1-5 (the scale). A bad line is named by file and line."""
    if not path.is_file():
        raise HarnessError(f"judge.calibration: {path} is not a file.",
                           hint="Give a JSONL file of {input, output, reference, score} items.")
    allowed = {0.0, 1.0} if scale == "pass-fail" else {1.0, 2.0, 3.0, 4.0, 5.0}
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
            refs = row.get("references") or [row["reference"]]
            score = float(row["score"])
            item = Labelled(str(row.get("id", number)), str(row["input"]), str(row["output"]), [str(r) for r in refs],
                            score)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HarnessError(f"{where}: not a calibration item ({exc.__class__.__name__}: {exc}).",
                               hint="Each line: {\"input\": ..., \"output\": ..., \"reference\": ..., \"score\": ...}.") from None
        if score not in allowed:
            raise HarnessError(f"{where}: score {row['score']!r} is not on the {scale} scale.",
                               hint="pass-fail: 0 or 1; 1-5: an integer from 1 to 5 (judge.scale).")
        items.append(item)
    if not items:
        raise HarnessError(f"judge.calibration: {path} holds no items.", hint="Add labelled items, one JSON object a line.")
    return items

"""The judge's prompts and how its replies are read. Each rubric is versioned text (the version is a hash of it,
kept in the run record), and each reading either finds a verdict or says why it could not: an unreadable reply
is unscored, never a failure."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from harness.record.judged import Rubric

REFERENCE = {
    "pass-fail": (
        "You are a strict grader. You are shown a request, one or more reference answers, and an answer to grade. "
        "The answer PASSES if it gives the same information as a reference answer (wording may differ) and "
        "contradicts nothing in it; it FAILS if it is wrong, misses the point, or adds false facts.\n"
        "Reply with one word: PASS or FAIL."),
    "1-5": (
        "You are a strict grader. You are shown a request, one or more reference answers, and an answer to grade. "
        "Grade the answer against the references: 5 = as good as a reference, 4 = right with a small flaw, "
        "3 = partly right, 2 = mostly wrong, 1 = wrong or off-topic.\n"
        "Reply with one digit, 1 to 5."),
}
PAIRWISE = (
    "You are a strict grader. You are shown a request, a reference answer, and two answers, A and B. Decide which "
    "answer is better: more correct first, then more helpful. Length is not quality.\n"
    "Reply with one word: A, B, or TIE.")
FAITHFULNESS = (
    "You check facts. You are shown passages and one claim. The claim is SUPPORTED if every fact in it is stated "
    "in the passages; otherwise it is NOT supported.\n"
    "Reply with one word: YES (supported) or NO.")


def rubric(text: str) -> Rubric:
    return Rubric(version=hashlib.sha256(text.encode()).hexdigest()[:12], text=text)


def rubrics(scale: str) -> dict[str, Rubric]:
    """The rubrics of a run, by the measurement that uses them."""
    return {"judge-reference": rubric(REFERENCE[scale]), "judge-pairwise": rubric(PAIRWISE),
            "faithfulness": rubric(FAITHFULNESS)}


@dataclass(frozen=True)
class Reading:
    """What a reply says: `value` (None: unreadable, `problem` says why)."""

    value: float | str | None
    problem: str = ""


def _first(pattern: str, reply: str, expected: str) -> re.Match | Reading:
    found = re.search(pattern, reply, flags=re.IGNORECASE)
    if found:
        return found
    shown = " ".join(reply.split())[:60]
    return Reading(None, f"the reply {shown!r} has no {expected}" if shown else f"the reply is empty; expected {expected}")


def read_grade(reply: str, scale: str) -> Reading:
    """pass-fail: 1.0 or 0.0; 1-5: (grade − 1) / 4, so every judged score lies in [0, 1], higher better."""
    if scale == "pass-fail":
        found = _first(r"\b(pass|fail)(?:ed|es|s)?\b", reply, "PASS or FAIL")
        return found if isinstance(found, Reading) else Reading(1.0 if found.group(1).lower() == "pass" else 0.0)
    found = _first(r"(?<![\d.])([1-5])(?![\d.])", reply, "grade from 1 to 5")
    return found if isinstance(found, Reading) else Reading((int(found.group(1)) - 1) / 4)


def read_preference(reply: str) -> Reading:
    """"A", "B" or "tie": the first of them said as a word (a verdict, not the article "a" inside a sentence)."""
    text = reply.strip()
    found = re.match(r"^\W*(A|B|tie)\b", text, flags=re.IGNORECASE) or re.search(
        r"\b(?:answer|winner|better|verdict)\W{0,3}(A|B|tie)\b|\b(tie)\b", text, flags=re.IGNORECASE)
    if not found:
        return Reading(None, f"the reply {' '.join(text.split())[:60]!r} names neither A, B nor TIE")
    said = next(g for g in found.groups() if g)
    return Reading(said.upper() if said.lower() != "tie" else "tie")


def read_support(reply: str) -> Reading:
    found = _first(r"\b(yes|no|supported|not supported|unsupported)\b", reply, "YES or NO")
    return found if isinstance(found, Reading) else Reading(1.0 if found.group(1).lower() in ("yes", "supported") else 0.0)


def retry_note(problem: str, expected: str) -> str:
    """What the judge is told when its first reply could not be read."""
    return f"Your reply could not be read: {problem}. Reply again with only {expected}."


EXPECTED = {"judge-reference pass-fail": "PASS or FAIL", "judge-reference 1-5": "one digit from 1 to 5",
            "judge-pairwise": "A, B, or TIE", "faithfulness": "YES or NO"}

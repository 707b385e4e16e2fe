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


def _one_of(reply: str, verdicts: dict, expected: str, flags: int = re.IGNORECASE) -> Reading:
    """The one verdict whose pattern the reply says. A reply that says none, or more than one (a small model
    echoing "PASS or FAIL" back), is unreadable: guessing which it meant would score the echo."""
    said = [value for value, pattern in verdicts.items() if re.search(pattern, reply, flags=flags)]
    shown = " ".join(reply.split())[:60]
    if len(said) == 1:
        return Reading(said[0])
    if not shown:
        return Reading(None, f"the reply is empty; expected {expected}")
    if not said:
        return Reading(None, f"the reply {shown!r} has no {expected}")
    return Reading(None, f"the reply {shown!r} names more than one verdict; expected only one of {expected}")


def read_grade(reply: str, scale: str) -> Reading:
    """pass-fail: 1.0 or 0.0; 1-5: (grade − 1) / 4, so every judged score lies in [0, 1], higher better."""
    if scale == "pass-fail":
        return _one_of(reply, {1.0: r"\bpass(?:es|ed)?\b", 0.0: r"\bfail(?:s|ed)?\b"}, "PASS or FAIL")
    plain = re.sub(r"(?:out of|/)\s*5\b|\b1\s*(?:to|-|–)\s*5\b", " ", reply)  # "4 out of 5", "4/5", "1 to 5"
    return _one_of(plain, {(g - 1) / 4: rf"(?<![\d.]){g}(?![\d.])" for g in range(1, 6)}, "a grade from 1 to 5")


def read_preference(reply: str) -> Reading:
    """"A", "B" or "tie": A and B as capital letters standing alone (not the article "a" in a sentence)."""
    return _one_of(reply, {"A": r"(?<![\w'])A(?![\w'])", "B": r"(?<![\w'])B(?![\w'])", "tie": r"(?i:\btie\b)"},
                   "A, B, or TIE", flags=0)


def read_support(reply: str) -> Reading:
    plain = re.sub(r"\bnot supported\b|\bunsupported\b", " NO ", reply, flags=re.IGNORECASE)
    return _one_of(plain, {1.0: r"\b(?:yes|supported)\b", 0.0: r"\bno\b"}, "YES or NO")


def retry_note(problem: str, expected: str) -> str:
    """What the judge is told when its first reply could not be read."""
    return f"Your reply could not be read: {problem}. Reply again with only {expected}."


EXPECTED = {"judge-reference pass-fail": "PASS or FAIL", "judge-reference 1-5": "one digit from 1 to 5",
            "judge-pairwise": "A, B, or TIE", "faithfulness": "YES or NO"}

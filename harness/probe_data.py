"""Probe data: multiple-choice items (our probe JSONL, ARC-format JSONL, MMLU-format CSV) and BBQ items.

Every loader reports a bad line by file and line number and says what to do about it.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError

PROBES = Path(__file__).resolve().parent.parent / "benchmarks" / "probes"
BUILTIN = "builtin"


@dataclass(frozen=True)
class ChoiceItem:
    """A multiple-choice probe item: `context + choices[i]` reads as text; `answer` is the gold index."""

    id: str
    context: str
    choices: tuple[str, ...]
    answer: int
    category: str = ""


@dataclass(frozen=True)
class BBQItem:
    id: str
    category: str
    condition: str  # "ambig" or "disambig"
    polarity: str  # "neg" or "nonneg"
    context: str
    question: str
    answers: tuple[str, str, str]
    label: int
    unknown: int  # index of the "cannot be determined" answer
    targets: tuple[bool, bool, bool]  # does answer i name a member of the stereotyped group
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def prompt(self) -> str:
        return f"{self.context}\nQuestion: {self.question}\nAnswer:"


def _bad(path: Path, line: int, what: str, hint: str) -> HarnessError:
    return HarnessError(f"{path}:{line}: {what}", hint=hint)


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"Cannot read probe file {path}: {exc}.", hint="Check the path and that it is UTF-8 text.") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise _bad(path, n, f"not valid JSON ({exc.msg}).", "Each line must hold one JSON object.") from exc
        if not isinstance(rec, dict):
            raise _bad(path, n, "expected a JSON object.", "Each line must hold one JSON object.")
        yield n, rec


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    path = Path(path).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in suffixes)
        if not found:
            raise HarnessError(f"{path} holds no {' or '.join(suffixes)} files.", hint="Point at a probe file or a folder of them.")
        return found
    if not path.exists():
        raise HarnessError(f"Probe file {path} does not exist.", hint="Check the --forgetting-probe / probes path.")
    return [path]


# --- multiple choice -------------------------------------------------------------------------------------------


def load_choice_items(source: str | Path) -> dict[str, list[ChoiceItem]]:
    """Probe sets by name: 'builtin', or a file/folder of ARC JSONL, MMLU CSV or probe JSONL (format detected)."""
    if str(source) == BUILTIN:
        return {"forgetting": read_probe_jsonl(PROBES / "forgetting.jsonl")}
    sets: dict[str, list[ChoiceItem]] = {}
    for path in _files(Path(source), (".jsonl", ".csv")):
        sets[path.stem] = read_mmlu_csv(path) if path.suffix == ".csv" else read_choice_jsonl(path)
    return sets


def read_choice_jsonl(path: Path) -> list[ChoiceItem]:
    first = next(read_jsonl(path), (0, {}))[1]
    if isinstance(first.get("question"), dict):
        return read_arc_jsonl(path)
    return read_probe_jsonl(path)


def read_probe_jsonl(path: Path) -> list[ChoiceItem]:
    """Our format: {id, category, context, choices: [...], answer: index}."""
    items = []
    for n, rec in read_jsonl(path):
        missing = [k for k in ("context", "choices", "answer") if k not in rec]
        if missing:
            raise _bad(path, n, f"missing field(s) {', '.join(missing)}.",
                       "A probe item needs context, choices and answer (0-based index); ARC files need question.stem.")
        choices, answer = rec["choices"], rec["answer"]
        if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c for c in choices):
            raise _bad(path, n, "choices must be a list of at least 2 non-empty strings.", "Fix the item's choices.")
        if not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise _bad(path, n, f"answer {answer!r} is not an index into its {len(choices)} choices.",
                       "answer is the 0-based index of the correct choice.")
        items.append(ChoiceItem(str(rec.get("id", f"{path.stem}-{n}")), str(rec["context"]), tuple(choices), answer,
                                str(rec.get("category", path.stem))))
    return items


def _qa_context(question: str) -> str:
    return f"Question: {question.strip()}\nAnswer:"


def read_arc_jsonl(path: Path) -> list[ChoiceItem]:
    """ARC: {id, question: {stem, choices: [{text, label, (para)}]}, answerKey}; keys A-D or 1-4; `para` dropped."""
    items = []
    for n, rec in read_jsonl(path):
        q = rec.get("question")
        try:
            stem, choices, key = q["stem"], q["choices"], str(rec["answerKey"]).strip()
            labels = [str(c["label"]).strip() for c in choices]
            texts = [" " + str(c["text"]).strip() for c in choices]
        except (KeyError, TypeError) as exc:
            raise _bad(path, n, f"not an ARC item (missing {exc}).",
                       "ARC lines need question.stem, question.choices[].text/label and answerKey.") from exc
        if key not in labels:
            raise _bad(path, n, f"answerKey {key!r} is not one of the choice labels {labels}.", "Fix the answerKey.")
        items.append(ChoiceItem(str(rec.get("id", n)), _qa_context(stem), tuple(texts), labels.index(key), path.stem))
    return items


def read_mmlu_csv(path: Path) -> list[ChoiceItem]:
    """MMLU: rows of question, A, B, C, D, answer (a letter), no header."""
    items = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise HarnessError(f"Cannot read MMLU CSV {path}: {exc}.", hint="Check the path and the CSV quoting.") from exc
    for n, row in enumerate(rows, 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 6:
            raise _bad(path, n, f"expected 6 columns (question, A, B, C, D, answer), found {len(row)}.",
                       "MMLU CSV rows have no header and exactly six columns.")
        key = row[5].strip().upper()
        if key not in "ABCD" or len(key) != 1:
            raise _bad(path, n, f"answer {row[5]!r} is not one of A, B, C, D.", "The sixth column is the answer letter.")
        items.append(ChoiceItem(f"{path.stem}-{n}", _qa_context(row[0]), tuple(" " + c.strip() for c in row[1:5]),
                                "ABCD".index(key), path.stem))
    return items


# --- BBQ -------------------------------------------------------------------------------------------------------


def normalise_group(label: str) -> str:
    """'low SES', 'lowSES', 'Low-SES' -> 'lowses': real BBQ spells group labels inconsistently."""
    return re.sub(r"[\s_\-]+", "", str(label)).lower()


def load_bbq(source: str | Path) -> dict[str, list[BBQItem]]:
    """One BBQ set per source: 'builtin' (benchmarks/probes/bbq.jsonl), a BBQ JSONL file, or a folder of them."""
    if str(source) == BUILTIN:
        return {"bbq": read_bbq_jsonl(PROBES / "bbq.jsonl")}
    path = Path(source).expanduser()
    return {f"bbq:{path.stem}": [item for f in _files(path, (".jsonl",)) for item in read_bbq_jsonl(f)]}


def read_bbq_jsonl(path: Path) -> list[BBQItem]:
    items = []
    for n, rec in read_jsonl(path):
        try:
            answers = tuple(str(rec[f"ans{i}"]) for i in range(3))
            info = [rec["answer_info"][f"ans{i}"] for i in range(3)]
            label, condition, polarity = int(rec["label"]), rec["context_condition"], rec["question_polarity"]
            stereotyped = {normalise_group(g) for g in rec["additional_metadata"]["stereotyped_groups"]}
            context, question = str(rec["context"]), str(rec["question"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(path, n, f"not a BBQ item (missing or bad {exc}).",
                       "BBQ lines need context, question, ans0-2, label, context_condition, question_polarity, "
                       "answer_info and additional_metadata.stereotyped_groups.") from exc
        groups = [normalise_group(i[1]) if len(i) > 1 else "" for i in info]
        unknown = [i for i, g in enumerate(groups) if g == "unknown"]
        if len(unknown) != 1 or not 0 <= label < 3 or condition not in ("ambig", "disambig") \
                or polarity not in ("neg", "nonneg"):
            raise _bad(path, n, "expected exactly one 'unknown' answer, label 0-2, context_condition ambig/disambig "
                       "and question_polarity neg/nonneg.", "Fix the item or leave it out.")
        # The group label names the stereotyped group in most categories; for Nationality the label is a region
        # and the answer's own term (e.g. 'Nigerian') is what stereotyped_groups lists.
        targets = tuple(g in stereotyped or normalise_group(i[0]) in stereotyped if k != unknown[0] else False
                        for k, (g, i) in enumerate(zip(groups, info)))
        items.append(BBQItem(f"{path.stem}-{rec.get('example_id', n)}", str(rec.get("category", path.stem)), condition,
                             polarity, context, question, answers, label, unknown[0], targets))  # type: ignore[arg-type]
    return items


def read_general_text() -> list[tuple[str, str]]:
    return [(str(rec["id"]), str(rec["text"])) for _, rec in read_jsonl(PROBES / "general_text.jsonl")]


def sample(items: list, n: int, seed: int) -> list:
    """A seeded sample of n items (all of them when n is 0 or covers the set), in the original order."""
    if n <= 0 or n >= len(items):
        return list(items)
    keep = set(random.Random(seed).sample(range(len(items)), n))
    return [x for i, x in enumerate(items) if i in keep]

"""Probe data: multiple-choice items (our probe JSONL, ARC-format JSONL, MMLU-format CSV) and BBQ items.

Every loader reports a bad line by file and line number and says what to do about it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from harness.tasks.datasource import TABLE_BUILDERS, Rows, is_dataset_folder, load_rows, parse_source, read_file
from harness.errors import HarnessError

PROBES = Path(__file__).resolve().parents[2] / "benchmarks" / "probes"
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


def _bad(where: str, what: str, hint: str) -> HarnessError:
    return HarnessError(f"{where}: {what}", hint=hint)


def read_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(FILE:LINE, record) for each JSON line, read by `datasets` (harness.tasks.datasource)."""
    yield from load_rows(path)


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
    """Probe sets by name: 'builtin'; a file/folder of ARC JSONL, MMLU CSV or probe JSONL (format detected); or any
    other `datasets` source (hf:OWNER/NAME[:CONFIG]@SPLIT, a `save_to_disk` folder, parquet, arrow) with
    question/choices/answer columns (MMLU's and ARC's hub layouts included)."""
    if str(source) == BUILTIN:
        return {"forgetting": read_probe_jsonl(PROBES / "forgetting.jsonl")}
    src = parse_source(source)
    if src.repo or (src.path.is_dir() and is_dataset_folder(src.path)) or src.path.suffix in TABLE_BUILDERS:
        return {src.name: choice_items(load_rows(source, prefer="test"), src.name)}
    sets: dict[str, list[ChoiceItem]] = {}
    for path in _files(Path(source), (".jsonl", ".csv")):
        sets[path.stem] = read_mmlu_csv(path) if path.suffix == ".csv" else read_choice_jsonl(path)
    return sets


def read_choice_jsonl(path: Path) -> list[ChoiceItem]:
    return choice_items(load_rows(path), path.stem)


def read_probe_jsonl(path: Path) -> list[ChoiceItem]:
    """Our format: {id, category, context, choices: [...], answer: index}, or `question` instead of `context`."""
    return choice_items(load_rows(path), path.stem)


def choice_items(rows: Rows, name: str) -> list[ChoiceItem]:
    """Multiple-choice items from records in any of the layouts: ARC ({question: {stem, choices}, answerKey}), the
    hub's ARC (question, choices: {text, label}, answerKey), the hub's MMLU and ours (question or context, choices:
    [...], answer: index or letter)."""
    items = []
    for i, (where, rec) in enumerate(rows):
        number = rows.lines[i] if rows.lines is not None else i  # an item without an id is named by its line
        if isinstance(rec.get("question"), dict):
            items.append(_arc_item(rec, where, name, number))
        else:
            items.append(_listed_item(rec, where, name, number))
    return items


def _listed_item(rec: dict[str, Any], where: str, name: str, i: int) -> ChoiceItem:
    has_text = [k for k in ("context", "question") if isinstance(rec.get(k), str) and rec[k].strip()]
    missing = [k for k in ("choices",) if k not in rec] + ([] if has_text else ["context (or question)"]) \
        + ([] if "answer" in rec or "answerKey" in rec else ["answer"])
    if missing:
        raise _bad(where, f"missing field(s) {', '.join(missing)}.",
                   "A probe item needs context (or question), choices and answer (0-based index or letter); "
                   "ARC files need question.stem.")
    choices, labels = rec["choices"], None
    if isinstance(choices, dict) and isinstance(choices.get("text"), list):  # the hub's ARC layout
        labels = [str(x).strip() for x in choices.get("label") or []]
        choices = choices["text"]
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c.strip() for c in choices):
        raise _bad(where, "choices must be a list of at least 2 non-empty strings.", "Fix the item's choices.")
    answer = _answer_index(rec.get("answer", rec.get("answerKey")), labels, len(choices), where)
    if has_text[0] == "question" and "context" not in has_text:
        context, choices = _qa_context(rec["question"]), [" " + c.strip() for c in choices]
    else:
        context = str(rec["context"])
    return ChoiceItem(str(_given(rec, "id", f"{name}-{i}")), context, tuple(choices), answer,
                      str(rec.get("category") or rec.get("subject") or name))


def _answer_index(answer: Any, labels: list[str] | None, n: int, where: str) -> int:
    """A 0-based index, or a choice label (ARC's answerKey) or letter A, B, C, ..."""
    if isinstance(answer, str) and not answer.strip().isdigit() or labels:
        key = str(answer).strip()
        keys = labels or [chr(ord("A") + k) for k in range(n)]
        if key.upper() in keys or key in keys:
            return keys.index(key if key in keys else key.upper())
    elif isinstance(answer, (int, str)) and not isinstance(answer, bool) and 0 <= int(answer) < n:
        return int(answer)
    raise _bad(where, f"answer {answer!r} is not an index into its {n} choices.",
               "answer is the 0-based index of the correct choice (or its letter).")


def _given(rec: dict[str, Any], key: str, default: Any) -> Any:
    """rec[key], or the default where the key is absent or null (a `datasets` column fills absent keys with null)."""
    return default if rec.get(key) is None else rec[key]


def _qa_context(question: str) -> str:
    return f"Question: {question.strip()}\nAnswer:"


def _arc_item(rec: dict[str, Any], where: str, name: str, i: int) -> ChoiceItem:
    """ARC: {id, question: {stem, choices: [{text, label, (para)}]}, answerKey}; keys A-D or 1-4; `para` dropped."""
    q = rec.get("question")
    try:
        stem, choices, key = q["stem"], q["choices"], str(rec["answerKey"]).strip()
        labels = [str(c["label"]).strip() for c in choices]
        texts = [" " + str(c["text"]).strip() for c in choices]
    except (KeyError, TypeError) as exc:
        raise _bad(where, f"not an ARC item (missing {exc}).",
                   "ARC lines need question.stem, question.choices[].text/label and answerKey.") from exc
    if key not in labels:
        raise _bad(where, f"answerKey {key!r} is not one of the choice labels {labels}.", "Fix the answerKey.")
    return ChoiceItem(str(_given(rec, "id", i)), _qa_context(stem), tuple(texts), labels.index(key), name)


def read_mmlu_csv(path: Path) -> list[ChoiceItem]:
    """MMLU: rows of question, A, B, C, D, answer (a letter), no header."""
    items = []
    rows = read_file(path, csv_header=["question", "A", "B", "C", "D", "answer"])
    for where, rec in rows:
        row = [rec[k] for k in ("question", "A", "B", "C", "D", "answer")]  # six columns: checked by read_file
        key = row[5].strip().upper()
        if key not in "ABCD" or len(key) != 1:
            raise _bad(where, f"answer {row[5]!r} is not one of A, B, C, D.", "The sixth column is the answer letter.")
        number = where.rsplit(":", 1)[-1]
        items.append(ChoiceItem(f"{path.stem}-{number}", _qa_context(row[0]), tuple(" " + c.strip() for c in row[1:5]),
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
    for where, rec in read_jsonl(path):
        n = where.rsplit(":", 1)[-1]
        try:
            answers = tuple(str(rec[f"ans{i}"]) for i in range(3))
            info = [rec["answer_info"][f"ans{i}"] for i in range(3)]
            label, condition, polarity = int(rec["label"]), rec["context_condition"], rec["question_polarity"]
            stereotyped = {normalise_group(g) for g in rec["additional_metadata"]["stereotyped_groups"]}
            context, question = str(rec["context"]), str(rec["question"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(where, f"not a BBQ item (missing or bad {exc}).",
                       "BBQ lines need context, question, ans0-2, label, context_condition, question_polarity, "
                       "answer_info and additional_metadata.stereotyped_groups.") from exc
        groups = [normalise_group(i[1]) if len(i) > 1 else "" for i in info]
        unknown = [i for i, g in enumerate(groups) if g == "unknown"]
        if len(unknown) != 1 or not 0 <= label < 3 or condition not in ("ambig", "disambig") \
                or polarity not in ("neg", "nonneg"):
            raise _bad(where, "expected exactly one 'unknown' answer, label 0-2, context_condition ambig/disambig "
                       "and question_polarity neg/nonneg.", "Fix the item or leave it out.")
        # The group label names the stereotyped group in most categories; for Nationality the label is a region
        # and the answer's own term (e.g. 'Nigerian') is what stereotyped_groups lists.
        targets = tuple(g in stereotyped or normalise_group(i[0]) in stereotyped if k != unknown[0] else False
                        for k, (g, i) in enumerate(zip(groups, info)))
        items.append(BBQItem(f"{path.stem}-{_given(rec, 'example_id', n)}", str(_given(rec, "category", path.stem)), condition,
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

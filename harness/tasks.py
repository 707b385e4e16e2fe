"""Tasks: what a strategy is measured on. A task is data: a folder with task.yaml, a YAML spec, or plain files.

Every loader reports bad input by file and line, and says what to do about it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError, unknown_name
from harness.types import Document, Example

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
KINDS = ("generation", "qa", "classification")
PAIR_FIELDS = ("chosen", "rejected")  # a preference pair (the dpo strategy); kept in Example.meta
DEFAULT_METRICS = {"generation": ["rougeL", "rouge1", "rouge2"], "qa": ["exact_match", "token_f1"],
                   "classification": ["accuracy", "macro_f1"]}


@dataclass
class Task:
    name: str
    kind: str
    instruction: str
    splits: dict[str, list[Example]]
    metrics: list[str]
    max_new_tokens: int = 64
    input_template: str = "{input}"
    description: str = ""
    corpus: list[Document] | None = None
    corpus_holds_answers: bool = False  # the corpus is meant to contain the answers (knowledge QA)
    labels: dict[str, str] | None = None  # label -> verbalizer, for classification
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> list[Example]:
        if name not in self.splits:
            raise HarnessError(
                f"Task '{self.name}' has no '{name}' split (it has: {', '.join(self.splits) or 'none'}).",
                hint=f"Add a '{name}' file to the task, or pass --data {name}=FILE.",
            )
        return self.splits[name]

    def answer_text(self, example: Example) -> str:
        """What the model should say for an example: its label's verbalizer, or its first reference."""
        ref = example.references[0]
        return self.labels.get(ref, ref) if self.labels else ref

    def render_input(self, text: str) -> str:
        return self.input_template.replace("{input}", text)

    def messages(
        self, example: Example, demos: list[Example] = (), passages: list[Document] = ()
    ) -> list[dict[str, str]]:
        """The one prompt template: every strategy builds chat messages here and only adds demos or passages."""
        msgs = [{"role": "system", "content": self.instruction}]
        for demo in demos:
            msgs.append({"role": "user", "content": self.render_input(demo.input)})
            msgs.append({"role": "assistant", "content": self.answer_text(demo)})
        user = self.render_input(example.input)
        if passages:
            context = "\n".join(f"[{i}] {format_passage(p)}" for i, p in enumerate(passages, 1))
            user = f"Context:\n{context}\n\n{user}"
        msgs.append({"role": "user", "content": user})
        return msgs

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps([self.name, self.instruction, self.input_template]).encode())
        for name in sorted(self.splits):
            for ex in self.splits[name]:
                h.update(json.dumps([name, ex.id, ex.input, ex.reference], sort_keys=True).encode())
        for doc in self.corpus or []:
            h.update(json.dumps([doc.id, doc.text]).encode())
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "metrics": self.metrics,
            "sizes": {k: len(v) for k, v in self.splits.items()},
            "corpus_documents": len(self.corpus) if self.corpus is not None else None,
            "fingerprint": self.fingerprint(),
        }


def format_passage(doc: Document) -> str:
    return f"{doc.title}: {doc.text}" if doc.title else doc.text


# ---------------------------------------------------------------------------------------------------- reading files


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise HarnessError(f"File not found: {path}.", hint="Check the path (relative paths start at the task folder).") from exc
    except OSError as exc:
        raise HarnessError(f"Cannot read {path}: {exc.strerror}.") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HarnessError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}).",
            hint="Re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 IN > OUT`.",
        ) from exc


def read_records(path: Path, fmt: str = "auto") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) from a JSONL or CSV file, or `label sentence` lines (fmt="label-text", as SST-2
    is published); a malformed line is an error naming file and line."""
    path = Path(path)
    text = _read_text(path)
    if fmt == "label-text":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            label, _, sentence = line.strip().partition(" ")
            if not sentence.strip():
                raise HarnessError(f"{path}:{number}: expected `label sentence`, found {line.strip()[:60]!r}.",
                                   hint="Each line starts with the label, then a space, then the text.")
            yield number, {"input": sentence.strip(), "reference": label}
        return
    if path.suffix.lower() in {".csv", ".tsv"}:
        reader = csv.DictReader(text.splitlines(), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        for row in reader:
            yield reader.line_num, dict(row)
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HarnessError(
                f"{path}:{number}: malformed JSON ({exc.msg} at column {exc.colno}).",
                hint="Each line of a .jsonl file must be one complete JSON object; fix or remove that line.",
            ) from exc
        if not isinstance(record, dict):
            raise HarnessError(f"{path}:{number}: expected a JSON object, found {type(record).__name__}.")
        yield number, record


def _field(record: dict[str, Any], name: str, path: Path, line: int) -> Any:
    if name not in record or record[name] is None or record[name] == "":
        raise HarnessError(
            f"{path}:{line}: missing field '{name}' (fields present: {', '.join(record) or 'none'}).",
            hint=f"Add '{name}' to every record, or point the loader at the right field (--input-field / --reference-field).",
        )
    return record[name]


def read_examples(
    path: Path,
    *,
    input_field: str = "input",
    reference_fields: list[str] = ("reference",),
    id_field: str = "id",
    labels: dict[str, str] | None = None,
    fmt: str = "auto",
) -> list[Example]:
    """Examples from JSONL or CSV. With several reference fields, every one present becomes a reference."""
    path = Path(path)
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for line, rec in read_records(path, fmt):
        refs = [rec[f] for f in reference_fields if rec.get(f) not in (None, "")]
        if not refs:
            _field(rec, reference_fields[0], path, line)  # raises with the standard message
        flat: list[str] = []
        for ref in refs:
            flat.extend(str(r) for r in ref) if isinstance(ref, list) else flat.append(str(ref))
        reference: str | list[str] = flat[0] if len(flat) == 1 and not isinstance(refs[0], list) else flat
        if labels is not None:
            if not isinstance(reference, str) or reference not in labels:
                raise HarnessError(
                    f"{path}:{line}: label {reference!r} is not in the task's label set ({', '.join(labels)}).",
                    hint="Fix the label, or add it to `labels` in task.yaml.",
                )
        ex_id = str(rec.get(id_field) if rec.get(id_field) not in (None, "") else f"{path.name}-{line}")
        if ex_id in seen:
            raise HarnessError(
                f"{path}:{line}: duplicate example id '{ex_id}' (first seen on line {seen[ex_id]}).",
                hint="Example ids must be unique within a task; fix the id or drop the id field to number lines.",
            )
        seen[ex_id] = line
        text = _field(rec, input_field, path, line)
        meta = dict(rec.get("meta") or {})
        meta.update({f: str(rec[f]) for f in PAIR_FIELDS if rec.get(f) not in (None, "")})  # dpo's pairs
        examples.append(Example(ex_id, str(text), reference, meta))
    if not examples:
        raise HarnessError(f"{path}: no examples (the file is empty).", hint="Point at a file with at least one record.")
    return examples


def read_corpus(path: Path) -> list[Document]:
    """Documents from JSONL (`id`, `text`, optional `title`), or every .txt/.md file of a folder."""
    path = Path(path)
    docs: list[Document] = []
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.suffix in {".txt", ".md"}):
            docs.append(Document(str(f.relative_to(path)), _read_text(f)))
    else:
        seen: set[str] = set()
        for line, rec in read_records(path):
            doc_id = str(_field(rec, "id", path, line))
            if doc_id in seen:
                raise HarnessError(f"{path}:{line}: duplicate document id '{doc_id}'.", hint="Document ids must be unique.")
            seen.add(doc_id)
            docs.append(Document(doc_id, str(_field(rec, "text", path, line)), str(rec.get("title") or "")))
    if not docs or not any(d.text.strip() for d in docs):
        raise HarnessError(f"Corpus {path} is empty.", hint="A corpus needs at least one document with text.")
    return docs


# ---------------------------------------------------------------------------------------------------- building tasks


def builtin_tasks() -> dict[str, Path]:
    return {p.parent.name: p for p in sorted(BENCHMARKS.glob("*/task.yaml"))}


def load_task(name_or_path: str | None, data=None, *, limit: int | None = None, seed: int = 0,
              test_ids: list[str] | None = None) -> Task:
    """A registry name, a task.yaml (or its folder), a SQuAD-format .json, or a DataConfig of plain files;
    `test_ids` pins the test split to those examples (before the limit), so a regression check scores exactly a
    baseline's examples."""
    if data is not None and data.files:
        task = task_from_files(data, seed=seed)
    else:
        name_or_path = name_or_path or "summarization"
        path = Path(name_or_path)
        if path.is_dir():
            path = path / "task.yaml"
        if path.suffix in {".yaml", ".yml"} and path.exists():
            task = task_from_yaml(path)
        elif path.suffix.lower() == ".json" and path.is_file():
            from harness.squad import task_from_squad  # SQuAD-format JSON: paragraphs -> corpus, questions -> examples

            task = task_from_squad(path, seed=seed)
        else:
            known = builtin_tasks()
            if name_or_path not in known:
                raise unknown_name("task", name_or_path, list(known))
            task = task_from_yaml(known[name_or_path])
    if test_ids is not None:
        task = keep_test_ids(task, test_ids)
    check_metrics(task)
    return apply_limit(task, limit, seed) if limit else task


def keep_test_ids(task: Task, ids: list[str]) -> Task:
    wanted = set(ids)
    kept = [ex for ex in task.split("test") if ex.id in wanted]
    if not kept:
        raise HarnessError(
            f"None of the {len(wanted)} pinned test example ids are in task '{task.name}' (its test split has "
            f"{len(task.split('test'))} examples, e.g. '{task.split('test')[0].id}').",
            hint="The data no longer shares example ids with the baseline: compare on shared ids, or save a new baseline.",
        )
    task.splits = {**task.splits, "test": kept}
    return task


def check_metrics(task: Task) -> None:
    """Every metric the task names must exist, found at load time rather than after the first batch."""
    from harness import metrics  # noqa: F401 - importing registers the built-in metrics
    from harness.registry import metrics as registry

    for name in task.metrics:
        try:
            registry.get(name)
        except HarnessError as exc:
            raise HarnessError(f"{task.source or task.name}: field 'metrics': {exc.message}",
                               hint=exc.hint + " Fix the name in `metrics:` (or --data's metrics).") from exc


def task_from_yaml(path: Path) -> Task:
    from harness.config import read_yaml

    spec = read_yaml(path)
    allowed = {"name", "kind", "description", "instruction", "input_template", "splits", "metrics", "generation",
               "corpus", "corpus_holds_answers", "labels", "input_field", "reference_field", "id_field", "extra"}
    unknown = set(spec) - allowed
    if unknown:
        raise HarnessError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}.", hint=f"Allowed keys: {', '.join(sorted(allowed))}.")
    for key in ("name", "instruction", "splits"):
        if key not in spec:
            raise HarnessError(f"{path}: missing key '{key}'.", hint="See benchmarks/summarization/task.yaml for a complete example.")
    kind = spec.get("kind", "generation")
    if kind not in KINDS:
        raise HarnessError(f"{path}: kind '{kind}' is not one of {', '.join(KINDS)}.")
    labels = spec.get("labels")
    if isinstance(labels, list):
        labels = {label: label for label in labels}
    folder = path.parent
    ref_field = spec.get("reference_field", "reference")
    splits = {
        split: read_examples(
            folder / file,
            input_field=spec.get("input_field", "input"),
            reference_fields=[ref_field] if isinstance(ref_field, str) else list(ref_field),
            id_field=spec.get("id_field", "id"),
            labels=labels,
        )
        for split, file in spec["splits"].items()
    }
    _check_ids_across_splits(splits, path)
    return Task(
        name=spec["name"],
        kind=kind,
        instruction=spec["instruction"].strip(),
        splits=splits,
        metrics=list(spec.get("metrics") or DEFAULT_METRICS[kind]),
        max_new_tokens=int((spec.get("generation") or {}).get("max_new_tokens", 64)),
        input_template=spec.get("input_template", "{input}"),
        description=spec.get("description", ""),
        corpus=read_corpus(folder / spec["corpus"]) if spec.get("corpus") else None,
        corpus_holds_answers=bool(spec.get("corpus_holds_answers", False)),
        labels=labels,
        source=str(path),
        extra=dict(spec.get("extra") or {}),
    )


def task_from_files(data, *, seed: int = 0) -> Task:
    """`--data FILE` (split with the seed) or `--data split=FILE ...` (one file per split)."""
    read = lambda p: read_examples(  # noqa: E731
        p, input_field=data.input_field, reference_fields=data.reference_fields, id_field=data.id_field,
        labels=data.labels, fmt=data.format,
    )
    files = dict(data.files)
    if set(files) == {"all"}:
        examples = read(files["all"])
        rng = random.Random(seed)
        order = list(range(len(examples)))
        rng.shuffle(order)
        splits, start = {}, 0
        for i, (split, frac) in enumerate(data.split_fractions.items()):
            end = len(order) if i == len(data.split_fractions) - 1 else start + round(frac * len(order))
            splits[split] = [examples[j] for j in sorted(order[start:end])]
            start = end
    else:
        splits = {split: read(path) for split, path in files.items()}
    for split, examples in splits.items():
        if not examples:
            raise HarnessError(f"Split '{split}' is empty after splitting {files}.", hint="Use a larger file or other --split fractions.")
    _check_ids_across_splits(splits, "--data")
    first = next(iter(files.values()))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(first).stem) or "data"
    kind = "classification" if data.labels else "generation"
    default_instruction = (
        f"Classify the text. Answer with one word: {', '.join(data.labels.values())}." if data.labels
        else "Summarize the following text in one or two sentences."
    )
    return Task(
        name=name,
        kind=kind,
        instruction=data.instruction or default_instruction,
        splits=splits,
        metrics=data.metrics or DEFAULT_METRICS[kind],
        max_new_tokens=data.max_new_tokens or (4 if data.labels else 64),
        labels=data.labels,
        source=", ".join(f"{k}={v}" for k, v in files.items()),
    )


def _check_ids_across_splits(splits: dict[str, list[Example]], source: Any) -> None:
    owner: dict[str, str] = {}
    for split, examples in splits.items():
        for ex in examples:
            if ex.id in owner:
                raise HarnessError(
                    f"{source}: example id '{ex.id}' appears in both '{owner[ex.id]}' and '{split}'.",
                    hint="Example ids must be unique across splits.",
                )
            owner[ex.id] = split


def apply_limit(task: Task, limit: int, seed: int) -> Task:
    """At most `limit` examples per split: a seeded sample, kept in file order."""
    def take(examples: list[Example]) -> list[Example]:
        if len(examples) <= limit:
            return examples
        keep = sorted(random.Random(seed).sample(range(len(examples)), limit))
        return [examples[i] for i in keep]

    task.splits = {name: take(examples) for name, examples in task.splits.items()}
    return task

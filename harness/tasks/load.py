"""Tasks: what a strategy is measured on. A task is data: a folder with task.yaml, a YAML spec, or plain files.

Every loader reports bad input by file and line, and says what to do about it.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from harness.tasks.datasource import HF_PREFIX, SINGLE, is_dataset_folder, load_rows, load_splits, parse_source, read_text
from harness.errors import HarnessError, unknown_name
from harness.tasks.task import DEFAULT_METRICS, PAIR_FIELDS, Task
from harness.types import Document, Example

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
def read_records(source: str | Path, fmt: str = "auto") -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) from any data source (see harness.tasks.datasource), or from `label sentence` lines
    (fmt="label-text", as SST-2 is published); `where` is FILE:LINE for text files, `SOURCE row I` otherwise."""
    if fmt == "label-text":
        yield from _label_text_records(Path(source))
        return
    yield from load_rows(source)


def _label_text_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        label, _, sentence = line.strip().partition(" ")
        if not sentence.strip():
            raise HarnessError(f"{path}:{number}: expected `label sentence`, found {line.strip()[:60]!r}.",
                               hint="Each line starts with the label, then a space, then the text.")
        yield f"{path}:{number}", {"input": sentence.strip(), "reference": label}


def _field(record: dict[str, Any], name: str, where: str) -> Any:
    if name not in record or record[name] is None or record[name] == "":
        present = ", ".join(str(k) for k, v in record.items() if v not in (None, "")) or "none"
        raise HarnessError(
            f"{where}: missing field '{name}' (fields present: {present}).",
            hint=f"Add '{name}' to every record, or point the loader at the right field (--input-field / --reference-field).",
        )
    return record[name]


def _text(value: Any, name: str, where: str) -> str:
    """A value that reads as text: a string or a number. A dict, list, boolean or null would reach the model (or
    the scorer) as a Python repr."""
    if isinstance(value, str) and "\0" in value:  # zeroed bytes in a parquet or arrow file read as NUL characters
        raise HarnessError(f"{where}: field '{name}' holds a NUL character (at offset {value.index(chr(0))}), "
                           f"{value.count(chr(0))} in all: zeroed or binary bytes, not text.",
                           hint="Restore the file from a good copy, or drop that row.")
    if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return str(value)
    raise HarnessError(f"{where}: field '{name}' is {_kind(value)} ({str(value)[:60]}), not text.",
                       hint=f"Make '{name}' a string (several references: a list of strings), or map another "
                       "field with --input-field / --reference-field.")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def _references(rec: dict[str, Any], fields: list[str], where: str) -> str | list[str]:
    """One reference (a string), or several (a list): from a list field, or from several reference fields."""
    present = [f for f in fields if rec.get(f) not in (None, "")]
    if not present:
        _field(rec, fields[0], where)  # raises with the standard message
    flat: list[str] = []
    for name in present:
        value = rec[name]
        if isinstance(value, list):
            if not value:
                raise HarnessError(f"{where}: field '{name}' is an empty list.",
                                   hint="Give at least one reference, or leave the example out.")
            for i, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    raise HarnessError(f"{where}: field '{name}' item {i} is {_kind(item) if not isinstance(item, str) else 'empty'}"
                                       f" ({str(item)[:60]!r}); several references are a list of non-empty strings.",
                                       hint=f"Fix '{name}' on that line.")
            flat.extend(value)
        else:
            flat.append(_text(value, name, where))
    return flat[0] if len(flat) == 1 and not isinstance(rec[present[0]], list) else flat


def read_examples(
    path: str | Path,
    *,
    input_field: str = "input",
    reference_fields: list[str] = ("reference",),
    id_field: str = "id",
    labels: dict[str, str] | None = None,
    fmt: str = "auto",
    prefer: str | None = None,
    rows: Iterable[tuple[str, dict[str, Any]]] | None = None,
) -> list[Example]:
    """Examples from any data source (harness.tasks.datasource), or from `rows` already read from it. With several
    reference fields, every one present becomes a reference; `prefer` picks that split of a source that has several."""
    records = rows if rows is not None else read_records(path, fmt) if fmt == "label-text" else load_rows(path, prefer=prefer)
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for where, rec in records:
        reference = _references(rec, list(reference_fields), where)
        if labels is not None:
            if not isinstance(reference, str) or reference not in labels:
                raise HarnessError(
                    f"{where}: label {reference!r} is not in the task's label set ({', '.join(labels)}).",
                    hint="Fix the label, or add it to `labels` in task.yaml.",
                )
        raw_id = rec.get(id_field)
        ex_id = _text(raw_id, id_field, where) if raw_id not in (None, "") else _default_id(path, where)
        if ex_id in seen:
            raise HarnessError(
                f"{where}: duplicate example id '{ex_id}' (first seen at {seen[ex_id]}).",
                hint="Example ids must be unique within a task; fix the id or drop the id field to number lines.",
            )
        seen[ex_id] = where
        text = _text(_field(rec, input_field, where), input_field, where)
        meta = dict(rec.get("meta")) if isinstance(rec.get("meta"), dict) else {}
        meta.update({f: _text(rec[f], f, where) for f in PAIR_FIELDS if rec.get(f) not in (None, "")})  # dpo's pairs
        if "turns" in meta:
            meta["turns"] = _turns(meta["turns"], where)
        examples.append(Example(ex_id, text, reference, meta))
    if not examples:
        raise HarnessError(f"{path}: no examples (the file is empty).", hint="Point at a file with at least one record.")
    return examples


def _turns(value: Any, where: str) -> list[dict[str, str]]:
    """A multi-turn example's earlier turns (meta "turns"), checked here: a bad one would reach the chat template."""
    if not isinstance(value, list):
        raise HarnessError(f"{where}: meta 'turns' is {_kind(value)}, not a list.",
                           hint='Give the earlier turns as [{"role": "user", "content": "..."}, ...].')
    for i, turn in enumerate(value):
        if not (isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
                and isinstance(turn.get("content"), str) and turn["content"].strip()):
            raise HarnessError(f"{where}: meta 'turns' item {i} ({str(turn)[:60]}) is not a turn.",
                               hint='Each turn is {"role": "user" or "assistant", "content": "non-empty text"}.')
    return value


def _default_id(path: str | Path, where: str) -> str:
    """`FILE-LINE` for a text file, `SOURCE-I` for a table: the record's place, stable while the data is."""
    number = where.rsplit(":", 1)[-1] if " row " not in where else where.rsplit(" row ", 1)[-1]
    return f"{Path(str(path)).name}-{number}"


def read_corpus(path: Path) -> list[Document]:
    """Documents from any data source (`id`, `text`, optional `title`), or every .txt/.md file of a folder."""
    path = Path(path)
    docs: list[Document] = []
    if path.is_dir() and not is_dataset_folder(path):
        for f in sorted(p for p in path.rglob("*") if p.suffix in {".txt", ".md"}):
            docs.append(Document(str(f.relative_to(path)), read_text(f)))
    else:
        seen: set[str] = set()
        for where, rec in load_rows(path):
            doc_id = _text(_field(rec, "id", where), "id", where)
            if doc_id in seen:
                raise HarnessError(f"{where}: duplicate document id '{doc_id}'.", hint="Document ids must be unique.")
            seen.add(doc_id)
            title = _text(rec["title"], "title", where) if rec.get("title") not in (None, "") else ""
            docs.append(Document(doc_id, _text(_field(rec, "text", where), "text", where), title))
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
            from harness.tasks.squad import task_from_squad  # SQuAD-format JSON: paragraphs -> corpus, questions -> examples

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
    from harness.registry import metrics as registry

    for name in task.metrics:
        try:
            registry.get(name)
        except HarnessError as exc:
            raise HarnessError(f"{task.source or task.name}: field 'metrics': {exc.message}",
                               hint=exc.hint + " Fix the name in `metrics:` (or --data's metrics).") from exc


def task_from_yaml(path: Path) -> Task:
    from harness.tasks.spec import read_task_spec

    spec = read_task_spec(path)
    folder = path.parent
    ref_field = spec.reference_field
    splits = {
        split: read_examples(
            file if file.startswith(HF_PREFIX) else folder / file,
            input_field=spec.input_field,
            reference_fields=[ref_field] if isinstance(ref_field, str) else list(ref_field),
            id_field=spec.id_field,
            labels=spec.labels,
            prefer=split,
        )
        for split, file in spec.splits.items()
    }
    _check_ids_across_splits(splits, path)
    return Task(
        name=spec.name,
        kind=spec.kind,
        instruction=spec.instruction.strip(),
        splits=splits,
        metrics=list(spec.metrics or DEFAULT_METRICS[spec.kind]),
        max_new_tokens=spec.generation.max_new_tokens,
        input_template=spec.input_template,
        description=spec.description,
        corpus=read_corpus(folder / spec.corpus) if spec.corpus else None,
        corpus_holds_answers=spec.corpus_holds_answers,
        labels=spec.labels,
        source=str(path),
        extra=dict(spec.extra),
    )


def task_from_files(data, *, seed: int = 0) -> Task:
    """`--data SOURCE` (its own splits, or one table split with the seed) or `--data split=SOURCE ...` (one
    source per split); a source is anything harness.tasks.datasource reads."""
    read = lambda source, prefer=None, rows=None: read_examples(  # noqa: E731
        source, input_field=data.input_field, reference_fields=data.reference_fields, id_field=data.id_field,
        labels=data.labels, fmt=data.format, prefer=prefer, rows=rows,
    )
    files = dict(data.files)
    if set(files) == {"all"}:
        own = load_splits(files["all"]) if data.format != "label-text" else {SINGLE: None}
        if len(own) > 1:  # a hub dataset or save_to_disk folder with its own splits
            splits = {split: read(rows.source, rows=rows) for split, rows in own.items()}
        else:
            splits = _seeded_split(read(files["all"], rows=next(iter(own.values()))), data.split_fractions, seed)
    else:
        splits = {split: read(path, prefer=split) for split, path in files.items()}
    for split, examples in splits.items():
        if not examples:
            raise HarnessError(f"Split '{split}' is empty after splitting {files}.", hint="Use a larger file or other --split fractions.")
    _check_ids_across_splits(splits, "--data")
    first = parse_source(next(iter(files.values())))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", first.name) or "data"
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


def _seeded_split(examples: list[Example], fractions: dict[str, float], seed: int) -> dict[str, list[Example]]:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    splits, start = {}, 0
    for i, (split, frac) in enumerate(fractions.items()):
        end = len(order) if i == len(fractions) - 1 else start + round(frac * len(order))
        splits[split] = [examples[j] for j in sorted(order[start:end])]
        start = end
    return splits


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

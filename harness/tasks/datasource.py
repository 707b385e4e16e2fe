"""Rows of records from any source the `datasets` library reads: local JSON lines, CSV/TSV, parquet and arrow files,
`save_to_disk` folders, and `hf:OWNER/NAME[:CONFIG][@SPLIT]` from the dataset hub (or its local cache offline).

`datasets` does the reading. Text files first get a thin pre-pass that `datasets` does not do: UTF-8, one JSON
object per line, every CSV row with the header's number of fields. Its findings name FILE:LINE, and every row keeps the
line it starts on, so later errors (a missing field, a value that is not text) name the line too. Lines end at
"\\n" only: a raw U+2028 or U+0085 inside a JSON string, or a quoted newline inside a CSV field, is data.

Local files are read into memory through a temporary `datasets` cache that is removed when the process ends, so
loading leaves nothing behind and sends nothing over the network; hub datasets use the usual HF datasets cache (`HF_DATASETS_CACHE`).
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError

HF_PREFIX = "hf:"
CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}
TABLE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow"}
SPLIT_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "val": "validation",
               "dev": "validation", "test": "test"}
SINGLE = ""  # the split name of a source that is one table
FORMATS_HINT = ("Give a .jsonl, .json, .csv, .tsv, .parquet or .arrow file, a folder written by `save_to_disk`, "
                "or hf:OWNER/NAME[:CONFIG][@SPLIT].")


@dataclass
class Rows:
    """Records of one split, with where each came from: FILE:LINE for text files, `SOURCE row I` otherwise."""

    source: str
    records: list[dict[str, Any]]
    lines: list[int] | None = None
    columns: list[str] = field(default_factory=list)

    def where(self, i: int) -> str:
        return f"{self.source}:{self.lines[i]}" if self.lines is not None else f"{self.source} row {i}"

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return ((self.where(i), rec) for i, rec in enumerate(self.records))

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class Source:
    text: str  # as the user wrote it
    path: Path | None = None  # a local file or folder
    repo: str | None = None  # a hub id
    config: str | None = None
    split: str | None = None  # @SPLIT: one split of a source that has several

    @property
    def name(self) -> str:
        """A short name for tasks and probe sets: the file's stem, or the hub dataset's name and config."""
        if self.repo:
            return "-".join(p for p in (self.repo.split("/")[-1], self.config) if p)
        return self.path.stem if self.path.is_file() else self.path.name


def parse_source(text: str | Path) -> Source:
    """`hf:OWNER/NAME[:CONFIG][@SPLIT]`, or a local path, optionally `PATH@SPLIT` for a folder holding splits."""
    text = str(text)
    if text.startswith(HF_PREFIX):
        spec, _, split = text[len(HF_PREFIX):].partition("@")
        repo, _, config = spec.partition(":")
        if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", repo):
            raise HarnessError(f"'{text}' is not a hub dataset id.",
                               hint="Write hf:OWNER/NAME, hf:OWNER/NAME:CONFIG or hf:OWNER/NAME:CONFIG@SPLIT.")
        return Source(text, repo=repo, config=config or None, split=split or None)
    path = Path(text).expanduser()
    if not path.exists() and "@" in text:
        base, _, split = text.rpartition("@")
        if Path(base).expanduser().is_dir():
            return Source(text, path=Path(base).expanduser(), split=split)
    return Source(text, path=path)


def is_dataset_folder(path: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return path.is_dir() and any((path / f).exists() for f in ("dataset_dict.json", "state.json", "dataset_info.json"))


def load_splits(source: str | Path) -> dict[str, Rows]:
    """Every split of a source, by name (`SINGLE` for a source that is one table). Hub and `save_to_disk` split
    names train/validation/test are kept; valid, val and dev become validation."""
    src = parse_source(source)
    if src.repo:
        data = _load_hub(src)
    elif src.path.is_dir():
        data = _load_folder(src)
    else:
        return {SINGLE: read_file(src.path, display=src.text)}
    if hasattr(data, "keys"):  # a DatasetDict
        if src.split:
            if src.split not in data:
                raise HarnessError(f"{src.text}: no split '{src.split}' (it has: {', '.join(data)}).",
                                   hint="Name one of its splits after @.")
            return {SINGLE: _rows(data[src.split], src.text)}
        return {SPLIT_NAMES.get(name, name): _rows(ds, f"{src.text}@{name}") for name, ds in data.items()}
    return {SINGLE: _rows(data, src.text)}


def load_rows(source: str | Path, prefer: str | None = None) -> Rows:
    """One split of a source: the only one, its @SPLIT, or the split named `prefer` (`--data test=hf:x` takes x's
    test split)."""
    splits = load_splits(source)
    if len(splits) == 1:
        return next(iter(splits.values()))
    if prefer in splits:
        return splits[prefer]
    raise HarnessError(f"{source} has several splits ({', '.join(splits)}); which one?",
                       hint=f"Write {source}@SPLIT, e.g. {source}@{next(iter(splits))}.")


# ---------------------------------------------------------------------------------------------------- local files


def read_text(path: Path) -> str:
    """A file's text; a missing file or bytes that are not UTF-8 are errors naming the file (and line)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise HarnessError(f"File not found: {path}.", hint="Check the path (relative paths start at the task folder).") from exc
    except IsADirectoryError as exc:
        raise HarnessError(f"{path} is a folder, not a data file or a `save_to_disk` folder.", hint=FORMATS_HINT) from exc
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


def read_file(path: Path, *, display: str | None = None, csv_header: list[str] | None = None) -> Rows:
    """Rows of a local file, by suffix; `csv_header` names the columns of a CSV that has no header row."""
    path, display = Path(path), display or str(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_BUILDERS:
        if not path.is_file():
            read_text(path)  # the standard "not found" error
        return _rows(_load_local(TABLE_BUILDERS[suffix], path), display)
    if suffix in CSV_DELIMITERS:
        header, lines = _csv_prepass(path, read_text(path), CSV_DELIMITERS[suffix], csv_header)
        kwargs = dict(sep=CSV_DELIMITERS[suffix], header=None if csv_header else "infer", column_names=csv_header,
                      keep_default_na=False, na_filter=False, encoding="utf-8-sig", index_col=False)
        return _read_checked(path, display, lines, "csv", _string_features(header), **kwargs)
    text = read_text(path)  # .jsonl, .json, or any other suffix: JSON lines, as before `datasets`
    if suffix == ".json" and text.lstrip().startswith("["):
        return _json_array(path, display, text)
    return _read_checked(path, display, _json_prepass(path, text), "json", None)


def _read_checked(path: Path, display: str, lines: list[int], builder: str, features: Any, **kwargs: Any) -> Rows:
    if not lines:
        return Rows(display, [], [])
    rows = _rows(_load_local(builder, path, features=features, **kwargs), display)
    if len(rows) != len(lines):  # the pre-pass and datasets disagree on what a row is: never guess
        raise HarnessError(f"{display}: read {len(rows)} rows, but the file has {len(lines)} records.",
                           hint="Check the file's quoting and line endings (a stray \\r inside a field?).")
    rows.lines = lines
    return rows


def _json_prepass(path: Path, text: str) -> list[int]:
    """The line each JSON object starts on; a line that is not one JSON object is an error naming it."""
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
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
            raise HarnessError(f"{path}:{number}: expected a JSON object, found {_json_kind(record)}.",
                               hint="Each line of a .jsonl file must be one JSON object {...}.")
        lines.append(number)
    return lines


def _json_array(path: Path, display: str, text: str) -> Rows:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno}).",
                           hint="A .json data file is one JSON array of objects (or use JSON lines).") from exc
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise HarnessError(f"{path}: item {bad} of the array is {_json_kind(records[bad])}, not an object.",
                           hint="A .json data file is one JSON array of objects.")
    if not records:
        return Rows(display, [])
    return _rows(_load_local("json", path), display)


def _csv_prepass(path: Path, text: str, delimiter: str, header: list[str] | None) -> tuple[list[str], list[int]]:
    """The header and the line each record starts on; a row with another number of fields than the header (an
    unquoted delimiter shifts every column after it) is an error naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines, next_line = [], 1
    try:
        for row in reader:
            start, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = row
                continue
            if len(row) != len(header):
                sep = "tab" if delimiter == "\t" else "comma"
                raise HarnessError(
                    f"{path}:{start}: expected {len(header)} columns ({', '.join(header)}), found {len(row)}.",
                    hint=f"A field holding a {sep} must be quoted (\"a{delimiter}b\"); every row needs every column "
                    "(an empty field is two delimiters side by side).")
            lines.append(start)
    except csv.Error as exc:
        raise HarnessError(f"{path}:{reader.line_num}: bad CSV ({exc}).", hint="Check the quoting on that line.") from exc
    return header or [], lines


def _string_features(columns: list[str]) -> Any:
    """Every CSV column as text: no '007' -> 7, no 'NA' -> null."""
    import datasets

    return datasets.Features({c: datasets.Value("string") for c in dict.fromkeys(columns)})


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


# ---------------------------------------------------------------------------------------------------- datasets


def _datasets():
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    # Otherwise every load of a local file through the json/csv builders sends a download-count request to the
    # hub (up to 3 s each without a network): reading the user's files must not touch the network.
    datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False
    return datasets


@lru_cache(maxsize=1)
def _scratch() -> str:
    """One temporary folder per process for the arrow files `datasets` writes while reading local files (the data
    itself is kept in memory); removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="harness-datasets-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _load_local(builder: str, path: Path, **kwargs: Any) -> Any:
    """One local file through a `datasets` builder, into memory."""
    datasets = _datasets()
    try:
        return datasets.load_dataset(builder, data_files={"rows": str(path)}, split="rows", cache_dir=_scratch(),
                                     keep_in_memory=True, **kwargs)
    except Exception as exc:  # noqa: BLE001 - pyarrow/pandas raise many types; the user needs the file named
        cause = exc.__cause__ or exc
        raise HarnessError(f"{path}: cannot read it as {builder} ({type(cause).__name__}: {cause}).",
                           hint=FORMATS_HINT) from exc


def _load_folder(src: Source) -> Any:
    if not is_dataset_folder(src.path):
        raise HarnessError(f"{src.path} is a folder, but not one written by `save_to_disk`.", hint=FORMATS_HINT)
    try:
        return _datasets().load_from_disk(str(src.path), keep_in_memory=True)
    except Exception as exc:  # noqa: BLE001
        raise HarnessError(f"{src.path}: cannot load the saved dataset ({exc}).", hint=FORMATS_HINT) from exc


def _load_hub(src: Source) -> Any:
    """A hub dataset; offline, only what the local HF datasets cache holds, with the error the models give."""
    from harness.hub import hub_reachable

    offline = not hub_reachable()
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    datasets = _datasets()
    if offline:
        datasets.config.HF_HUB_OFFLINE = True
    try:
        return datasets.load_dataset(src.repo, src.config, split=src.split)
    except (FileNotFoundError, ConnectionError) as exc:
        if offline:
            raise HarnessError(
                f"Dataset '{src.repo}' is not a local path, the dataset hub is unreachable and it is not in the HF "
                "datasets cache.",
                hint="Pass --data with a local file or `save_to_disk` folder, or run once with network access so "
                "the dataset is cached (HF_DATASETS_CACHE).",
            ) from exc
        raise HarnessError(f"Cannot load dataset '{src.repo}': {exc}.", hint="Check the dataset id.") from exc
    except ValueError as exc:  # an unknown config or split
        raise HarnessError(f"{src.text}: {exc}", hint="Check the config after ':' and the split after '@'.") from exc


def _rows(ds: Any, display: str) -> Rows:
    return Rows(display, ds.to_list(), None, list(ds.column_names))

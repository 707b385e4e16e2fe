"""Data loading through `datasets`, and the bad-input cases of issue 14 that live in loading (docs/bad-input.md):
each error names the file and line (or the field) and comes when the task loads, before any model does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from conftest import write_jsonl
from harness.cli.main import main
from harness.config import DataConfig, validate
from harness.errors import HarnessError
from harness.probes.data import load_choice_items
from harness.tasks.load import load_task, read_corpus, read_examples, task_from_files


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["harness", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, "".join((out.out + out.err).split())  # rich wraps long lines, even inside paths


@pytest.fixture
def no_model(monkeypatch):
    """Any model load fails the test: the error must come before one."""
    import harness.backends

    def refuse(*a, **k):
        raise AssertionError("a model was loaded before the bad input was reported")

    monkeypatch.setattr(harness.backends, "load_backend", refuse)


def rows(n: int, **over) -> list[dict]:
    return [{"id": f"e{i}", "input": f"text number {i}", "reference": f"ref {i}", **over} for i in range(n)]


def task_yaml(folder: Path, **spec) -> Path:
    write_jsonl(folder / "train.jsonl", rows(3))
    write_jsonl(folder / "test.jsonl", [{**r, "id": "t" + r["id"]} for r in rows(3)])
    base = {"name": "mytask", "instruction": "Summarize.", "splits": {"train": "train.jsonl", "test": "test.jsonl"}}
    (folder / "task.yaml").write_text(yaml.safe_dump({**base, **spec}))
    return folder / "task.yaml"


def flat(text: str) -> str:
    return "".join(str(text).split())


# --------------------------------------------------------------------------------------------- sources


def _dataset_dict(n: int = 10):
    import datasets

    make = lambda split, k: datasets.Dataset.from_list(  # noqa: E731
        [{"id": f"{split}{i}", "text": f"{split} text {i}", "summary": f"{split} summary {i}"} for i in range(k)])
    return datasets.DatasetDict({"train": make("train", n), "validation": make("dev", 3), "test": make("test", 4)})


def test_save_to_disk_folder_keeps_its_own_splits(tmp_path):
    _dataset_dict().save_to_disk(str(tmp_path / "saved"))
    task = task_from_files(DataConfig(files={"all": tmp_path / "saved"}, input_field="text", reference_fields=["summary"]))
    assert {k: len(v) for k, v in task.splits.items()} == {"train": 10, "validation": 3, "test": 4}
    assert task.split("test")[0].input == "test text 0" and task.split("test")[0].reference == "test summary 0"
    assert task.name == "saved"


def test_save_to_disk_folder_split_by_name_and_by_at(tmp_path):
    _dataset_dict().save_to_disk(str(tmp_path / "saved"))
    data = DataConfig(files={"train": f"{tmp_path / 'saved'}@train", "test": tmp_path / "saved"},
                      input_field="text", reference_fields=["summary"])
    task = task_from_files(data)  # test= takes the folder's test split; train= names it with @
    assert len(task.split("train")) == 10 and len(task.split("test")) == 4
    with pytest.raises(HarnessError, match=r"no split 'dev' \(it has: train, validation, test\)"):
        read_examples(f"{tmp_path / 'saved'}@dev", input_field="text", reference_fields=["summary"])


def test_single_saved_dataset_is_split_with_the_seed(tmp_path):
    _dataset_dict(20)["train"].save_to_disk(str(tmp_path / "one"))
    task = task_from_files(DataConfig(files={"all": tmp_path / "one"}, input_field="text", reference_fields=["summary"]))
    assert {k: len(v) for k, v in task.splits.items()} == {"train": 12, "validation": 2, "test": 6}


def test_parquet_and_arrow_files_load_like_jsonl(tmp_path):
    ds = _dataset_dict()["train"]
    ds.to_parquet(str(tmp_path / "d.parquet"))
    ds.to_json(str(tmp_path / "d.jsonl"))
    ds.save_to_disk(str(tmp_path / "saved"))
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    kw = dict(input_field="text", reference_fields=["summary"])
    jsonl = read_examples(tmp_path / "d.jsonl", **kw)
    assert read_examples(tmp_path / "d.parquet", **kw) == jsonl
    assert [e.input for e in read_examples(arrow, **kw)] == [e.input for e in jsonl]


def test_hub_source_maps_config_and_split(monkeypatch):
    import datasets

    calls = []

    def fake_load(repo, config=None, split=None, **kw):
        calls.append((repo, config, split))
        dd = _dataset_dict()
        return dd[split] if split else dd

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    kw = dict(input_field="text", reference_fields=["summary"])
    task = task_from_files(DataConfig(files={"all": "hf:owner/name:cfg"}, **kw))
    assert calls[-1] == ("owner/name", "cfg", None) and len(task.split("test")) == 4
    assert task.name == "name-cfg"
    examples = read_examples("hf:owner/name@validation", **kw)
    assert calls[-1] == ("owner/name", None, "validation") and len(examples) == 3
    assert read_examples("hf:owner/name", prefer="test", **kw)[0].id == "test0"


def test_hub_dataset_offline_and_not_cached_says_what_to_do(monkeypatch, capsys, tmp_path, no_model):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "empty-cache"))
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "empty-cache")
    code, out = cli(monkeypatch, capsys, "run", "--data", "hf:nobody/no-such-dataset", "--out", str(tmp_path))
    assert code == 2
    assert "Dataset'nobody/no-such-dataset'isnotalocalpath,thedatasethubisunreachable" in out
    assert "save_to_disk" in out


def test_hub_id_that_is_not_an_id_is_rejected():
    with pytest.raises(HarnessError, match="not a hub dataset id"):
        read_examples("hf:a/b/c")


def test_loading_files_writes_no_datasets_cache(tmp_path):
    import datasets

    cache = Path(datasets.config.HF_DATASETS_CACHE)
    before = sorted(cache.rglob("*")) if cache.exists() else []
    read_examples(write_jsonl(tmp_path / "d.jsonl", rows(3)))
    (tmp_path / "d.csv").write_text("input,reference\na,b\n")
    read_examples(tmp_path / "d.csv")
    assert (sorted(cache.rglob("*")) if cache.exists() else []) == before


def test_builtin_tasks_load_as_before():
    """The same examples as the hand-written reader gave (fingerprints measured on main before the change)."""
    assert load_task("summarization").fingerprint() == "01ebae9e750f34c5"
    assert load_task("qa").fingerprint() == "7b4a51d01c93b39a"
    assert load_task("classification").fingerprint() == "f9e984c18e37fdd1"


def test_corpus_from_a_saved_dataset(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"id": "d1", "text": "Paris is in France.", "title": "Paris"}]).save_to_disk(
        str(tmp_path / "corpus"))
    docs = read_corpus(tmp_path / "corpus")
    assert docs[0].id == "d1" and docs[0].title == "Paris"


# ----------------------------------------------------------------------------- issue 14: silently wrong


def test_unknown_placeholder_in_input_template_is_an_error_at_load(tmp_path):
    path = task_yaml(tmp_path, input_template="Text: {text}")
    with pytest.raises(HarnessError) as err:
        load_task(str(path))
    assert "task.yaml" in str(err.value) and "input_template" in str(err.value) and "{text}" in str(err.value)
    path = task_yaml(tmp_path, input_template="No placeholder at all")
    with pytest.raises(HarnessError, match=r"input_template.*has no \{input\}"):
        load_task(str(path))
    assert load_task(str(task_yaml(tmp_path, input_template='JSON {"a": 1}: {input}'))).render_input("x") == 'JSON {"a": 1}: x'


def test_labels_with_a_stray_comma_are_rejected(monkeypatch, capsys, tmp_path, no_model):
    from harness.tasks.spec import parse_labels

    with pytest.raises(HarnessError, match="'awful' has no '='"):
        parse_labels("0=bad, awful,1=good")
    assert parse_labels("0=negative, 1=positive") == {"0": "negative", "1": "positive"}
    assert parse_labels("ham,spam") == {"ham": "ham", "spam": "spam"}
    for bad in ("0=a,0=b", "=x,1=y", ","):
        with pytest.raises(HarnessError):
            parse_labels(bad)
    data = write_jsonl(tmp_path / "d.jsonl", [{"id": str(i), "input": "t", "reference": "0"} for i in range(10)])
    code, out = cli(monkeypatch, capsys, "run", "--data", str(data), "--labels", "0=bad, awful,1=good", "--out", str(tmp_path))
    assert code == 2 and "'awful'hasno'='" in out


def test_two_labels_sharing_a_verbalizer_are_rejected(tmp_path):
    from harness.tasks.spec import parse_labels

    with pytest.raises(HarnessError, match="share the verbalizer 'yes'"):
        parse_labels("a=yes,b=yes")
    with pytest.raises(HarnessError, match=r"task.yaml.*labels.*share the verbalizer 'yes'"):
        load_task(str(task_yaml(tmp_path, kind="classification", labels={"a": "yes", "b": "yes"})))
    with pytest.raises(HarnessError, match=r"data.labels.*share the verbalizer"):
        validate({"data": {"files": {"all": "x.jsonl"}, "labels": {"a": "yes", "b": "yes"}}})


def test_unicode_line_separators_in_jsonl_values_load_and_keep_line_numbers(tmp_path):
    path = tmp_path / "d.jsonl"
    lines = [json.dumps({"id": "a", "input": "one\u2028two\x85three", "reference": "r"}, ensure_ascii=False),
             json.dumps({"id": "b", "input": "x", "reference": "y"}), json.dumps({"id": "c", "input": "x"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"d\.jsonl:3: missing field 'reference'"):
        read_examples(path)
    path.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    assert [e.input for e in read_examples(path)] == ["one\u2028two\x85three", "x"]


def test_quoted_newline_in_a_csv_field_is_kept_and_lines_stay_right(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,input,reference\na,"first line\nsecond line",r\nb,x,y\nc,x,\n', encoding="utf-8")
    with pytest.raises(HarnessError, match=r"d\.csv:5: missing field 'reference'"):
        read_examples(path)
    path.write_text('id,input,reference\na,"first line\nsecond line",r\nb,x,007\n', encoding="utf-8")
    examples = read_examples(path)
    assert examples[0].input == "first line\nsecond line" and examples[1].reference == "007"


def test_csv_row_with_an_unquoted_comma_names_file_and_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,input,reference\na,hello,hi\nb,hello, world,hi\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"d\.csv:3: expected 3 columns \(id, input, reference\), found 4"):
        read_examples(path)


@pytest.mark.parametrize("field,value,says", [
    ("input", {"text": "a"}, "field 'input' is an object"),
    ("input", ["a", "b"], "field 'input' is a list"),
    ("reference", {"text": "a"}, "field 'reference' is an object"),
    ("reference", ["a", None], "field 'reference' item 1 is null"),
    ("reference", ["a", {"b": 1}], "field 'reference' item 1 is an object"),
    ("reference", [1, 2], "field 'reference' item 0 is int"),
    ("reference", True, "field 'reference' is a boolean"),
    ("reference", None, "missing field 'reference'"),
    ("reference", [], "field 'reference' is an empty list"),
])
def test_non_text_inputs_and_references_name_file_line_and_field(tmp_path, field, value, says):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "input": "x", "reference": "y"},
                                              {"id": "b", "input": "x", "reference": "y", field: value}])
    with pytest.raises(HarnessError) as err:
        read_examples(path)
    assert f"d.jsonl:2: {says}" in str(err.value)


def test_a_list_of_strings_stays_several_references(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "input": "x", "reference": ["y", "z"]},
                                              {"id": "b", "input": 42, "reference": "w"}])
    a, b = read_examples(path)
    assert a.references == ["y", "z"] and b.reference == "w" and b.input == "42"


# ----------------------------------------------------------------------------------- issue 14: tracebacks


def test_csv_with_an_extra_column_and_no_reference_column_is_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("input,label\nhello,pos,extra\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"d\.csv:2: expected 2 columns \(input, label\), found 3"):
        read_examples(path)
    path.write_text("input,label\nhello,pos\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"d\.csv:2: missing field 'reference' \(fields present: input, label\)"):
        read_examples(path)


@pytest.mark.parametrize("spec,says", [
    ({"generation": {"max_new_tokens": "sixty"}}, "field 'generation.max_new_tokens'"),
    ({"generation": {"max_new_tokens": 0}}, "field 'generation.max_new_tokens'"),
    ({"kind": "classification", "labels": "a b"}, "field 'labels': Value error, must be a list of labels"),
    ({"kind": "summary"}, "field 'kind'"),
    ({"splits": ["train.jsonl"]}, "field 'splits'"),
])
def test_task_yaml_values_are_validated_before_any_model_loads(monkeypatch, capsys, tmp_path, no_model, spec, says):
    path = task_yaml(tmp_path, **spec)
    with pytest.raises(HarnessError) as err:
        load_task(str(path))
    assert f"{path}: " in str(err.value) and says in str(err.value)
    code, out = cli(monkeypatch, capsys, "run", "--task", str(path), "--out", str(tmp_path / "runs"))
    assert code == 2 and flat(says) in out


# ------------------------------------------------------------------------------------------------ probe sets


def test_forgetting_probe_from_a_saved_dataset_with_question_choices_answer(tmp_path):
    import datasets

    datasets.DatasetDict({"test": datasets.Dataset.from_list([
        {"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1, "subject": "math"},
        {"question": "Capital of France?", "choices": ["Rome", "Paris", "Oslo", "Bern"], "answer": 1, "subject": "geo"},
    ])}).save_to_disk(str(tmp_path / "mmlu"))
    items = load_choice_items(tmp_path / "mmlu")["mmlu"]
    assert items[0].context == "Question: 2+2?\nAnswer:" and items[0].choices == (" 3", " 4", " 5", " 6")
    assert [it.answer for it in items] == [1, 1] and items[1].category == "geo"


def test_forgetting_probe_in_the_hubs_arc_layout_from_parquet(tmp_path):
    import datasets

    datasets.Dataset.from_list([
        {"id": "q1", "question": "Which is wet?", "choices": {"text": ["sand", "water"], "label": ["A", "B"]},
         "answerKey": "B"},
    ]).to_parquet(str(tmp_path / "arc.parquet"))
    item = load_choice_items(tmp_path / "arc.parquet")["arc"][0]
    assert item.answer == 1 and item.choices == (" sand", " water") and item.id == "q1"


def test_probe_jsonl_with_question_instead_of_context(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"question": "2+2?", "choices": ["4", "5"], "answer": 0},
                                              {"question": "1+1?", "choices": ["3", "2"], "answer": "B"}])
    items = load_choice_items(path)["p"]
    assert items[0].context == "Question: 2+2?\nAnswer:" and items[0].choices == (" 4", " 5")
    assert [it.answer for it in items] == [0, 1]
    bad = write_jsonl(tmp_path / "q.jsonl", [{"question": "x?", "choices": ["a", "b"], "answer": "C"}])
    with pytest.raises(HarnessError, match=r"q\.jsonl:1: answer 'C' is not an index"):
        load_choice_items(bad)


def test_forgetting_probe_source_through_the_run_config(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"question": "q?", "choices": ["a", "b"], "answer": 0}]).save_to_disk(str(tmp_path / "p"))
    cfg = validate({"probes": {"forgetting": [str(tmp_path / "p"), "builtin"]}})
    sets = {name for src in cfg.probes.forgetting for name in load_choice_items(src)}
    assert sets == {"p", "forgetting"}

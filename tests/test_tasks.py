import pytest

from harness.config import DataConfig
from harness.errors import HarnessError
from harness.tasks.load import load_task, read_corpus, read_examples, task_from_files
from tests.conftest import SHARED_DATA, write_jsonl


def test_builtin_summarization_has_the_promised_splits():
    task = load_task("summarization")
    sizes = {k: len(v) for k, v in task.splits.items()}
    assert sizes["train"] >= 300 and sizes["validation"] >= 60 and sizes["test"] >= 100 and sizes["ood"] >= 50
    assert task.kind == "generation" and "rougeL" in task.metrics
    words = [len(ex.input.split()) for ex in task.split("test")]
    assert 80 <= min(words) and max(words) <= 300


def test_limit_is_a_seeded_sample_per_split():
    a = load_task("summarization", limit=5, seed=1)
    b = load_task("summarization", limit=5, seed=1)
    c = load_task("summarization", limit=5, seed=2)
    assert all(len(v) == 5 for v in a.splits.values())
    assert [e.id for e in a.split("test")] == [e.id for e in b.split("test")]
    assert [e.id for e in a.split("test")] != [e.id for e in c.split("test")]


def test_messages_share_one_template():
    task = load_task("summarization", limit=3)
    ex, demo = task.split("test")[0], task.split("train")[0]
    zero = task.messages(ex)
    few = task.messages(ex, demos=[demo])
    assert zero[0] == few[0] and zero[-1] == few[-1]  # same instruction and same question
    assert [m["role"] for m in few] == ["system", "user", "assistant", "user"]
    assert few[2]["content"] == demo.reference


def test_unknown_task_suggests_close_names():
    with pytest.raises(HarnessError, match="summarization"):
        load_task("summarisation")


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "input": "x", "reference": "y"}, '{"id": "b", "input": '])
    with pytest.raises(HarnessError, match=r"d\.jsonl:2: malformed JSON"):
        read_examples(path)


def test_missing_field_names_the_field_and_line(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "input": "x", "reference": "y"}, {"id": "b", "input": "x"}])
    with pytest.raises(HarnessError, match=r"d\.jsonl:2: missing field 'reference'"):
        read_examples(path)


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"id": "a", "input": "caf\xe9", "reference": "y"}\n'.encode("latin-1"))
    with pytest.raises(HarnessError, match=r"latin\.jsonl:1: not valid UTF-8"):
        read_examples(path)


def test_duplicate_ids_and_empty_files_are_errors(tmp_path):
    dup = write_jsonl(tmp_path / "dup.jsonl", [{"id": "a", "input": "x", "reference": "y"}] * 2)
    with pytest.raises(HarnessError, match="duplicate example id 'a'"):
        read_examples(dup)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(HarnessError, match="no examples"):
        read_examples(empty)


def test_label_outside_label_set(tmp_path):
    path = write_jsonl(tmp_path / "l.jsonl", [{"id": "a", "input": "x", "reference": "spam"}])
    with pytest.raises(HarnessError, match="not in the task's label set"):
        read_examples(path, labels={"ham": "ham", "eggs": "eggs"})


def test_csv_and_several_reference_fields(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,s1,s2\nhello there,hi,hey\nbye now,bye,\n")
    examples = read_examples(path, input_field="text", reference_fields=["s1", "s2"], id_field="id")
    assert examples[0].references == ["hi", "hey"] and examples[1].references == ["bye"]


def test_one_file_is_split_with_the_seed(tmp_path):
    rows = [{"id": str(i), "input": f"text {i}", "reference": f"ref {i}"} for i in range(50)]
    path = write_jsonl(tmp_path / "all.jsonl", rows)
    task = task_from_files(DataConfig(files={"all": path}), seed=3)
    sizes = {k: len(v) for k, v in task.splits.items()}
    assert sizes == {"train": 30, "validation": 5, "test": 15}
    ids = [e.id for v in task.splits.values() for e in v]
    assert sorted(ids) == sorted(r["id"] for r in rows)


def test_corpus_errors(tmp_path):
    empty = write_jsonl(tmp_path / "c.jsonl", [{"id": "d1", "text": "   "}])
    with pytest.raises(HarnessError, match="empty"):
        read_corpus(empty)


@pytest.mark.skipif(not (SHARED_DATA / "dialogsum").exists(), reason="../shared/data/dialogsum is not here")
def test_dialogsum_scores_against_all_three_references():
    data = DataConfig(
        files={"train": SHARED_DATA / "dialogsum" / "dialogsum.dev.jsonl",
               "test": SHARED_DATA / "dialogsum" / "dialogsum.test.jsonl"},
        input_field="dialogue", reference_fields=["summary", "summary1", "summary2", "summary3"], id_field="fname",
    )
    task = task_from_files(data)
    assert len(task.split("test")) == 500 and len(task.split("train")) == 500
    assert all(len(ex.references) == 3 for ex in task.split("test"))
    assert all(len(ex.references) == 1 for ex in task.split("train"))


def test_asking_a_task_for_a_split_it_lacks_names_the_splits_it_has():
    task = load_task("summarization", limit=2)
    with pytest.raises(HarnessError, match="has no 'dev' split"):
        task.split("dev")

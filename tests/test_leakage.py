"""The leakage guard: test examples found in train or in the RAG corpus, by id and by normalised text."""

import pytest

from harness.tasks import leakage
from harness.errors import HarnessError
from harness.tasks.task import Task
from harness.tasks.load import load_task
from harness.types import Document, Example


def _task(train, test, corpus=None, holds=False):
    return Task("t", "qa", "Answer.", {"train": train, "test": test}, ["exact_match"], corpus=corpus,
                corpus_holds_answers=holds)


TEST = [Example("t1", "Who founded Quorix Ltd?", "Ann"), Example("t2", "When was Bellhaven founded?", "1802")]


def test_clean_task_passes_and_is_recorded():
    rep = leakage.check(_task([Example("a", "What is the capital of Osk?", "Vell")], TEST))
    assert rep["status"] == "clean" and rep["leaked_examples"] == 0 and rep["places"]["train"]["checked"] == 1
    leakage.enforce(rep)  # no error


def test_same_id_in_train_leaks():
    rep = leakage.check(_task([Example("t1", "Something else entirely?", "x")], TEST))
    assert rep["places"]["train"] == {"checked": 1, "by_id": 1, "by_text": 0, "examples": ["t1"]}
    with pytest.raises(HarnessError) as err:
        leakage.enforce(rep)
    assert "1 of 2 test examples" in err.value.message and "allow_leakage" in err.value.hint


def test_same_text_after_normalisation_leaks():
    rep = leakage.check(_task([Example("x9", "  who FOUNDED quorix ltd ", "Ann")], TEST))
    assert rep["places"]["train"]["by_text"] == 1 and rep["status"] == "leaked"


def test_corpus_is_checked_unless_it_is_meant_to_hold_the_answers():
    corpus = [Document("d1", "When was Bellhaven founded?")]
    rep = leakage.check(_task([], TEST, corpus))
    assert rep["places"]["corpus"]["by_text"] == 1 and rep["status"] == "leaked"
    rep = leakage.check(_task([], TEST, corpus, holds=True))
    assert "corpus" not in rep["places"] and rep["skipped"] and rep["status"] == "clean"


def test_allowed_leak_is_recorded_not_raised():
    rep = leakage.check(_task([TEST[0]], TEST), allowed=True)
    assert rep["status"] == "leaked (allowed by config)" and rep["leaked_examples"] == 1
    leakage.enforce(rep)


@pytest.mark.parametrize("name", ["summarization", "classification", "qa", "preference"])
def test_builtin_tasks_are_clean(name):
    assert leakage.check(load_task(name))["status"] == "clean"


def test_runner_refuses_a_leaking_task_and_records_why(tmp_path, tiny_dir):
    import json

    from harness.config import validate
    from harness.runs.runner import run
    from tests.conftest import write_jsonl

    rows = [{"id": f"e{i}", "input": f"report number {i}", "reference": "summary"} for i in range(4)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", [dict(rows[0], id="t0")])  # same text, other id
    data = {"files": {"train": str(tmp_path / "train.jsonl"), "test": str(tmp_path / "test.jsonl")}}
    cfg = validate({"data": data, "model": str(tiny_dir), "strategies": ["prompt"], "out": str(tmp_path / "runs")})
    with pytest.raises(HarnessError):
        run(cfg)
    rec = json.loads(next((tmp_path / "runs").iterdir()).joinpath("run.json").read_text())
    assert rec["leakage"]["status"] == "leaked" and rec["leakage"]["places"]["train"]["examples"] == ["t0"]
    ok = run(validate({**cfg.model_dump(mode="json"), "allow_leakage": True, "max_new_tokens": 2}))
    assert json.loads((ok / "run.json").read_text())["leakage"]["status"] == "leaked (allowed by config)"

"""SQuAD-format JSON as a task: paragraphs become the corpus, questions the examples, split with the seed."""

import json

import pytest

from harness.tasks import leakage
from harness.errors import HarnessError
from harness.tasks.load import load_task
from tests.conftest import SHARED_DATA

# ../shared/data beside the checkout (or two levels up, from a worktree under <root>/wt/<name>)
XQUAD = next((p for p in (SHARED_DATA / "xquad_en" / "xquad.en.json",
                          SHARED_DATA.parent.parent.parent / "shared" / "data" / "xquad_en" / "xquad.en.json")
              if p.exists()), SHARED_DATA / "xquad_en" / "xquad.en.json")


@pytest.mark.skipif(not XQUAD.exists(), reason="shared data (xquad_en) is absent")
def test_xquad_en_loads_as_a_knowledge_qa_task():
    task = load_task(str(XQUAD), seed=0)
    assert task.kind == "qa" and task.corpus_holds_answers and task.metrics == ["exact_match", "token_f1"]
    assert len(task.corpus) == 240 and sum(len(v) for v in task.splits.values()) == 1190
    assert set(task.splits) == {"train", "validation", "test"} and 340 <= len(task.split("test")) <= 375
    docs = {d.id: d for d in task.corpus}
    for ex in task.split("test"):
        (doc_id,) = ex.meta["doc_ids"]
        assert any(ref in docs[doc_id].text for ref in ex.references)  # SQuAD answers are spans of their context
    assert docs["Super_Bowl_50-p0"].title == "Super Bowl 50"
    # seeded: the same seed gives the same split, another seed another one
    again, other = load_task(str(XQUAD), seed=0), load_task(str(XQUAD), seed=1)
    ids = lambda t: [ex.id for ex in t.split("test")]  # noqa: E731
    assert ids(again) == ids(task) and ids(other) != ids(task)
    # xquad asks a few questions twice; the split keeps each such pair together, so nothing leaks
    assert leakage.check(task)["status"] == "clean"


def test_squad_v2_unanswerable_and_bad_files(tmp_path):
    good = {"version": "2.0", "data": [{"title": "Osk", "paragraphs": [{"context": "The Osk flows north.", "qas": [
        {"id": "q1", "question": "Which way does the Osk flow?", "answers": [{"text": "north", "answer_start": 14}]},
        {"id": "q2", "question": "How long is the Osk?", "answers": [], "is_impossible": True}]}]}]}
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(good))
    task = load_task(str(path), seed=0)
    examples = {ex.id: ex for split in task.splits.values() for ex in split}
    assert examples["q1"].references == ["north"] and examples["q1"].meta["doc_ids"] == ["Osk-p0"]
    assert examples["q2"].references == ["unknown"] and examples["q2"].meta["doc_ids"] == []
    path.write_text('{"data": [\n{"title": 1,,}]}')
    with pytest.raises(HarnessError, match="mini.json:2: malformed JSON"):
        load_task(str(path))
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(HarnessError, match="no top-level 'data' list"):
        load_task(str(path))
    del good["data"][0]["paragraphs"][0]["qas"][0]["answers"]
    path.write_text(json.dumps(good))
    with pytest.raises(HarnessError, match=r"qas\[0\] \(id q1\) has no answers"):
        load_task(str(path))

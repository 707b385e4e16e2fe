"""The rag strategy through the real CLI on the tiny model: passages from a corpus, demonstrations from train,
the context budget, the index cache, and the retrieval metrics in run.json and the report.

The embedder here is a hashed bag of words (deterministic, no download), so these tests measure the plumbing;
tests/test_retrieval.py and the e2e test use the real sentence-transformers model.
"""

import json
import re

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from harness.cli.main import app
from tests.conftest import write_jsonl


class BagOfWords:
    tokenizer = None
    max_seq_length = 256

    def encode(self, texts, **_):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, sum(map(ord, w)) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(autouse=True)
def _bag_of_words(monkeypatch):
    monkeypatch.setattr("harness.strategy.context.load_embedder", lambda *a, **k: (BagOfWords(), "bow-test"))


PEOPLE = ["Ann Vell", "Bo Quist", "Cy Ramm", "Di Losk", "Ed Marn", "Flo Treb"]


def write_bakers_task(folder, people: list[str], train: int, meta: dict | None = None):
    """A tiny qa task: one corpus document per fictional baker, and a question per baker naming its gold document
    (meta.doc_ids, plus `meta`); the first `train` questions are the train split, the rest the test split."""
    folder.mkdir()
    write_jsonl(folder / "corpus.jsonl", [
        {"id": f"doc-{i}", "title": name, "text": f"{name} is a baker born in {1900 + i} in a town by the sea."}
        for i, name in enumerate(people)])
    qs = [{"id": f"q{i}", "input": f"In which year was {name} born?", "reference": [str(1900 + i)],
           "meta": {"doc_ids": [f"doc-{i}"], **(meta or {})}} for i, name in enumerate(people)]
    write_jsonl(folder / "train.jsonl", qs[:train])
    write_jsonl(folder / "test.jsonl", qs[train:])
    (folder / "task.yaml").write_text(yaml.safe_dump({
        "name": "tinyqa", "kind": "qa", "instruction": "Answer with a year.", "input_template": "Question: {input}",
        "splits": {"train": "train.jsonl", "test": "test.jsonl"}, "corpus": "corpus.jsonl",
        "corpus_holds_answers": True}))
    return folder / "task.yaml"


@pytest.fixture()
def qa_task(tmp_path):
    return write_bakers_task(tmp_path / "qa", PEOPLE, train=2, meta={"hops": 1})


def _run(tmp_path, tiny_dir, *args):
    out = tmp_path / "runs"
    before = set(out.iterdir()) if out.exists() else set()
    result = CliRunner().invoke(app, ["run", "--model", str(tiny_dir), "--out", str(out), "--max-new-tokens", "2",
                                      "--strategies", "rag", *args])
    assert result.exit_code == 0, result.output
    run_dir = (set(out.iterdir()) - before).pop()
    rows = [json.loads(l) for l in (run_dir / "predictions" / "rag.jsonl").read_text().splitlines()]
    return json.loads((run_dir / "run.json").read_text()), rows, run_dir


def test_rag_puts_passages_in_the_prompt_and_measures_retrieval(tmp_path, tiny_dir, qa_task):
    three = tmp_path / "run.yaml"
    # budget drops counted on the test split only: no overfitting splits, no probes
    three.write_text(yaml.safe_dump({"rag": {"top_k": 3}, "overfit_sample": 0, "probes": {"enabled": False}}))
    rec, rows, run_dir = _run(tmp_path, tiny_dir, "--task", str(qa_task), "--config", str(three))
    res = rec["strategies"]["rag"]
    assert res["status"] == "complete" and len(rows) == 4
    for row in rows:
        i = int(row["example_id"][1:])
        assert row["retrieved"][0] == f"doc-{i}"  # the document naming the person ranks first
        assert len(row["retrieved"]) == len(set(row["retrieved"])) == 6  # distinct documents, ranked to depth
        assert "Context:" in row["prompt"] and f"{PEOPLE[i]} is a baker" in row["prompt"]
        # top_k = 3 passages, after one format demonstration (a train question with its passages and its answer)
        assert row["prompt"].count("<|im_start|>user") == 2 and row["prompt"].count("is a baker") == 6
        demo = rec["strategies"]["rag"]["cost"]["rag"]["format_demos"][0]
        assert f"<|im_start|>assistant\n{1900 + int(demo[1:])}<|im_end|>" in row["prompt"]
    test = res["retrieval"]["test"]
    assert test["recall"]["1"]["value"] == 1.0 and test["mrr"]["value"] == 1.0 and test["examples"] == 4
    assert set(test["recall"]["5"]) == {"metric", "value", "ci_low", "ci_high", "n", "higher_is_better"}
    wrong = test["wrong_answers"]
    assert wrong["retrieval_miss"] == 0 and wrong["generation_error"] == wrong["wrong"]
    cost = res["cost"]
    assert cost["rag"]["index_bytes"] > 0 and cost["rag"]["chunks"] == 6 and not cost["rag"]["index_reused"]
    assert cost["artifact_bytes"] == cost["rag"]["index_bytes"] and cost["setup_seconds"] > 0
    assert rec["leakage"]["status"] == "clean" and rec["leakage"]["skipped"]
    report = (run_dir / "report.md").read_text()
    assert "## Retrieval on the test split" in report and "| rag (all) | 4 | 1.000" in report
    assert "Leakage check: clean" in report
    # a second run reuses the saved index (same corpus, embedder and settings)
    again, _, again_dir = _run(tmp_path, tiny_dir, "--task", str(qa_task), "--config", str(three))
    extra = again["strategies"]["rag"]["cost"]["rag"]
    assert extra["index_reused"] and extra["index_key"] == cost["rag"]["index_key"]
    assert again["strategies"]["rag"]["cost"]["setup_seconds"] == pytest.approx(cost["rag"]["index_seconds"])
    # ... and says that its setup is the first run's build, not time spent in this one
    reused = again["strategies"]["rag"]["cost"]
    assert cost["setup_source"] == "measured" and reused["setup_source"] == "reused"
    assert reused["setup_note"].startswith(f"reused: index built in run {rec['run_id']}, ")
    assert again["cost_ledger"]["strategies"]["rag"]["setup_source"] == "reused"
    page = (again_dir / "report.md").read_text()
    assert "### Estimated or reused figures" in page and f"index built in run {rec['run_id']}" in page
    assert f"index built in run {rec['run_id']}" in (again_dir / "report.html").read_text()


def test_the_context_budget_drops_the_lowest_ranked_passages_and_keeps_the_question(tmp_path, tiny_dir, qa_task):
    budget = tmp_path / "run.yaml"
    budget.write_text(yaml.safe_dump({"rag": {"top_k": 3, "max_context_tokens": 75}}))
    rec, rows, _ = _run(tmp_path, tiny_dir, "--task", str(qa_task), "--config", str(budget))
    from harness.backends.hf import load_generator

    tok = load_generator(str(tiny_dir), device="cpu").tokenizer
    kept = []
    for row in rows:
        i = int(row["example_id"][1:])
        assert row["prompt"].count("<|im_start|>user") == 1  # the format demonstration went first ...
        assert row["prompt"].count("is a baker") < 3  # ... then the lowest-ranked passages ...
        assert row["prompt"].rstrip().endswith("assistant") and f"was {PEOPLE[i]} born?" in row["prompt"]  # ... never the question
        # within the budget (75 less the 2 new tokens), every prompt: the question alone fits in it
        assert len(tok(row["prompt"], add_special_tokens=False)["input_ids"]) <= 75 - 2
        kept.append(row["prompt"].count("is a baker"))
        if kept[-1]:
            assert f"{PEOPLE[i]} is a baker" in row["prompt"]  # the best passage is the last to go
    assert max(kept) >= 1  # passages are dropped as needed, not all of them
    assert min(kept) < 3 and rec["strategies"]["rag"]["cost"]["rag"]["passages_dropped_for_budget"] > 0


def test_without_a_corpus_rag_retrieves_demonstrations_from_train(tmp_path, tiny_dir):
    three = tmp_path / "run.yaml"
    # budget drops counted on the test split only: no overfitting splits, no probes
    three.write_text(yaml.safe_dump({"rag": {"top_k": 3}, "overfit_sample": 0, "probes": {"enabled": False}}))
    rec, rows, _ = _run(tmp_path, tiny_dir, "--task", "summarization", "--limit", "4", "--config", str(three))
    from harness.tasks.load import load_task

    task = load_task("summarization", limit=4)
    train = {ex.id for ex in task.split("train")}
    kept = []
    for row in rows:
        kept.append(row["prompt"].count("<|im_start|>user") - 1)  # demonstrations, then the question
        assert row["retrieved"] and set(row["retrieved"]) <= train
        best = task.split("train")[[ex.id for ex in task.split("train")].index(row["retrieved"][0])]
        assert best.references[0] in row["prompt"]  # the most similar example is a demonstration
    extra = rec["strategies"]["rag"]["cost"]["rag"]
    assert extra["mode"] == "demos" and all(1 <= k <= 3 for k in kept)
    # the tiny model's 512-token window cannot hold three long reports: what was dropped is counted
    assert extra["passages_dropped_for_budget"] == sum(3 - k for k in kept)
    assert rec["strategies"]["rag"]["retrieval"] == {}  # no gold document ids in summarization


def test_rag_scores_its_probe_items_after_the_passages_it_retrieves_for_them(qa_task, tiny_handle):
    """As deployed: a probe item about Cy Ramm is scored after the passage RAG retrieves for it, not bare."""
    from harness.backends.cache import RunCache
    from harness.config import RunConfig
    from harness.strategy.context import RunContext
    from harness.registry import strategies
    from harness.tasks.load import load_task

    cfg = RunConfig.model_validate({"task": str(qa_task), "rag": {"top_k": 1}})
    ctx = RunContext(cfg, load_task(str(qa_task)), tiny_handle, RunCache())
    rag = strategies.get("rag")().prepare(ctx)
    item = ("In which year was Cy Ramm born?", [" 1902", " 1905"])
    prefix = rag.probe_context(item[0])
    assert prefix.startswith("Context:\n[1] ") and "Cy Ramm is a baker born in 1902" in prefix
    scored = rag.score_choices([item])[0]
    as_deployed = tiny_handle.score_choices([(prefix + item[0], item[1])])[0]
    bare = tiny_handle.score_choices([item])[0]
    assert [s.logprob for s in scored] == pytest.approx([s.logprob for s in as_deployed])
    assert [s.logprob for s in scored] != pytest.approx([s.logprob for s in bare])  # not the base model's inputs

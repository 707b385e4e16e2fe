import json

import pytest
from typer.testing import CliRunner

from harness.cli.main import app
from harness.config import DataConfig
from harness.errors import HarnessError
from harness.measure.metrics import accuracy, macro_f1
from harness.measure.stats import summarize_corpus
from harness.tasks.load import load_task, read_examples, task_from_files
from tests.conftest import SHARED_DATA


def test_builtin_classification_task_has_labels_and_splits():
    task = load_task("classification")
    sizes = {k: len(v) for k, v in task.splits.items()}
    assert sizes["train"] >= 400 and sizes["validation"] >= 80 and sizes["test"] >= 200 and sizes["ood"] >= 80
    assert len(task.labels) >= 5 and task.metrics == ["accuracy", "macro_f1"]
    assert {ex.reference for ex in task.split("test")} == set(task.labels)


def test_macro_f1_by_hand():
    gold = [["a"], ["a"], ["b"], ["c"]]
    pred = ["a", "b", "b", "a"]
    # a: tp1 fp1 fn1 -> 0.5; b: tp1 fp1 fn0 -> 2/3; c: tp0 -> 0
    assert macro_f1(pred, gold) == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert accuracy(" Billing.", ["billing"]) == 1.0 and accuracy("shipping", ["billing"]) == 0.0


def test_corpus_metric_ci_brackets_the_value():
    gold = [["a"], ["b"]] * 30
    pred = ["a", "b"] * 25 + ["b", "a"] * 5
    s = summarize_corpus("macro_f1", macro_f1, pred, gold)
    assert s.ci_low < s.value < s.ci_high and s.n == 60


def test_label_text_lines_and_a_bad_line(tmp_path):
    good = tmp_path / "stsa.binary.dev"
    good.write_text("1 a fine film .\n0 dull and long .\n")
    examples = read_examples(good, labels={"0": "negative", "1": "positive"}, fmt="label-text")
    assert [(e.input, e.reference) for e in examples] == [("a fine film .", "1"), ("dull and long .", "0")]
    bad = tmp_path / "bad.txt"
    bad.write_text("1 good\n1\n")
    with pytest.raises(HarnessError, match=r"bad\.txt:2: expected `label sentence`"):
        read_examples(bad, fmt="label-text")
    with pytest.raises(HarnessError, match="not in the task's label set"):
        read_examples(good, labels={"pos": "positive"}, fmt="label-text")


@pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="../shared/data/sst2 is not here")
def test_sst2_loads_as_a_classification_task():
    data = DataConfig(files={"train": SHARED_DATA / "sst2" / "stsa.binary.dev",
                             "test": SHARED_DATA / "sst2" / "stsa.binary.test"},
                      format="label-text", labels={"0": "negative", "1": "positive"})
    task = task_from_files(data)
    assert task.kind == "classification" and len(task.split("train")) == 872 and len(task.split("test")) == 1821
    assert {e.reference for e in task.split("test")} == {"0", "1"}
    demo = task.messages(task.split("test")[0], demos=[task.split("train")[0]])
    assert demo[2]["content"] in {"negative", "positive"}  # demonstrations answer with the verbalizer


def _tiny_classification_task(tmp_path):
    """Two labels told apart by the words the inputs use (all in the tiny tokenizer's vocabulary)."""
    import random

    rng = random.Random(0)
    a_words, b_words = ["hospital", "nurses", "patients", "wait"], ["profit", "shares", "revenue", "investors"]
    rows = {}
    for split, n in (("train", 40), ("test", 20)):
        rows[split] = []
        for i in range(n):
            label = "health" if i % 2 else "money"
            words = a_words if label == "health" else b_words
            text = " ".join(rng.choice(words) for _ in range(6))
            rows[split].append({"id": f"{split}-{i}", "input": text, "reference": label})
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[split]))
    (tmp_path / "task.yaml").write_text(
        "name: tiny-cls\nkind: classification\ninstruction: Route the report.\n"
        "labels: {health: hospital, money: profit}\n"
        "splits: {train: train.jsonl, test: test.jsonl}\nmetrics: [accuracy, macro_f1]\n")
    return tmp_path / "task.yaml"


def test_prompt_scores_labels_and_head_learns_them(tmp_path, tiny_dir):
    task_yaml = _tiny_classification_task(tmp_path)
    result = CliRunner().invoke(app, ["run", "--task", str(task_yaml), "--model", str(tiny_dir), "--strategies",
                                      "prompt,head", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    rec = json.loads((run_dir / "run.json").read_text())
    rows = [json.loads(l) for l in (run_dir / "predictions" / "prompt.jsonl").read_text().splitlines()]
    assert {r["output"] for r in rows} <= {"health", "money"}  # scored labels: never unparseable
    head = rec["strategies"]["head"]
    # the words decide the label, so a linear head on the frozen features separates them
    assert head["metrics"]["test"]["accuracy"]["value"] >= 0.9
    assert head["metrics"]["test"]["macro_f1"]["ci_low"] <= head["metrics"]["test"]["macro_f1"]["value"]
    assert head["cost"]["trainable_params"] > 0 and (run_dir / "artifacts" / "head" / "head.npz").exists()

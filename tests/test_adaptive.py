"""Adaptive evaluation on the tiny model: a clear difference (head learns the labels, prompt does not) stops early
with the full run's verdict; the stop is replayed on resume without predicting again; a corpus-level decision
metric is refused before any work."""

from __future__ import annotations

import json
import random
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli.main import app
from harness.errors import HarnessError


def _task(tmp_path, n_test: int = 96):
    """Two labels told apart by their words (the tiny tokenizer knows them): head learns them, prompt guesses."""
    rng = random.Random(0)
    words = {"health": ["hospital", "nurses", "patients", "wait"], "money": ["profit", "shares", "revenue", "investors"]}
    seen: set[str] = set()  # no input twice: a test input also in train is leakage, and the run refuses it

    def text(label: str) -> str:
        while (t := " ".join(rng.choice(words[label]) for _ in range(8))) in seen:
            pass
        seen.add(t)
        return t

    for split, n in (("train", 40), ("test", n_test)):
        rows = [{"id": f"{split}-{i}", "input": text(label), "reference": label}
                for i in range(n) for label in ["health" if i % 2 else "money"]]
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "task.yaml").write_text(
        "name: tiny-cls\nkind: classification\ninstruction: Route the report.\n"
        "labels: {health: hospital, money: profit}\n"
        "splits: {train: train.jsonl, test: test.jsonl}\nmetrics: [accuracy, macro_f1]\n")
    return tmp_path / "task.yaml"


def _run(tmp_path, tiny_dir, out: str, *flags: str):
    result = CliRunner().invoke(app, ["run", "--task", str(_task(tmp_path)), "--model", str(tiny_dir), "--strategies",
                                      "prompt,head", "--no-probes", "--out", str(tmp_path / out), *flags])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / out).iterdir())
    return run_dir, json.loads((run_dir / "run.json").read_text()), result.output


def _test_ids(run_dir, name: str) -> list[str]:
    return [json.loads(line)["example_id"] for line in (run_dir / "predictions" / f"{name}.jsonl").read_text().splitlines()]


def test_a_clear_winner_stops_early_with_the_full_runs_verdict(tmp_path, tiny_dir):
    full_dir, full, _ = _run(tmp_path, tiny_dir, "full", "--full")
    run_dir, rec, output = _run(tmp_path, tiny_dir, "adaptive", "--adaptive")
    a = rec["adaptive"]
    assert a["verdict"] == "winner" and a["leader"] == "head" and a["metric"] == "accuracy"
    assert a["alpha_each"] == pytest.approx(0.05)  # two strategies: one comparison
    assert a["examples_full"] == 2 * 96 and a["examples_generated"] < 0.5 * a["examples_full"]
    head, prompt = rec["strategies"]["head"]["adaptive"], rec["strategies"]["prompt"]["adaptive"]
    assert head["stopped"] == "winner" and prompt["stopped"] == "worse"
    assert head["examples_used"] == prompt["examples_used"] == a["looks"][-1]["n"] < 96
    assert head["examples_used"] % 16 == 0 and head["saved_examples"] == 96 - head["examples_used"]
    assert head["saved_seconds"] > 0 and head["saved_dollars"] > 0
    stop = head["sequences"][0]
    assert stop["leader"] == "head" and stop["other"] == "prompt" and stop["lower"] > 0
    # every look before the last had not settled: its bound still reached 0
    assert all(look["sequences"][0]["lower"] <= 0 for look in a["looks"][:-1])
    # the rows predicted are exactly the first n of the seeded order, for both strategies
    for name in ("head", "prompt"):
        assert len(_test_ids(run_dir, name)) == head["examples_used"]
        assert rec["strategies"][name]["counts"]["test"]["examples"] == head["examples_used"]
        assert rec["strategies"][name]["timings"]["test"]["predict_seconds"] > 0  # summed over its rounds
    assert set(_test_ids(run_dir, "head")) == set(_test_ids(run_dir, "prompt"))
    # the same verdict as the full run, which predicted everything
    assert rec["recommendation"]["recommended"] == full["recommendation"]["recommended"] == "head"
    assert full["adaptive"] is None and full["strategies"]["head"]["counts"]["test"]["examples"] == 96
    assert "adaptive · 16 of 96 test examples" in output
    report = (run_dir / "report.md").read_text()
    assert "## Adaptive evaluation" in report and "showed it worse" in report and "head − prompt" in report
    assert f"it stopped after {head['examples_used']} examples because the 95% anytime-valid sequences showed head" in report
    html = (run_dir / "report.html").read_text()
    assert 'id="adaptive"' in html and "anytime-valid sequences, by look" in html
    assert "Adaptive evaluation" not in (full_dir / "report.md").read_text()


def test_a_resumed_adaptive_run_replays_its_looks_without_predicting_again(tmp_path, tiny_dir):
    run_dir, rec, _ = _run(tmp_path, tiny_dir, "adaptive", "--adaptive")
    copy = tmp_path / "resumed"
    shutil.copytree(run_dir, copy)
    rows_before = {n: (copy / "predictions" / f"{n}.jsonl").read_text() for n in ("head", "prompt")}
    interrupted = rec | {"status": "interrupted", "strategies": {}, "adaptive": None, "comparisons": [],
                         "cost_ledger": None, "recommendation": None}
    (copy / "run.json").write_text(json.dumps(interrupted))
    result = CliRunner().invoke(app, ["run", "--resume", str(copy)])
    assert result.exit_code == 0, result.output
    again = json.loads((copy / "run.json").read_text())
    assert again["adaptive"]["looks"] == rec["adaptive"]["looks"] and again["adaptive"]["verdict"] == "winner"
    for n in ("head", "prompt"):  # the test rows were all saved: none predicted twice, none added
        assert (copy / "predictions" / f"{n}.jsonl").read_text() == rows_before[n]
        assert again["strategies"][n]["adaptive"]["examples_used"] == rec["strategies"][n]["adaptive"]["examples_used"]


def test_adaptive_needs_a_per_example_decision_metric(tmp_path, tiny_dir):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({"adaptive": {"enabled": True}, "decision": {"metric": "macro_f1"}}))
    result = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "run.yaml"), "--task", str(_task(tmp_path)),
                                      "--model", str(tiny_dir), "--strategies", "prompt,head", "--out",
                                      str(tmp_path / "runs")])
    err = result.exception  # `harness` prints it and exits 2 (harness.cli.main.main)
    assert isinstance(err, HarnessError) and "decision metric 'macro_f1' is corpus-level" in err.message
    assert "accuracy" in err.hint and "--full" in err.hint
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # refused before a folder


def test_one_strategy_has_nothing_to_compare_and_is_evaluated_in_full(tmp_path, tiny_dir):
    result = CliRunner().invoke(app, ["run", "--task", str(_task(tmp_path, n_test=40)), "--model", str(tiny_dir),
                                      "--strategies", "head", "--no-probes", "--adaptive", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    rec = json.loads((next((tmp_path / "r").iterdir()) / "run.json").read_text())
    a, head = rec["adaptive"], rec["strategies"]["head"]["adaptive"]
    assert a["verdict"] == "exhausted" and a["looks"] == [] and a["examples_generated"] == a["examples_full"] == 40
    assert head["stopped"] == "exhausted" and head["examples_used"] == 40 and head["saved_examples"] == 0

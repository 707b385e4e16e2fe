"""Regression checks: the rule on constructed baselines, the CLI's exit codes and files, baselines on the tiny model."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harness.guard.baseline import BASELINE_SCHEMA, list_baselines, load_baseline, save_baseline
from harness.guard.check import CANNOT_CHECK, OK, REGRESSION, Rule, compare
from harness.cli.main import app
from harness.config import RunConfig
from harness.errors import HarnessError
from harness.record.run_record import ModelInfo, RunRecord, TaskInfo
from harness.record.results import StrategyResult
from harness.record.store import RunStore, write_json

METRICS = ["rougeL", "rouge1"]


def make_baseline(root: Path, scores: dict[str, dict[str, dict[str, float]]], name: str = "base") -> Path:
    """A baseline folder written by hand: strategies -> example id -> metric -> score."""
    path = root / name
    (path / "scores").mkdir(parents=True)
    ids = list(next(iter(scores.values())))
    for strategy, rows in scores.items():
        (path / "scores" / f"{strategy}.jsonl").write_text(
            "".join(json.dumps({"example_id": i, "scores": s}) + "\n" for i, s in rows.items()))
    (path / "inputs.jsonl").write_text("".join(json.dumps({"id": i, "input": f"text {i}", "sha": "x"}) + "\n" for i in ids))
    write_json(path / "baseline.json", {
        "schema": BASELINE_SCHEMA, "name": name, "config": {"task": "summarization"},
        "task": {"name": "summarization", "kind": "generation", "metrics": METRICS, "fingerprint": "d0"},
        "model": {"name": "m", "fingerprint": "f0"},
        "strategies": {s: {"fingerprint": s, "metrics": {}, "file": f"scores/{s}.jsonl"} for s in scores},
    })
    return path


def make_run(root: Path, scores: dict[str, dict[str, dict[str, float]]]) -> Path:
    store = RunStore.create(root, "summarization")
    for strategy, rows in scores.items():
        store.append_predictions(strategy, "test", [{"example_id": i, "scores": s} for i, s in rows.items()])
    store.write(RunRecord(
        run_id=store.path.name, status="complete", created="2026-01-01T00:00:00+00:00", config=RunConfig(seed=0),
        task=TaskInfo(name="summarization", kind="generation", fingerprint="d1"),
        model=ModelInfo(name="m2", fingerprint="f1"),
        strategies={s: StrategyResult(status="complete", fingerprint=s) for s in scores}))
    return store.path


def scored(values: dict[str, np.ndarray], prefix: str = "ex") -> dict[str, dict[str, float]]:
    n = len(next(iter(values.values())))
    return {f"{prefix}{i}": {m: float(v[i]) for m, v in values.items()} for i in range(n)}


def pair(shift: float, noise: float, n: int, seed: int = 0):
    """Baseline scores and new scores `shift` lower on average, with per-example noise."""
    rng = np.random.default_rng(seed)
    old = {m: rng.uniform(0.3, 0.6, n) for m in METRICS}
    new = {m: np.clip(v - shift + rng.normal(0, noise, n), 0, 1) for m, v in old.items()}
    return {"prompt": scored(old)}, {"prompt": scored(new)}


def run_check(tmp_path: Path, old, new, *args: str):
    make_baseline(tmp_path / "baselines", old)
    run_dir = make_run(tmp_path / "runs", new)
    md, xml = tmp_path / "check.md", tmp_path / "check.xml"
    result = CliRunner().invoke(app, ["check", "--baseline", "base", "--dir", str(tmp_path / "baselines"),
                                      "--run", str(run_dir), "--summary", str(md), "--junit", str(xml), *args])
    return result, md, xml


def test_a_significant_drop_is_a_regression_exit_1_with_junit_failures(tmp_path):
    old, new = pair(shift=0.1, noise=0.03, n=40)
    result, md, xml = run_check(tmp_path, old, new)
    assert result.exit_code == REGRESSION, result.output
    root = ET.parse(xml).getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == METRICS and all(c.get("classname") == "harness.guard.check.prompt" for c in cases)
    assert all(c.find("failure") is not None for c in cases)
    assert root.get("failures") == "2"
    text = md.read_text()
    assert "regression" in text and "| prompt | rougeL | 40 |" in text


def test_a_small_insignificant_drop_passes(tmp_path):
    old, new = pair(shift=0.005, noise=0.05, n=30)
    result, _, xml = run_check(tmp_path, old, new)
    assert result.exit_code == OK, result.output
    assert all(c.find("failure") is None for c in ET.parse(xml).getroot().iter("testcase"))


def test_a_drop_past_an_absolute_threshold_fails_only_under_that_rule(tmp_path):
    noise = np.array([0.2, -0.2] * 4)  # half the examples better, half worse: a mean drop of 0.05 inside the noise
    old = {"prompt": scored({m: np.full(8, 0.5) for m in METRICS})}
    new = {"prompt": scored({m: 0.45 + noise for m in METRICS})}
    rows = compare(load_baseline(make_baseline(tmp_path / "b", old)), new, Rule.parse("significant"))
    assert all(r.drop > 0.03 and r.p_holm >= 0.05 for r in rows)  # a visible drop, inside the noise
    result, _, _ = run_check(tmp_path, old, new)
    assert result.exit_code == OK
    result, _, _ = run_check(tmp_path / "abs", old, new, "--threshold", "abs:0.03")
    assert result.exit_code == REGRESSION
    result, _, _ = run_check(tmp_path / "rel", old, new, "--threshold", "rel:50%")
    assert result.exit_code == OK


def test_a_significant_drop_below_the_margin_passes(tmp_path):
    old, new = pair(shift=0.008, noise=0.001, n=40)
    rows = compare(load_baseline(make_baseline(tmp_path / "b", old)), new, Rule())
    assert all(r.p_holm < 0.05 and 0 < r.drop < 0.01 and r.status == "pass" for r in rows)
    assert all(r.status == "regression" for r in compare(load_baseline(tmp_path / "b" / "base"), new, Rule(margin=0.005)))


def test_an_improvement_is_never_a_regression(tmp_path):
    old, new = pair(shift=-0.1, noise=0.02, n=30)
    result, _, _ = run_check(tmp_path, old, new)
    assert result.exit_code == OK


def test_pairs_by_example_id_on_shared_examples_only(tmp_path):
    old, new = pair(shift=0.0, noise=0.0, n=10)
    new["prompt"] = {k: v for k, v in list(new["prompt"].items())[:6]} | {"other": {"rougeL": 0.0, "rouge1": 0.0}}
    rows = compare(load_baseline(make_baseline(tmp_path, old)), new, Rule())
    assert all(r.n == 6 and r.diff.value == 0 and r.status == "pass" for r in rows)


def test_no_shared_examples_cannot_check_exit_2(tmp_path):
    old, _ = pair(shift=0.0, noise=0.0, n=10)
    new = {"prompt": {f"new{i}": {"rougeL": 0.1, "rouge1": 0.1} for i in range(10)}}
    result, _, xml = run_check(tmp_path, old, new)
    assert result.exit_code == CANNOT_CHECK, result.output
    assert len(ET.parse(xml).getroot().findall(".//error")) == 2


def test_missing_strategy_cannot_check_but_a_regression_elsewhere_wins(tmp_path):
    old, new = pair(shift=0.2, noise=0.02, n=30)
    old["few-shot"] = old["prompt"]
    result, _, _ = run_check(tmp_path, old, new)
    assert result.exit_code == REGRESSION
    _, same = pair(shift=0.0, noise=0.0, n=30)
    result, _, _ = run_check(tmp_path / "b", old, same)
    assert result.exit_code == CANNOT_CHECK


def test_missing_baseline_and_bad_rule_exit_2(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["check", "--baseline", "nope", "--dir", str(tmp_path), "--junit", str(tmp_path / "j.xml")])
    assert result.exit_code == CANNOT_CHECK
    assert ET.parse(tmp_path / "j.xml").getroot().find(".//error") is not None
    result = runner.invoke(app, ["check", "--baseline", "nope", "--threshold", "maybe"])
    assert result.exit_code == CANNOT_CHECK and "abs:0.02" in result.output


def test_rule_parsing():
    assert Rule.parse("rel:5%").threshold == pytest.approx(0.05)
    with pytest.raises(HarnessError):
        Rule.parse("rel:0.05")  # ambiguous: the percent sign is required
    assert Rule.parse("abs:0.02") == Rule("abs", 0.02)
    assert Rule.parse(None).kind == "significant"
    with pytest.raises(HarnessError):
        Rule.parse("abs:-1")


def test_holm_corrects_across_strategies_and_metrics(tmp_path):
    """One borderline drop among many comparisons: significant alone, not after correction."""
    rng = np.random.default_rng(5)
    n = 24
    base = rng.uniform(0.3, 0.6, n)
    old = {s: scored({m: base for m in METRICS}) for s in ("a", "b", "c")}
    new = {s: scored({m: base + rng.normal(0, 0.01, n) for m in METRICS}) for s in ("a", "b", "c")}
    z = rng.normal(0, 1, n)
    z = (z - z.mean()) / z.std(ddof=1)  # exactly: mean drop 0.02, sd 0.04, t = 2.45 on 24 examples
    new["a"] = scored({"rougeL": base - 0.02 + 0.04 * z, "rouge1": base})
    rows = compare(load_baseline(make_baseline(tmp_path, old)), new, Rule())
    target = next(r for r in rows if r.strategy == "a" and r.metric == "rougeL")
    assert target.diff.p_value < 0.05 <= target.p_holm
    assert target.status == "pass"


# ---------------------------------------------------------------------------------------------- on the tiny model


def _run_tiny(tiny_dir, out: Path, seed: int = 0, **extra) -> Path:
    from harness.config import validate
    from harness.runs.runner import run

    cfg = {"task": "summarization", "model": str(tiny_dir), "strategies": ["prompt", "few-shot"], "limit": 4,
           "seed": seed, "out": str(out), "device": "cpu", "max_new_tokens": 8, **extra}
    return run(validate(cfg))


def test_baseline_save_list_and_check_on_the_tiny_model(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_BASELINES", str(tmp_path / "bl"))
    run_dir = _run_tiny(tiny_dir, tmp_path / "runs")
    path = save_baseline(run_dir, "tiny")
    assert path == tmp_path / "bl" / "tiny"
    b = load_baseline("tiny")
    rec = json.loads((run_dir / "run.json").read_text())
    assert b.record.model.fingerprint == rec["model"]["fingerprint"]
    assert b.record.task.fingerprint == rec["task"]["fingerprint"]
    assert b.record.strategies["prompt"].metrics["rougeL"].value == rec["strategies"]["prompt"]["metrics"]["test"]["rougeL"]["value"]
    assert b.strategies == ["prompt", "few-shot"] and len(b.inputs) == 4
    saved = [json.loads(line)["example_id"] for line in (run_dir / "predictions" / "prompt.jsonl").read_text().splitlines()]
    assert sorted(b.test_ids()) == sorted(saved) == sorted(b.scores["few-shot"])
    assert all(row["input"] for row in b.inputs)
    assert [x.name for x in list_baselines()] == ["tiny"]
    with pytest.raises(HarnessError, match="already exists"):
        save_baseline(run_dir, "tiny")

    runner = CliRunner()
    for seed in (0, 1):  # a rerun, and another seed (other few-shot demos): no regression
        xml = tmp_path / f"seed{seed}.xml"
        result = runner.invoke(app, ["check", "--baseline", "tiny", "--seed", str(seed), "--out", str(tmp_path / "runs"),
                                     "--junit", str(xml), "--summary", str(tmp_path / "s.md")])
        assert result.exit_code == OK, result.output
        assert len(ET.parse(xml).getroot().findall(".//testcase")) == 2 * 3
    new_run = sorted((tmp_path / "runs").iterdir())[-1]
    assert json.loads((new_run / "run.json").read_text())["config"]["test_ids"] == b.test_ids()
    # No regression above because the rerun scored what the baseline holds, example by example (seed 0: the same run)
    first_rerun = sorted((tmp_path / "runs").iterdir())[1]
    rescored = {json.loads(line)["example_id"]: json.loads(line)["scores"]
                for line in (first_rerun / "predictions" / "prompt.jsonl").read_text().splitlines()}
    assert {i: {m: rescored[i][m] for m in s} for i, s in b.scores["prompt"].items()} == b.scores["prompt"]
    # ... and the same check does catch a drop: a baseline that scored 1 everywhere, against these runs' scores
    for name in b.strategies:
        scores = path / "scores" / f"{name}.jsonl"
        rows = [json.loads(line) for line in scores.read_text().splitlines()]
        scores.write_text("".join(json.dumps(r | {"scores": {m: 1.0 for m in r["scores"]}}) + "\n" for r in rows))
    xml = tmp_path / "drop.xml"
    result = runner.invoke(app, ["check", "--baseline", "tiny", "--out", str(tmp_path / "runs"), "--junit", str(xml),
                                 "--threshold", "abs:0.01"])
    assert result.exit_code == REGRESSION, result.output
    failed = [" ".join(case.attrib.values()) for case in ET.parse(xml).getroot().iter("testcase")
              if case.find("failure") is not None]
    assert all(any(name in f for f in failed) for name in b.strategies), failed


def test_check_with_data_sharing_no_ids_exits_2(tiny_dir, tmp_path):
    from tests.conftest import write_jsonl

    run_dir = _run_tiny(tiny_dir, tmp_path / "runs")
    save_baseline(run_dir, "tiny", tmp_path / "bl")
    rows = lambda split: [{"id": f"{split}-{i}", "input": "Some report text.", "reference": "A summary."}  # noqa: E731
                          for i in range(6)]
    train, test = (write_jsonl(tmp_path / f"{s}.jsonl", rows(s)) for s in ("train", "test"))
    result = CliRunner().invoke(app, ["check", "--baseline", "tiny", "--dir", str(tmp_path / "bl"), "--data",
                                      f"train={train}", "--data", f"test={test}", "--out", str(tmp_path / "runs")])
    assert result.exit_code == CANNOT_CHECK, result.output
    assert "pinned test example ids" in result.output


def test_pinned_test_ids_survive_any_seed_and_limit():
    from harness.tasks.load import load_task

    ids = ["sum-test-0007", "sum-test-0042", "sum-test-0100"]
    for seed in (0, 1, 2):
        task = load_task("summarization", limit=3, seed=seed, test_ids=ids + ["gone"])
        assert [ex.id for ex in task.split("test")] == ids
        assert len(task.split("train")) == 3  # the other splits still follow the seed and limit
    with pytest.raises(HarnessError, match="pinned test example ids"):
        load_task("summarization", test_ids=["gone"])

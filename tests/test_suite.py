import json

from typer.testing import CliRunner

from harness.cli.main import app
from harness.runs.suite import load_suites


def test_default_suite_names_the_three_tasks():
    assert load_suites()["default"]["tasks"] == ["summarization", "qa", "classification"]


def test_suite_runs_every_task_and_writes_a_suite_page(tmp_path, tiny_dir):
    result = CliRunner().invoke(app, ["run", "--suite", "default", "--model", str(tiny_dir), "--limit", "3",
                                      "--strategies", "prompt,few-shot,head", "--max-new-tokens", "4",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    suite_dir = next(tmp_path.iterdir())
    rec = json.loads((suite_dir / "suite.json").read_text())
    assert rec["status"] == "complete" and [t["status"] for t in rec["tasks"]] == ["complete"] * 3
    verdicts = {row["task"]: row for row in rec["summary"]}
    assert set(verdicts) == {"summarization", "qa", "classification"}
    # each row is its task's own run: the run folder it names, that run's recommendation and metric scores
    for entry in rec["tasks"]:
        row = verdicts[entry["task"]]
        run = json.loads((suite_dir / entry["run"] / "run.json").read_text())
        assert row["run"] == entry["run"] and run["task"]["name"] == entry["task"] and row["kind"] == run["task"]["kind"]
        assert row["recommended"] == run["recommendation"]["recommended"] and row["recommended"] in run["strategies"]
        assert row["verdict"] == run["recommendation"]["verdict"] and row["metric"] == run["recommendation"]["metric"]
        assert set(row["scores"]) == set(run["strategies"])
        for name, score in row["scores"].items():
            assert score["value"] == run["strategies"][name]["metrics"]["test"][row["metric"]]["value"]
    # head applies only to classification; the others ran prompt and few-shot
    assert "head" in verdicts["classification"]["scores"] and "head" not in verdicts["qa"]["scores"]
    page = (suite_dir / "suite.html").read_text()
    assert "classification" in page and "report.html" in page
    assert "[classification](" in (suite_dir / "suite.md").read_text()


def test_suite_json_is_typed_old_files_load_and_a_bad_one_is_named(tmp_path):
    import pytest

    from harness.config import validate
    from harness.errors import HarnessError
    from harness.record.suite import SuiteRecord, SuiteTask

    record = SuiteRecord(suite="default", config=validate({}), tasks=[SuiteTask(task="qa")])
    record.write(tmp_path)
    assert SuiteRecord.read(tmp_path) == record
    old = json.loads((tmp_path / "suite.json").read_text())  # a summary row as written before: with a headline
    old["summary"] = [{"task": "qa", "kind": "qa", "run": "r", "metric": "exact_match", "verdict": "tie",
                       "recommended": "prompt", "headline": "Recommend prompt: ...", "scores": {"prompt": None}}]
    (tmp_path / "suite.json").write_text(json.dumps(old))
    assert SuiteRecord.read(tmp_path).summary[0].recommended == "prompt"
    (tmp_path / "suite.json").write_text('{"suite": "default", "status": "done"}')
    with pytest.raises(HarnessError, match="suite.json"):
        SuiteRecord.read(tmp_path)

import json

from typer.testing import CliRunner

from harness.cli.main import app
from harness.record.store import RunStore


def _run(tmp_path, tiny_dir, *extra):
    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4",
                                      "--out", str(tmp_path), "--max-new-tokens", "6", *extra])
    assert result.exit_code == 0, result.output
    return next(tmp_path.iterdir())


def test_run_writes_record_predictions_and_report(tmp_path, tiny_dir):
    run_dir = _run(tmp_path, tiny_dir, "--strategies", "prompt,few-shot")
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["status"] == "complete" and rec["schema_version"] == 3
    assert rec["model"]["source"] == "local" and len(rec["model"]["fingerprint"]) == 16
    assert rec["environment"]["packages"]["torch"]
    for name in ("prompt", "few-shot"):
        score = rec["strategies"][name]["metrics"]["test"]["rougeL"]
        assert score["ci_low"] <= score["value"] <= score["ci_high"] and score["n"] == 4
        rows = [json.loads(l) for l in (run_dir / "predictions" / f"{name}.jsonl").read_text().splitlines()]
        assert len(rows) == 4 and {"example_id", "prompt", "output", "references", "scores"} <= set(rows[0])
    # few-shot prompts carry demonstrations; zero-shot ones do not
    few = json.loads((run_dir / "predictions" / "few-shot.jsonl").read_text().splitlines()[0])
    zero = json.loads((run_dir / "predictions" / "prompt.jsonl").read_text().splitlines()[0])
    assert few["prompt"].count("<|im_start|>user") == 4 and zero["prompt"].count("<|im_start|>user") == 1
    report = (run_dir / "report.md").read_text()
    assert "| prompt |" in report and "| few-shot |" in report
    assert not (run_dir / "artifacts" / "prompt").exists()  # a strategy that saves nothing leaves no empty folder


def test_report_rerenders_from_run_json_alone(tmp_path, tiny_dir, monkeypatch, capsys):
    import shutil

    from tests.test_bad_input import cli

    run_dir = _run(tmp_path, tiny_dir, "--strategies", "prompt,few-shot")
    before = (run_dir / "report.md").read_text()
    rec_before = json.loads((run_dir / "run.json").read_text())
    (run_dir / "report.md").unlink()
    (run_dir / "report.html").unlink(missing_ok=True)
    shutil.rmtree(run_dir / "predictions")  # run.json alone: no prediction rows to read
    result = CliRunner().invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    again = (run_dir / "report.md").read_text()
    assert "| prompt |" in again and "| few-shot |" in again
    # everything but the example outputs comes from run.json: the verdict, comparisons, cost... are as before
    side = "## Outputs side by side"
    assert again.split(side)[0] == before.split(side)[0] and "(no predictions)" in again.split(side)[1]
    assert json.loads((run_dir / "run.json").read_text())["recommendation"] == rec_before["recommendation"]
    code, out = cli(monkeypatch, capsys, "report", str(run_dir), "--priority", "cost")  # cannot recompute: says so
    assert code == 2 and "Cannot recompute the recommendation" in out and "prompt, few-shot" in out


def test_resume_skips_finished_strategies_and_keeps_saved_rows(tmp_path, tiny_dir):
    run_dir = _run(tmp_path, tiny_dir, "--strategies", "prompt,few-shot")
    store = RunStore.open(run_dir)
    rec = store.read()
    expected = rec.strategies["few-shot"].metrics
    # pretend the run died during few-shot, after two of its four predictions were saved
    rec.status = "interrupted"
    del rec.strategies["few-shot"]
    store.write(rec)
    path = store.predictions_path("few-shot")
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    result = CliRunner().invoke(app, ["run", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    after = store.read()
    assert after.status == "complete" and after.resumed == 1
    assert after.strategies["few-shot"].metrics == expected
    assert len(path.read_text().splitlines()) == 4


def test_default_strategies_take_rag_only_where_the_task_has_a_corpus():
    from harness.config import RunConfig
    from harness.runs.runner import plan_strategies
    from harness.tasks.load import load_task

    config = RunConfig()
    assert list(plan_strategies(config, load_task("summarization"))) == ["prompt", "few-shot"]
    assert list(plan_strategies(config, load_task("qa"))) == ["prompt", "few-shot", "rag"]
    assert "rag" in plan_strategies(RunConfig(strategies=["prompt", "rag"]), load_task("summarization"))


def test_limit_halves_every_side_measurement():
    from harness.config import RunConfig

    assert RunConfig().side(120) == 120  # no limit: as configured
    assert RunConfig(limit=20).side(120) == 10 and RunConfig(limit=20).side(4) == 4 and RunConfig(limit=3).side(9) == 2


def test_each_strategy_is_made_once_per_run(tmp_path, tiny_dir, monkeypatch):
    """The plan makes each strategy once and the run, its preparation and its checks use that one instance."""
    from harness.registry import strategies

    made = []
    few_shot = strategies.get("few-shot")

    class Counted(few_shot):
        def __init__(self):
            made.append(self)

    monkeypatch.setitem(strategies._items, "few-shot", Counted)
    run_dir = _run(tmp_path, tiny_dir, "--strategies", "few-shot", "--no-probes")
    assert len(made) == 1
    assert json.loads((run_dir / "run.json").read_text())["strategies"]["few-shot"]["status"] == "complete"


def test_a_registered_measurement_plugs_into_every_strategy(tmp_path, tiny_dir, monkeypatch):
    """A measurement is one registered class: the run makes it once, calls `before` once and `measure` per strategy
    with the prepared strategy and its evaluated splits (it can read their examples), and records what it returns."""
    from harness.measure.measurement import Measurement
    from harness.registry import measurements

    calls = []

    class LongestInput(Measurement):
        name = "longest_input"

        def before(self, record):
            calls.append(("before", record.status))

        def applies(self, prepared):
            return prepared.name != "few-shot"

        def measure(self, prepared, splits):
            longest = max(len(ex.input) for ex in prepared.ctx.task.split("test"))  # reads the examples
            calls.append((prepared.name, tuple(splits)))
            return {"probe_seconds": float(longest)}

    measurements.names()  # the built-in ones first: this one is measured after them (its field is not overwritten)
    monkeypatch.setitem(measurements._items, "longest_input", LongestInput)
    run_dir = _run(tmp_path, tiny_dir, "--strategies", "prompt,few-shot", "--no-probes")
    rec = json.loads((run_dir / "run.json").read_text())
    assert calls[0] == ("before", "running") and [c[0] for c in calls[1:]] == ["prompt"]
    assert "test" in calls[1][1]
    from harness.tasks.load import load_task

    longest = max(len(ex.input) for ex in load_task("summarization", limit=4).split("test"))
    assert rec["strategies"]["prompt"]["probe_seconds"] == longest
    assert rec["strategies"]["few-shot"]["probe_seconds"] != longest  # not applied: the probes' own figure

from typer.testing import CliRunner

from harness.app.cli import app
from harness.config import build_config
from harness.app.dryrun import estimate


def test_dry_run_calibrates_and_runs_nothing(tmp_path, tiny_dir):
    cfg = build_config({"task": "summarization", "model": str(tiny_dir), "limit": 4, "max_new_tokens": 4,
                        "strategies": "prompt,few-shot", "out": tmp_path, "batch_size": 2})
    rows = estimate(cfg)
    assert [r["strategy"] for r in rows] == ["prompt", "few-shot"]
    for r in rows:
        assert r["complete"] and r["seconds_per_example"] > 0 and r["setup_seconds"] >= 0
        assert r["examples"] == 4 + 2 + 2  # test, then train and ood samples at half the limit
        assert r["total_seconds"] >= r["predict_seconds"] > 0 and r["dollars"] > 0
    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4",
                                      "--max-new-tokens", "4", "--strategies", "prompt", "--out", str(tmp_path),
                                      "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and not any(tmp_path.iterdir())  # no run folder written


def test_dry_run_estimates_fine_tuning_from_timed_steps(tmp_path, tiny_dir):
    cfg = build_config({"task": "summarization", "model": str(tiny_dir), "limit": 4, "max_new_tokens": 4,
                        "strategies": "prompt,lora", "out": tmp_path, "batch_size": 2,
                        "finetune": {"max_train_examples": 4, "val_examples": 2, "eval_every": 1}})
    lora = {r["strategy"]: r for r in estimate(cfg)}["lora"]
    assert lora["complete"] and lora["setup_seconds"] > 0  # training is estimated, not left out
    assert "/s (timed steps), 1 validation(s)" in lora["note"]  # 4 examples in one step of 4
    assert lora["total_seconds"] == lora["setup_seconds"] + lora["predict_seconds"]

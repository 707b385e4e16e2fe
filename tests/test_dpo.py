"""dpo on the tiny in-process Llama: pairs built right (from the data, or references against the base model's own
outputs), chosen/rejected loading, training that moves the policy towards the chosen replies, the house_style
scorer, and the win rate against the base model with its CI, in run.json and the reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, tiny_model, tiny_tokenizer, write_jsonl
from harness.config import RunConfig
from harness.measure.metrics import house_style, house_style_checks
from harness.tasks.load import load_task, read_examples

PREFERENCE = ROOT / "benchmarks" / "preference"


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
    ctx = _ctx(pref_dir, task, dpo={"lr": 2e-2, "epochs": 4, "max_pairs": 8, "val_pairs": 8, "batch_size": 4},
               finetune={"eval_every": 2})
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

    path = run(RunConfig(task="preference", model=str(pref_dir), strategies=["prompt", "dpo"], limit=8,
                         max_new_tokens=6, overfit_sample=4, out=tmp_path, probes={"enabled": False},
                         dpo={"max_pairs": 8, "val_pairs": 4, "lr": 5e-2, "epochs": 2}))
    rec = json.loads((path / "run.json").read_text())
    w = rec["strategies"]["dpo"]["win_rate"]
    assert rec["strategies"]["prompt"]["win_rate"] is None  # zero-shot is the base: no win rate against itself
    store = RunStore.open(path)
    base = {r["example_id"]: r for r in store.read_predictions("prompt")}
    mine = {r["example_id"]: r for r in store.read_predictions("dpo")}
    expected = [outcome(score(["house_style"], mine[i]["output"], mine[i]["references"])["house_style"],
                        score(["house_style"], base[i]["output"], base[i]["references"])["house_style"]) for i in base]
    assert w["n"] == 8 == w["wins"] + w["ties"] + w["losses"]
    assert w["value"] == pytest.approx(sum(expected) / len(expected))
    assert w["ci_low"] <= w["value"] <= w["ci_high"] and w["metric"] == "house_style"
    assert "Preference win rate against the base model" in (path / "report.md").read_text()
    assert 'id="win-rate"' in (path / "report.html").read_text()


def test_win_rate_outcome_is_one_half_zero():
    from harness.measure.win_rate import outcome

    assert (outcome(0.9, 0.5), outcome(0.5, 0.5), outcome(0.1, 0.5)) == (1.0, 0.5, 0.0)
    assert outcome(0.1, 0.5, higher_is_better=False) == 1.0


def test_dpo_on_every_weight_keeps_the_base_and_answers_with_new_weights(pref_dir):
    from harness.backends.hf import weights_fingerprint
    from strategies.finetune.dpo import DPO

    task = load_task("preference", limit=4)
    ctx = _ctx(pref_dir, task, dpo={"weights": "full", "lr": 1e-2, "max_pairs": 4, "val_pairs": 2, "batch_size": 1})
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

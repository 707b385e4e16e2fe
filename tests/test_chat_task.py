"""The built-in `chat` task: its generator, its data (facts from earlier turns, policies from the corpus), its
calibration set, and multi-turn examples in Task.messages, Task.conversation_text and the fingerprint."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import HarnessError
from harness.tasks import leakage
from harness.tasks.load import load_task, read_examples
from harness.tasks.task import Task
from harness.types import Example

CHAT = Path(__file__).resolve().parent.parent / "benchmarks" / "chat"
FILES = ("train", "validation", "test", "corpus", "calibration")

# The policies restated here, apart from the generator: what each scenario's facts call for.
WARRANTY_MONTHS = {"electrical": 24, "furniture": 12}
RULES = {
    "returns": lambda f: "eligible" if f["days_since_delivery"] <= 30 else "too-late",
    "refund": lambda f: "store-credit" if f["method"] == "gift card" else "original-method",
    "shipping": lambda f: "free" if f["price_value"] >= 50 else "fee",
    "late-delivery": lambda f: "lost" if f["days_late"] >= 7 else "wait",
    "damaged": lambda f: "replace" if f["days_since_delivery"] <= 2 else "too-late",
    "warranty": lambda f: "covered" if f["age_months"] < WARRANTY_MONTHS[f["category"]] else "expired",
    "cancel": lambda f: "cancelled" if f["status"] == "processing" else "shipped",
    "escalation": lambda f: "escalate",
    "price-promise": lambda f: "refund-difference" if f["days_since_purchase"] <= 14 else "too-late",
}
# What a reply that applies the policy says (and a reply for another outcome does not); {fields} are facts.
MARKERS = {
    ("returns", "eligible"): ["free return label"], ("returns", "too-late"): ["can't be returned"],
    ("refund", "original-method"): ["goes back to your {method}", "5 business days"],
    ("refund", "store-credit"): ["store credit"],
    ("shipping", "free"): ["shipping is free"], ("shipping", "fee"): ["costs $4.95"],
    ("late-delivery", "lost"): ["free replacement or a full refund"], ("late-delivery", "wait"): ["a few more days"],
    ("damaged", "replace"): ["free replacement"], ("damaged", "too-late"): ["can't replace it"],
    ("warranty", "covered"): ["{years}-year warranty", "repair or replace it free"],
    ("warranty", "expired"): ["no longer covered"],
    ("cancel", "cancelled"): ["I've cancelled it"], ("cancel", "shipped"): ["can't be cancelled"],
    ("escalation", "escalate"): ["escalated", "24 hours"],
    ("price-promise", "refund-difference"): ["refund the {diff} difference"],
    ("price-promise", "too-late"): ["can't refund"],
}
POLICY_DOCS = {  # scenario -> the document that decides it, and what that document must say
    "returns": ("policy-returns", ["30 days"]), "refund": ("policy-refunds", ["5 business days", "store credit"]),
    "shipping": ("policy-shipping", ["$50", "$4.95"]), "late-delivery": ("policy-late-delivery", ["7 days"]),
    "damaged": ("policy-damaged", ["2 days"]), "warranty": ("policy-warranty", ["2-year", "1-year"]),
    "cancel": ("policy-cancellations", ["shipped"]), "escalation": ("policy-escalation", ["24 hours"]),
    "price-promise": ("policy-price-promise", ["14 days"]),
}


def generator():
    spec = importlib.util.spec_from_file_location("chat_generate", CHAT / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("chat")


def examples(task: Task) -> list[Example]:
    return [ex for split in ("train", "validation", "test") for ex in task.split(split)]


def test_the_generator_is_deterministic_and_the_committed_files_are_its_output(tmp_path):
    gen = generator()
    for seed, folder in ((2024, "a"), (7, "b")):
        (tmp_path / folder).mkdir()
        gen.generate(seed, tmp_path / folder)
    for name in FILES:
        fresh = (tmp_path / "a" / f"{name}.jsonl").read_bytes()
        assert fresh == (CHAT / f"{name}.jsonl").read_bytes(), f"{name}.jsonl differs from a fresh generation"
    assert (tmp_path / "b" / "test.jsonl").read_bytes() != (CHAT / "test.jsonl").read_bytes()


def test_sizes_and_the_task_definition(task):
    assert {k: len(v) for k, v in task.splits.items()} == {"train": 160, "validation": 32, "test": 60}
    assert task.metrics == ["rougeL"] and task.kind == "generation" and task.max_new_tokens == 48
    assert not re.search(r"\d", task.instruction), "the policies' numbers belong in the corpus, not the instruction"
    assert leakage.check(task)["status"] == "clean"


def test_messages_put_the_turns_in_order_as_real_messages(task):
    ex, demo = task.split("test")[0], task.split("train")[0]
    turns = ex.meta["turns"]
    assert len(turns) in (2, 4) and [t["role"] for t in turns] == ["user", "assistant"] * (len(turns) // 2)
    msgs = task.messages(ex)
    assert msgs[0]["role"] == "system" and msgs[1:-1] == turns and msgs[-1] == {"role": "user", "content": ex.input}
    shown = task.messages(ex, demos=[demo])
    k = len(demo.meta["turns"])
    assert shown[1 : 1 + k] == demo.meta["turns"]
    assert shown[1 + k : 3 + k] == [{"role": "user", "content": demo.input},
                                   {"role": "assistant", "content": demo.reference}]
    assert shown[3 + k :] == msgs[1:]
    with_passage = task.messages(ex, passages=task.corpus[:1])
    assert with_passage[1:-1] == turns and with_passage[-1]["content"].endswith(ex.input)


def test_rag_format_demonstrations_keep_their_turns(task):
    from strategies.rag.strategy import RagModel

    ex, demo = task.split("test")[0], task.split("train")[0]
    model = SimpleNamespace(ctx=SimpleNamespace(task=task))
    msgs = RagModel._with_shots(model, task.messages(ex), [(demo, task.corpus[:1])])
    k = len(demo.meta["turns"])
    assert msgs[1 : 1 + k] == demo.meta["turns"] and msgs[1 + k]["content"].endswith(demo.input)
    assert msgs[2 + k] == {"role": "assistant", "content": demo.reference} and msgs[3 + k :] == task.messages(ex)[1:]


def test_the_fingerprint_covers_the_turns(task):
    ex = task.split("test")[0]
    edited = [dict(t) for t in ex.meta["turns"]]
    edited[-1]["content"] = edited[-1]["content"].replace(ex.meta["facts"]["order"], "KB-00000")
    other = dataclasses.replace(task, splits={**task.splits, "test": [
        dataclasses.replace(ex, meta={**ex.meta, "turns": edited}), *task.split("test")[1:]]})
    assert other.fingerprint() != task.fingerprint()
    assert dataclasses.replace(task).fingerprint() == task.fingerprint()


def test_every_reference_uses_the_dialogues_facts_and_applies_its_policy(task):
    docs = {d.id: d.text for d in task.corpus}
    for doc, phrases in POLICY_DOCS.values():
        assert all(p in docs[doc] for p in phrases), doc
    for ex in examples(task):
        meta, facts = ex.meta, ex.meta["facts"]
        order = facts["order"]
        assert order in ex.reference and order in meta["turns"][0]["content"] + meta["turns"][-2]["content"]
        assert order not in ex.input, "the order number comes only from the earlier turns"
        assert RULES[meta["scenario"]](facts) == meta["outcome"], ex.id
        assert meta["doc_ids"] == [POLICY_DOCS[meta["scenario"]][0]], ex.id
        for (scenario, outcome), phrases in MARKERS.items():
            if scenario == meta["scenario"]:
                held = all(p.format(**facts) in ex.reference for p in phrases)
                assert held == (outcome == meta["outcome"]), (ex.id, outcome, ex.reference)


def test_calibration_has_both_classes_on_new_dialogues(task):
    rows = [json.loads(line) for line in (CHAT / "calibration.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"cal-{i:03d}" for i in range(60)]
    assert sum(r["score"] for r in rows) == 30 and {r["score"] for r in rows} == {0, 1}
    last_messages = {leakage.normalize_text(ex.input) for ex in examples(task)}
    for r in rows:
        assert set(r) == {"id", "input", "output", "reference", "score", "why", "meta"} and r["why"]
        assert r["score"] == (r["meta"]["kind"] in ("reference", "rewording"))
        assert (r["output"] == r["reference"]) == (r["meta"]["kind"] == "reference")
        lines = r["input"].split("\n")
        assert lines[-1].startswith("Customer: ") and all(re.match(r"(Customer|Assistant): ", ln) for ln in lines)
        assert leakage.normalize_text(lines[-1].removeprefix("Customer: ")) not in last_messages
    assert {r["meta"]["kind"] for r in rows} == {"reference", "rewording", "wrong-fact", "policy-breach", "generic"}
    from harness.judge.items import read_labelled  # what judge.calibration reads

    assert [item.score for item in read_labelled(CHAT / "calibration.jsonl", "pass-fail")] == [r["score"] for r in rows]


def test_conversation_text(task):
    ex = task.split("test")[0]
    lines = task.conversation_text(ex).split("\n")
    assert len(lines) == len(ex.meta["turns"]) + 1 and lines[-1] == f"Customer: {ex.input}"
    assert lines[0] == f"Customer: {ex.meta['turns'][0]['content']}"
    assert lines[1] == f"Assistant: {ex.meta['turns'][1]['content']}"
    gen = generator()
    for ex in task.split("test"):
        assert task.conversation_text(ex) == gen.conversation_text({"turns": ex.meta["turns"], "input": ex.input})
    single = Task("t", "qa", "Answer.", {"test": []}, ["exact_match"], input_template="Question: {input}")
    assert single.conversation_text(Example("e", "Who?", "Ana")) == "Question: Who?"


def test_the_loader_checks_turns(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "a", "input": "hi", "reference": "x",
                                "meta": {"turns": [{"role": "system", "content": "be nice"}]}}) + "\n")
    with pytest.raises(HarnessError, match=r"d.jsonl:1: meta 'turns' item 0"):
        read_examples(path)
    path.write_text(json.dumps({"id": "a", "input": "hi", "reference": "x", "meta": {"turns": "hello"}}) + "\n")
    with pytest.raises(HarnessError, match="not a list"):
        read_examples(path)

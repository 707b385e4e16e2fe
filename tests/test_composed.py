"""Composed strategies (`A+B`: strategies/composed.py) on the tiny model: `rag+lora` trains on the prompts rag builds
(the retrieved passages plus a distractor, RAFT's share of gold passages left out) and predicts with the same
prompts on its trained weights; its ledger sums the index build and the training; its probes are scored after the
passages; `A+B` with an unknown or non-composable part is an error naming it; a run records it beside prompt and
rag; the dry run estimates both setups; `--search rag+lora:lr` searches its training.

The embedder is the hashed bag of words of tests/test_rag.py (deterministic, no download)."""

from __future__ import annotations

import json

import pytest

from harness.backends.cache import RunCache
from harness.config import RunConfig
from harness.errors import HarnessError
from harness.runs.strategy_steps import make_strategy
from harness.strategy.context import RunContext
from harness.tasks.load import load_task
from strategies.composed import ComposedCost
from strategies.rag.cost import RagCost, TrainPrompts
from tests.test_rag import BagOfWords, write_bakers_task

PEOPLE = ["Ann Vell", "Bo Quist", "Cy Ramm", "Di Losk", "Ed Marn", "Flo Treb", "Gus Pell", "Hal Mott"]
TINY_TRAINING = {"max_train_examples": 4, "val_examples": 2, "batch_size": 2, "eval_every": 1, "max_steps": 2,
                 "lr": 5e-2}


@pytest.fixture(autouse=True)
def _bag_of_words(monkeypatch):
    monkeypatch.setattr("harness.strategy.context.load_embedder", lambda *a, **k: (BagOfWords(), "bow-test"))


@pytest.fixture()
def qa_task(tmp_path):
    """Eight fictional bakers, one document each; questions name their gold document (meta.doc_ids)."""
    return write_bakers_task(tmp_path / "qa", PEOPLE, train=5)


def _ctx(qa_task, handle, **sections) -> RunContext:
    cfg = RunConfig.model_validate({"task": str(qa_task), "rag": {"top_k": 1, "format_demos": 0} | sections.pop("rag", {}),
                                    "finetune": TINY_TRAINING, **sections})
    return RunContext(cfg, load_task(str(qa_task)), handle, RunCache())


def _user_turn(messages) -> str:
    return messages[-1]["content"]


def test_rag_lora_trains_on_the_retrieved_passage_and_a_distractor_and_predicts_with_rag_s_prompts(qa_task, tiny_handle):
    from strategies.finetune.settings import FinetuneConfig

    ctx = _ctx(qa_task, tiny_handle, rag={"train_distractors": 1, "train_gold_dropped": 0.0})
    composed = make_strategy("rag+lora")
    prompter = composed.prompting.prepare(ctx)
    train = ctx.task.split("train")
    composed.weights.prompts = prompter
    items = composed.weights.training_items(ctx, ctx.config.section(FinetuneConfig), train)
    validation = composed.weights.validation_items(ctx, ctx.config.section(FinetuneConfig), train[:2])
    composed.weights.prompts = None
    for item, messages in zip(validation, prompter.messages_for(train[:2])):  # validated as at inference: no distractor
        assert "Context:" in _user_turn(messages) and _user_turn(messages).count("is a baker") == 1
        prompt_ids = tiny_handle.tokenizer(tiny_handle.render(messages), add_special_tokens=False)["input_ids"]
        assert item.input_ids[: len(prompt_ids)] == prompt_ids
    tok = tiny_handle.tokenizer
    for ex, messages, item in zip(train, prompter.messages_for(train, training=True), items):
        i = int(ex.id[1:])
        user = _user_turn(messages)
        assert f"{PEOPLE[i]} is a baker born in {1900 + i}" in user  # the passage retrieved for it (gold at k=1)
        others = [name for name in PEOPLE if name != PEOPLE[i] and f"{name} is a baker" in user]
        assert len(others) == 1  # and one distractor passage of another document
        prompt_ids = tok(tiny_handle.render(messages), add_special_tokens=False)["input_ids"]
        assert item.input_ids[: len(prompt_ids)] == prompt_ids  # the training item is that prompt, then the answer
        plain = tok(tiny_handle.render(ctx.task.messages(ex)), add_special_tokens=False)["input_ids"]
        assert item.input_ids[: len(plain)] != plain
    assert prompter.cost.section(RagCost).train_prompts == TrainPrompts(examples=5, distractors=5, gold_dropped=0)

    adapted = composed.prepare(ctx)
    rag = make_strategy("rag").prepare(ctx)
    test = ctx.task.split("test")
    ours, theirs = adapted.predict(test), rag.predict(test)
    assert [p.prompt for p in ours] == [p.prompt for p in theirs]  # the same prompts, passages and all
    assert all("Context:" in p.prompt for p in ours) and [p.retrieved for p in ours] == [p.retrieved for p in theirs]
    assert adapted.model is not tiny_handle and adapted.adapter  # on the trained weights
    assert adapted.name == "rag+lora" and adapted.fingerprint != rag.fingerprint
    assert adapted.details.training.method == "lora"


def test_raft_leaves_the_gold_passage_out_of_the_seeded_share_of_training_prompts(qa_task, tiny_handle):
    train = load_task(str(qa_task)).split("train")

    def golds_shown(share: float) -> list[bool]:
        prompter = make_strategy("rag").prepare(_ctx(qa_task, tiny_handle, rag={"train_gold_dropped": share}))
        shown = [f"{PEOPLE[int(ex.id[1:])]} is a baker" in _user_turn(m)
                 for ex, m in zip(train, prompter.messages_for(train, training=True))]
        assert prompter.cost.section(RagCost).train_prompts.gold_dropped == shown.count(False)
        assert all("Context:" in _user_turn(m) for m in prompter.messages_for(train, training=True))  # a distractor stays
        return shown

    assert golds_shown(0.0) == [True] * len(train)
    assert golds_shown(1.0) == [False] * len(train)
    assert golds_shown(0.5) == golds_shown(0.5)  # seeded


def test_few_shot_never_shows_an_example_as_its_own_demonstration(qa_task, tiny_handle):
    """Not in few-shot+lora's training prompts, nor when few-shot scores its overfitting sample of train (it would
    see its own answer and inflate its train score and overfitting gap); a test example gets all k."""
    ctx = _ctx(qa_task, tiny_handle, few_shot={"k": 5})  # every training example is a demonstration
    prompter = make_strategy("few-shot+lora").prompting.prepare(ctx)
    train = ctx.task.split("train")
    for ex, messages in zip(train, prompter.messages_for(train, training=True)):
        shown = [m["content"] for m in messages if m["role"] == "user"][:-1]
        assert len(shown) == 4 and ctx.task.render_input(ex.input) not in shown
        assert prompter.build(ex)[0] == messages  # scored on train as it is trained
    test_shown = [m for m in prompter.build(ctx.task.split("test")[0])[0] if m["role"] == "user"][:-1]
    assert len(test_shown) == 5


def test_rag_lora_probes_are_scored_after_the_passages_on_the_trained_weights(qa_task, tiny_handle):
    """As tests/test_rag.py checks rag: the probe item goes in after the passage retrieved for it, and here it is
    scored by the fine-tuned weights, not the base."""
    adapted = make_strategy("rag+lora").prepare(_ctx(qa_task, tiny_handle))
    item = ("In which year was Cy Ramm born?", [" 1902", " 1905"])
    prefix = adapted.probe_context(item[0])
    assert prefix.startswith("Context:\n[1] ") and "Cy Ramm is a baker born in 1902" in prefix
    scored = [s.logprob for s in adapted.score_choices([item])[0]]
    trained = [s.logprob for s in adapted.model.score_choices([(prefix + item[0], item[1])], adapter=adapted.adapter)[0]]
    on_base = [s.logprob for s in tiny_handle.score_choices([(prefix + item[0], item[1])])[0]]
    bare = [s.logprob for s in adapted.model.score_choices([item], adapter=adapted.adapter)[0]]
    assert scored == pytest.approx(trained)
    assert scored != pytest.approx(on_base) and scored != pytest.approx(bare)


@pytest.mark.parametrize("spec, says", [
    ("rag+lorra", "unknown part 'lorra'"),
    ("lorra+rag", "unknown part 'lorra'"),
    ("lora+rag", "the order is the prompt side first.*'rag\\+lora'"),
    ("lora+full", "two weight changes \\('lora' and 'full'\\)"),
    ("rag+rag", "two prompting strategies"),
    ("few-shot+rag", "two prompting strategies"),
    ("prompt+lora", "'prompt' does not compose: it adds nothing"),
    ("rag+dpo", "'dpo' does not compose: it does not fine-tune on the task's prompts"),
    ("rag+continued-pretraining", "'continued-pretraining' does not compose"),
    ("rag+lora+full", "has 3 parts"),
    ("rag+", "empty part"),
])
def test_a_spec_that_does_not_compose_is_an_error_naming_the_part(spec, says, qa_task):
    from harness.runs.runner import plan_strategies

    with pytest.raises(HarnessError, match=says):
        make_strategy(spec)
    with pytest.raises(HarnessError, match=says):  # as the run plans it, before any model work
        plan_strategies(RunConfig(strategies=[f"{spec}@served"], models={"served": {"backend": "vllm", "id": "x"}}),
                        load_task(str(qa_task)))


def test_composed_plans_with_at_model_run_name_and_search(qa_task):
    from harness.runs.runner import plan_strategies
    from strategies.finetune.hpsearch import check_search

    task = load_task(str(qa_task))
    models = {"served": {"backend": "vllm", "id": "x"}, "api": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1",
                                                                "id": "m"}}
    plan = plan_strategies(RunConfig(strategies=["rag+lora@served", "few-shot+full"], models=models), task)
    assert list(plan) == ["rag+lora@served", "few-shot+full"]  # trained here, served by vLLM (merged weights)
    with pytest.raises(HarnessError, match="trains on the model's weights"):
        plan_strategies(RunConfig(strategies=["rag+lora@api"], models=models), task)
    assert list(plan_strategies(RunConfig(strategies=["rag+lora"], finetune={"method": "ia3"}), task)) == ["rag+ia3"]
    searched = RunConfig(strategies=["rag", "rag+lora"], search={"strategy": "rag+lora", "params": ["lr", "r"]})
    check_search(searched, plan_strategies(searched, task))  # lora's rank, in rag+lora
    full = RunConfig(strategies=["rag+full"], search={"strategy": "rag+full", "params": ["r"]})
    with pytest.raises(HarnessError, match="rank"):
        check_search(full, plan_strategies(full, task))


def test_a_run_records_prompt_rag_and_rag_lora_with_both_setups_in_the_ledger(tmp_path, tiny_dir, qa_task, monkeypatch):
    from harness.runs.runner import run
    from harness.record.store import RunStore
    from strategies.rag.strategy import Rag

    build = Rag.prepare

    def slow_index(self, ctx):  # an index that took 100 s to build: far more than this run's wall time
        adapted = build(self, ctx)
        adapted.cost.setup_seconds = 100.0
        return adapted

    monkeypatch.setattr(Rag, "prepare", slow_index)

    folder = run(RunConfig.model_validate({
        "task": str(qa_task), "model": str(tiny_dir), "out": tmp_path / "runs", "max_new_tokens": 2,
        "strategies": ["prompt", "rag", "rag+lora"], "rag": {"top_k": 1, "format_demos": 0}, "finetune": TINY_TRAINING,
        "search": {"strategy": "rag+lora", "params": ["lr"], "trials": 2, "pruner_startup_trials": 2},
        "probes": {"items": 4, "counterfactual_pairs": 0, "perplexity": False}, "overfit_sample": 0}))
    record = RunStore.open(folder).read()
    assert record.status == "complete" and record.complete() == ["prompt", "rag", "rag+lora"]
    result = record.strategies["rag+lora"]
    assert result.cost.section(ComposedCost).setup_parts == {"rag": 100.0, "lora": pytest.approx(result.cost.setup_seconds - 100)}
    assert result.cost.setup_seconds >= 100 + result.training.train_seconds  # the index build plus the training
    ledger = record.cost_ledger.strategies
    assert ledger["rag+lora"].setup_seconds == result.cost.setup_seconds
    assert ledger["rag+lora"].setup_dollars > ledger["rag"].setup_dollars == pytest.approx(100 * 0.20 / 3600)
    assert result.training.method == "lora" and result.search.strategy == "rag+lora"  # --search rag+lora:lr
    assert len(result.search.trials) == 2
    assert result.forgetting_entries()  # the probes, scored as deployed on the trained weights
    assert result.retrieval  # rag's recall, measured on its rankings
    rows = [json.loads(line) for line in (folder / "predictions" / "rag-lora.jsonl").read_text().splitlines()]
    rag_rows = [json.loads(line) for line in (folder / "predictions" / "rag.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == [r["prompt"] for r in rag_rows] and all("Context:" in r["prompt"] for r in rows)
    assert (folder / "artifacts" / "rag-lora").is_dir() and "rag+lora" in (folder / "report.md").read_text()


def test_the_dry_run_estimates_the_index_build_and_the_training_on_rag_s_prompts(tmp_path, tiny_dir, qa_task, monkeypatch):
    from harness.config import build_config
    from harness.runs.dryrun import estimate
    from strategies.finetune.strategy import FineTune

    def trained(*a, **kw):
        raise AssertionError("the dry run trained a strategy")

    monkeypatch.setattr(FineTune, "prepare", trained)
    cfg = build_config({"task": str(qa_task), "model": str(tiny_dir), "max_new_tokens": 2, "out": tmp_path,
                        "strategies": "lora,rag+lora", "batch_size": 2, "rag": {"top_k": 1, "format_demos": 0},
                        "finetune": TINY_TRAINING})
    rows = {r["strategy"]: r for r in estimate(cfg)}
    composed, lora = rows["rag+lora"], rows["lora"]
    assert composed["complete"] and "of other setup (index, demonstrations)" in composed["note"]
    assert "with rag's prompts" in composed["note"]
    tokens = lambda row: int(row["note"].split("trains ")[1].split(" tokens")[0].replace(",", ""))  # noqa: E731
    assert tokens(composed) > tokens(lora)  # it trains on the longer, retrieval-augmented prompts
    assert composed["tokens_in_per_example"] > lora["tokens_in_per_example"]  # and is timed on them

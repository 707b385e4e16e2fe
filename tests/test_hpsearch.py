"""Hyperparameter search (optuna) on the tiny Llama: trials are scored on the validation split only, the test split
is predicted once (after the search), trials are recorded and reported, and a deliberately bad lr is pruned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import RunConfig, validate
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parent.parent
FT = {"max_train_examples": 4, "val_examples": 2, "eval_every": 1, "epochs": 1, "batch_size": 2}


def _config(tiny_dir, tmp_path, **search):
    return validate({"task": "summarization", "model": str(tiny_dir), "strategies": ["lora"], "limit": 8,
                     "max_new_tokens": 4, "overfit_sample": 0, "use_cache": False, "out": str(tmp_path / "runs"),
                     "probes": {"enabled": False}, "finetune": FT,
                     "latency_requests": 0,  # it sends test prompts again, one at a time: this test counts them
                     "search": {"strategy": "lora", "params": ["lr", "r"], "trials": 3} | search})


def test_search_never_touches_the_test_split_and_tests_once(tiny_dir, tmp_path, monkeypatch):
    import harness.backends.hf_generate
    import harness.strategy.prompted
    import strategies.finetune.hpsearch
    from harness.runs.runner import run
    from harness.tasks.load import load_task

    calls: list[tuple[bool, str]] = []  # (search finished?, prompt)
    state = {"searched": False}
    real_generate, real_search = harness.backends.hf_generate.generate, strategies.finetune.hpsearch.run_search

    def spy_generate(handle, prompts, **kw):
        calls.extend((state["searched"], p) for p in prompts)
        return real_generate(handle, prompts, **kw)

    def spy_search(*a, **kw):
        out = real_search(*a, **kw)
        state["searched"] = True
        return out

    monkeypatch.setattr(harness.backends.hf_generate, "generate", spy_generate)
    monkeypatch.setattr(strategies.finetune.hpsearch, "run_search", spy_search)
    run_dir = run(_config(tiny_dir, tmp_path))
    test_inputs = [ex.input for ex in load_task("summarization", limit=8).split("test")]
    during = [p for searched, p in calls if not searched]
    assert during, "the search's validations generate"
    assert not any(t in p for p in during for t in test_inputs)  # the search never saw a test example
    after = [p for searched, p in calls if searched]
    assert all(sum(t in p for p in after) == 1 for t in test_inputs)  # each test example predicted exactly once
    rec = json.loads((run_dir / "run.json").read_text())
    search = rec["strategies"]["lora"]["search"]
    assert len(search["trials"]) == 3 and search["split"] == "validation"
    for t in search["trials"]:
        assert set(t["params"]) == {"lr", "r"} and 1e-4 <= t["params"]["lr"] <= 3e-3 and t["params"]["r"] in (4, 8, 16, 32)
        assert t["state"] in ("complete", "pruned") and t["seconds"] > 0 and t["intermediate"]
    best = search["best"]
    assert rec["strategies"]["lora"]["training"]["lora"]["r"] == best["params"]["r"]  # the kept model is the best's
    assert rec["strategies"]["lora"]["training"]["lr"] == pytest.approx(best["params"]["lr"])
    cost = rec["strategies"]["lora"]["cost"]
    assert 0 < search["seconds"] <= cost["setup_seconds"] and cost["training"]["search_seconds"] == search["seconds"]
    md = (run_dir / "report.md").read_text()
    assert "## Hyperparameter search" in md and f"{search['seconds']:.0f} s" in md
    assert search["sampler"] == "TPE" and search["maximize"] is (search["objective"] != "val_loss")
    assert f"objective: {search['objective']} on {search['val_examples']} validation examples" in md
    html = (run_dir / "report.html").read_text()
    assert 'id="search"' in html and html.count("<svg") >= 2


def test_median_pruner_stops_a_deliberately_bad_learning_rate(tiny_dir, tmp_path, monkeypatch):
    import strategies.finetune.strategy as finetune_module
    from harness.backends.cache import NoCache
    from harness.strategy.context import RunContext
    from harness.backends.hf import load_generator
    from harness.registry import strategies
    from harness.tasks.load import load_task

    cfg = _config(tiny_dir, tmp_path, params=["lr"], lr=(1e-3, 1e3), pruner_startup_trials=2,
                  enqueue=[{"lr": 1e-2}, {"lr": 2e-2}, {"lr": 500.0}])
    cfg = cfg.model_copy(update={"finetune": cfg.finetune.model_copy(update={"monitor": "loss", "max_train_examples": 8,
                                                                             "epochs": 2})})
    ctx = RunContext(cfg, load_task("summarization", limit=8), load_generator(str(tiny_dir), device="cpu"), NoCache())
    made = []
    real = finetune_module.make_accelerator
    monkeypatch.setattr(finetune_module, "make_accelerator", lambda *a: made.append(real(*a)) or made[-1])
    search = strategies.get("lora")().prepare(ctx).details.search.model_dump()
    assert len(made) == 1 and not made[0]._models  # no trial's model outlives it in the accelerator (memory)
    trials = search["trials"]
    assert [t["params"]["lr"] for t in trials] == [1e-2, 2e-2, 500.0]
    assert [t["state"] for t in trials[:2]] == ["complete", "complete"]
    assert trials[2]["state"] == "pruned"
    assert len(trials[2]["intermediate"]) < len(trials[0]["intermediate"])  # stopped before the end
    assert search["best"]["number"] in (0, 1)


def _plan(*names):
    from harness.runs.strategy_steps import make_strategy

    return {name: make_strategy(name) for name in names}


def test_search_flag_and_config_errors_name_what_to_fix():
    from strategies.finetune.hpsearch import check_search, parse_search_flag

    assert parse_search_flag("lora:lr,r", 6) == {"trials": 6, "strategy": "lora", "params": ["lr", "r"]}
    with pytest.raises(HarnessError, match="STRATEGY:PARAM"):
        parse_search_flag("lora", None)
    with pytest.raises(HarnessError, match="cannot search dropout"):
        parse_search_flag("lora:lr,dropout", None)
    with pytest.raises(HarnessError, match="not among this run's strategies"):
        check_search(RunConfig(search={"strategy": "lora", "params": ["lr"]}), _plan("prompt"))
    with pytest.raises(HarnessError, match="trains nothing"):
        check_search(RunConfig(search={"strategy": "prompt", "params": ["lr"]}), _plan("prompt"))
    with pytest.raises(HarnessError, match="rank"):
        check_search(RunConfig(search={"strategy": "full", "params": ["r"]}), _plan("full"))
    with pytest.raises(HarnessError, match="lr range"):
        validate({"search": {"strategy": "lora", "params": ["lr"], "lr": [1e-2, 1e-4]}})


def test_cli_search_typo_exits_2(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--strategies", "lora", "--search", "lora:lr,rank",
                           "--out", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "cannot search rank" in done.stdout + done.stderr


def test_dry_run_counts_every_trial_of_a_search(tiny_handle, tmp_path, monkeypatch):
    from harness.backends.cache import NoCache
    from harness.strategy.context import RunContext
    from harness.registry import strategies
    from harness.tasks.load import load_task
    from strategies.finetune.strategy import FineTune

    # the timed steps at a fixed speed: on a shared CPU one timed step varies several-fold between calls
    monkeypatch.setattr(FineTune, "calibrate", lambda *a: (1000.0, 0.01))

    plain = RunConfig(finetune=FT | {"max_train_examples": 2})
    searched = plain.model_copy(update={"search": validate({"search": {"strategy": "lora", "params": ["lr"],
                                                                       "trials": 5}}).search})
    task = load_task("summarization", limit=8)
    one = strategies.get("lora")().estimate_setup(RunContext(plain, task, tiny_handle, NoCache()), 0.5)
    five = strategies.get("lora")().estimate_setup(RunContext(searched, task, tiny_handle, NoCache()), 0.5)
    assert one.seconds > 0 and five.seconds == pytest.approx(5 * one.seconds)  # 5 trials, not 1


def test_a_fine_tuning_strategy_the_search_does_not_name_trains_once_and_records_no_search(tiny_dir, tmp_path):
    """`search: {strategy: lora}` with ia3 in the same run: ia3 trains with the finetune settings, unsearched (its
    prepare once took the search settings for a search result)."""
    from harness.backends.cache import NoCache
    from harness.backends.hf import load_generator
    from harness.registry import strategies
    from harness.strategy.context import RunContext
    from harness.tasks.load import load_task
    from strategies.finetune.cost import TrainingCost

    cfg = _config(tiny_dir, tmp_path)
    ctx = RunContext(cfg, load_task("summarization", limit=8), load_generator(str(tiny_dir), device="cpu"), NoCache())
    adapted = strategies.get("ia3")().prepare(ctx)
    assert adapted.details.search is None and adapted.cost.section(TrainingCost).search_seconds is None
    assert adapted.details.training.method == "ia3"

from typer.testing import CliRunner

from harness.cli.main import app
from harness.config import build_config
from harness.runs.dryrun import estimate


def test_dry_run_calibrates_and_runs_nothing(tmp_path, tiny_dir):
    cfg = build_config({"task": "summarization", "model": str(tiny_dir), "limit": 4, "max_new_tokens": 4,
                        "strategies": "prompt,few-shot", "out": tmp_path, "batch_size": 2})
    rows = estimate(cfg)
    assert [r["strategy"] for r in rows] == ["prompt", "few-shot"]
    for r in rows:
        assert r["complete"] and r["seconds_per_example"] > 0 and r["setup_seconds"] >= 0
        assert r["examples"] == 4 + 2 + 2  # test, then train and ood samples at half the limit
        assert r["total_seconds"] >= r["predict_seconds"] > 0 and r["dollars"] > 0
    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4",
                                      "--max-new-tokens", "4", "--strategies", "prompt", "--out", str(tmp_path),
                                      "--dry-run", "--judge", "base"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and not any(tmp_path.iterdir())  # no run folder written
    assert "Not included: the judge's calls (base" in result.output  # an estimate says what it leaves out


def test_dry_run_estimates_fine_tuning_from_timed_steps(tmp_path, tiny_dir):
    cfg = build_config({"task": "summarization", "model": str(tiny_dir), "limit": 4, "max_new_tokens": 4,
                        "strategies": "prompt,lora", "out": tmp_path, "batch_size": 2,
                        "finetune": {"max_train_examples": 4, "val_examples": 2, "eval_every": 1}})
    lora = {r["strategy"]: r for r in estimate(cfg)}["lora"]
    assert lora["complete"] and lora["setup_seconds"] > 0  # training is estimated, not left out
    assert "/s (timed steps), 1 validation(s)" in lora["note"]  # 4 examples in one step of 4
    assert lora["total_seconds"] == lora["setup_seconds"] + lora["predict_seconds"]


def test_dry_run_estimates_every_strategy_that_declares_it_trains_and_prepares_none(tmp_path, tiny_dir, monkeypatch):
    from strategies.finetune.strategy import FineTune
    from strategies.finetune.dpo import DPO

    def trained(*a, **kw):
        raise AssertionError("the dry run trained a strategy")

    monkeypatch.setattr(FineTune, "prepare", trained)
    monkeypatch.setattr(DPO, "prepare", trained)
    cfg = build_config({"task": "summarization", "model": str(tiny_dir), "limit": 4, "max_new_tokens": 4,
                        "strategies": "ia3,prompt-tuning,dpo", "out": tmp_path, "batch_size": 2,
                        "finetune": {"max_train_examples": 4, "val_examples": 2, "eval_every": 1}})
    rows = {r["strategy"]: r for r in estimate(cfg)}
    for name in ("ia3", "prompt-tuning"):
        assert rows[name]["complete"] and "(timed steps)" in rows[name]["note"], rows[name]
    assert rows["dpo"]["note"] == "training time not estimated; predicts as the base model"
    assert rows["dpo"]["seconds_per_example"] == rows["ia3"]["seconds_per_example"]  # the base model's, timed once


def test_every_registered_strategy_keeps_the_strategy_contract():
    from harness.registry import strategies
    from harness.strategy.base import Strategy
    from strategies.finetune.strategy import FineTune

    registered = strategies.items()
    assert [cls.order for cls in registered.values()] == sorted(cls.order for cls in registered.values())
    for name, cls in registered.items():
        assert issubclass(cls, Strategy) and cls.name == name and cls.description
        assert cls.trains == issubclass(cls, FineTune)  # every fine-tuning strategy, ia3 and prompt-tuning included


def test_dry_run_prices_a_model_with_token_prices_by_its_tokens(tmp_path, tiny_dir):
    """An API model with per-token prices is estimated as the ledger will bill it: calibrated tokens per example
    at its prices (not the machine's hourly rate for the wall time); a local model stays per hour."""
    import pytest

    from tests.servers import ScriptedServer

    server = ScriptedServer()
    try:
        cfg = build_config({"task": "summarization", "model": str(tiny_dir), "limit": 4, "max_new_tokens": 4,
                            "strategies": "prompt,prompt@api", "out": tmp_path, "batch_size": 2,
                            "models": {"api": {"backend": "openai", "base_url": server.base_url, "id": "scripted",
                                               "tokenizer": str(tiny_dir), "context_length": 512,
                                               "prices": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}}})
        rows = {r["strategy"]: r for r in estimate(cfg)}
    finally:
        server.stop()
    api, local = rows["prompt@api"], rows["prompt"]
    assert api["priced"].startswith("per token") and local["priced"].startswith("per hour")
    assert api["tokens_in_per_example"] > 0 and api["tokens_out_per_example"] == 4  # the server's usage
    per_query = (api["tokens_in_per_example"] * 3.0 + api["tokens_out_per_example"] * 15.0) / 1e6
    assert api["dollars"] == pytest.approx(api["examples"] * per_query + api["setup_seconds"] * 0.20 / 3600)
    assert local["dollars"] == pytest.approx(local["total_seconds"] * 0.20 / 3600)

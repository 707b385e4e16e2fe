"""multitask-lora on the tiny in-process Llama: one adapter trained once for all the suite's tasks, reused by every
task (not retrained), its training charged once across the suite, and a clear error outside a suite."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness.cli.main import app


def _suite(tmp_path, tiny_dir, *extra):
    result = CliRunner().invoke(app, ["run", "--suite", "default", "--model", str(tiny_dir), "--limit", "6",
                                      "--strategies", "lora,multitask-lora", "--max-new-tokens", "4", "--no-probes", "--seed", "11",
                                      "--out", str(tmp_path), *extra])
    assert result.exit_code == 0, result.output
    suite_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    runs = {json.loads((p / "run.json").read_text())["task"]["name"]: json.loads((p / "run.json").read_text())
            for p in suite_dir.iterdir() if (p / "run.json").exists()}
    return suite_dir, runs


def test_one_adapter_is_trained_once_for_the_suite_and_reused_by_every_task(tmp_path, tiny_dir, monkeypatch):
    from strategies.finetune import multitask

    trained = []
    original = multitask.MultitaskLoRA.train_shared
    monkeypatch.setattr(multitask.MultitaskLoRA, "train_shared",
                        lambda self, ctx, tasks, folder: trained.append([t.name for t in tasks]) or original(self, ctx, tasks, folder))
    suite_dir, runs = _suite(tmp_path, tiny_dir)
    assert trained == [["summarization", "qa", "classification"]]  # once, on all three tasks
    mt = {name: run["strategies"]["multitask-lora"] for name, run in runs.items()}
    assert len({r["fingerprint"] for r in mt.values()}) == 1  # the same weights answer every task
    training = mt["qa"]["training"]
    # each task contributes the very sample its own lora run trains on
    for name, run in runs.items():
        assert training["tasks"][name]["train_examples"] == run["strategies"]["lora"]["training"]["train_examples"]
    assert training["train_examples"] == sum(t["train_examples"] for t in training["tasks"].values())
    shared = [r["cost"]["shared_setup"] for r in mt.values()]
    assert [s["trained_in_this_run"] for s in shared].count(True) == 1
    charged = sum(r["cost"]["setup_seconds"] for r in mt.values())
    assert shared[0]["train_seconds"] <= charged < shared[0]["train_seconds"] + 60  # counted once, not three times
    page = (suite_dir / "suite.md").read_text()
    assert "One adapter or one per task" in page and "multitask-lora − lora" in page
    assert 'id="multitask"' in (suite_dir / "suite.html").read_text()


def test_a_second_suite_reuses_the_cached_adapter(tmp_path, tiny_dir, monkeypatch):
    from strategies.finetune import multitask

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))  # its own cache: the first suite trains the adapter
    _, first = _suite(tmp_path / "a", tiny_dir)
    trainer = next(r["run_id"] for r in first.values()
                   if r["strategies"]["multitask-lora"]["cost"]["shared_setup"]["trained_in_this_run"])
    monkeypatch.setattr(multitask.MultitaskLoRA, "train_shared", lambda *a: (_ for _ in ()).throw(AssertionError("retrained")))
    suite_dir, runs = _suite(tmp_path / "b", tiny_dir)
    assert not any(r["strategies"]["multitask-lora"]["cost"]["shared_setup"]["trained_in_this_run"]
                   for r in runs.values())
    # the charge is the earlier training's, and says so: whose, and how long it took
    for run in runs.values():
        cost = run["strategies"]["multitask-lora"]["cost"]
        seconds = cost["shared_setup"]["train_seconds"]
        assert cost["setup_source"] == "reused"
        assert cost["setup_note"].startswith(f"reused: trained in run {trainer}, {seconds:.1f} s")
    page = (next(p for p in suite_dir.iterdir() if (p / "report.md").exists()) / "report.md").read_text()
    assert f"reused: trained in run {trainer}" in page


def test_multitask_outside_a_suite_without_tasks_is_a_clear_error_before_any_model_work(tmp_path, tiny_dir,
                                                                                          monkeypatch, capsys):
    import harness.backends
    from harness.cli.main import main

    monkeypatch.setattr(harness.backends, "load_backend", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    monkeypatch.setattr("sys.argv", ["harness", "run", "--task", "qa", "--model", str(tiny_dir), "--limit", "4",
                                     "--strategies", "multitask-lora", "--no-probes", "--out", str(tmp_path)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    text = " ".join((out.out + out.err).split())
    assert code == 2
    assert "multitask-lora trains one adapter on several tasks" in text and "--suite" in text

"""Issue 14, hostile input: each case ends in a clear error (exit 2, naming the place and what to do) or is right,
and none leaves a traceback or a run folder marked `running`."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from conftest import write_jsonl
from harness.config import build_config
from harness.yamlfile import read_yaml
from harness.errors import HarnessError
from harness.record.store import RunStore
from runfixtures import make_run
from test_bad_input import cli, flat
from test_check import make_baseline
from test_interrupt import _signal_after_first_batch, _start, _tiny_args

ROOT = Path(__file__).resolve().parent.parent


def _no_model(monkeypatch):
    """Any model load fails the test: the error must come before it."""
    import harness.backends

    def refuse(*a, **k):
        raise AssertionError("the model was loaded before the bad input was found")

    monkeypatch.setattr(harness.backends, "load_backend", refuse)


def _data(tmp_path: Path, test_rows: list, train_rows: list | None = None) -> list[str]:
    train = write_jsonl(tmp_path / "train.jsonl", train_rows or [{"id": "t0", "input": "a b", "reference": "a"},
                                                                 {"id": "t1", "input": "c d", "reference": "c"}])
    test = write_jsonl(tmp_path / "test.jsonl", test_rows)
    return ["--data", f"train={train}", "--data", f"test={test}"]


# ------------------------------------------------------------------------------------------ tracebacks -> errors


def test_empty_reference_list_is_named_before_the_model_loads(monkeypatch, capsys, tmp_path, tiny_dir):
    _no_model(monkeypatch)
    rows = [{"id": "ok", "input": "x y", "reference": "x"}, {"id": "bad", "input": "z", "reference": []}]
    code, out = cli(monkeypatch, capsys, "run", *_data(tmp_path, rows), "--model", str(tiny_dir),
                    "--strategies", "prompt", "--out", str(tmp_path / "runs"))
    # the loader names it (file and line); preflight.check_task catches what other sources build
    assert code == 2 and "test.jsonl:2: field 'reference' is an empty list" in out
    assert not (tmp_path / "runs").exists()  # found before the run folder was made


def test_metrics_score_an_example_without_references_zero_instead_of_crashing():
    from harness.measure.metrics import macro_f1, score

    assert score(["rougeL", "rouge1", "token_f1", "exact_match"], "an answer", []) == {
        "rougeL": 0.0, "rouge1": 0.0, "token_f1": 0.0, "exact_match": 0.0}
    assert macro_f1(["a", "b"], [["a"], []]) == 0.5  # the empty gold counts as a label never predicted


def test_rich_markup_in_user_strings_is_printed_verbatim(monkeypatch, capsys, tmp_path, tiny_dir):
    code, out = cli(monkeypatch, capsys, "run", "--task", "[/]")
    assert code == 2 and "Unknown task '[/]'" in out
    code, out = cli(monkeypatch, capsys, "run", "--model", str(tiny_dir), "--strategies", "[/x]", "--limit", "2")
    assert code == 2 and "Unknown strategy '[/x]'" in out
    code, out = cli(monkeypatch, capsys, "run", "--data", "test=set[red]/test.jsonl")
    assert code == 2 and "set[red]/test.jsonl" in out


def test_head_with_one_label_in_the_training_data_is_a_clear_error(monkeypatch, capsys, tmp_path, tiny_dir):
    _no_model(monkeypatch)
    train = [{"id": f"t{i}", "input": f"good film {i}", "reference": "1"} for i in range(4)]
    test = [{"id": "e0", "input": "bad film", "reference": "0"}, {"id": "e1", "input": "good film", "reference": "1"}]
    code, out = cli(monkeypatch, capsys, "run", *_data(tmp_path, test, train), "--labels", "0=negative,1=positive",
                    "--model", str(tiny_dir), "--strategies", "head", "--out", str(tmp_path / "runs"))
    assert code == 2 and "only label '1'" in out and "at least two labels" in out and "leave `head` out" in out


def test_unknown_device_is_rejected_by_the_config(monkeypatch, capsys):
    with pytest.raises(HarnessError, match="field 'device': .*unknown device 'tpu'"):
        build_config({"device": "tpu"})
    for ok in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert build_config({"device": ok}).device == ok
    code, out = cli(monkeypatch, capsys, "run", "--device", "tpu")
    assert code == 2 and "cuda:N" in out


def test_a_model_folder_without_a_model_says_what_it_must_hold(monkeypatch, capsys, tmp_path, tiny_dir):
    from harness.backends.hf import load_generator

    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = cli(monkeypatch, capsys, "run", "--model", str(empty), "--limit", "2", "--out", str(tmp_path / "r"))
    assert code == 2 and "config.json" in out and "tokenizer" in out and "safetensors" in out
    no_tokenizer = tmp_path / "no-tokenizer"  # the loader's own failure is caught too
    no_tokenizer.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(tiny_dir / f, no_tokenizer / f)
    with pytest.raises(HarnessError, match="Could not load model") as err:
        load_generator(str(no_tokenizer), device="cpu")
    assert "tokenizer files" in err.value.hint


@pytest.mark.parametrize("content", ["[]", "{}", '{"status": "running", "strategies": {}}'])
def test_resume_of_a_run_json_that_is_not_a_run_record(monkeypatch, capsys, tmp_path, content):
    (tmp_path / "run.json").write_text(content)
    code, out = cli(monkeypatch, capsys, "run", "--resume", str(tmp_path))
    assert code == 2 and "run.json" in flat(out) and flat("not a run record") in flat(out)


def test_report_of_an_empty_run_json(monkeypatch, capsys, tmp_path):
    (tmp_path / "run.json").write_text("{}")
    code, out = cli(monkeypatch, capsys, "report", str(tmp_path))
    assert code == 2 and flat("not a run record") in flat(out)


def test_report_of_a_run_that_stopped_before_its_task_loaded(monkeypatch, capsys, tmp_path):
    from harness.config import RunConfig
    from harness.record.run_record import RunRecord

    store = RunStore(tmp_path)
    store.write(RunRecord(run_id="r", status="failed", created="2026-01-01T00:00:00+00:00", config=RunConfig()))
    code, out = cli(monkeypatch, capsys, "report", str(tmp_path))
    assert code == 2 and flat("no 'task' field") in flat(out) and flat("harness run --resume") in flat(out)


def test_a_bad_line_in_predictions_is_named_on_resume_and_the_run_marked_failed(tmp_path, tiny_dir):
    """Two real processes: a run killed after its first batch, then resumed over a hand-edited predictions file."""
    args = _tiny_args(tiny_dir)
    proc = _start([*args, "--out", str(tmp_path / "runs")], tmp_path / "cache")
    run_dir = _signal_after_first_batch(proc, tmp_path / "runs", signal.SIGKILL)
    proc.communicate(timeout=60)
    # the first batch may hold only train-sample or ood rows (batches follow input length across splits)
    predictions = sorted((run_dir / "predictions").glob("*.jsonl"))[0]
    good = predictions.read_text().splitlines(keepends=True)
    predictions.write_text(good[0] + "null\n" + '{"foo": 1}\n' + "".join(good[1:]))
    resumed = _start(["--resume", str(run_dir)], tmp_path / "cache")
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 2, output[-3000:]
    assert flat(f"{predictions}:2: not a prediction row") in flat(output)
    assert "Delete that line" in output and "Traceback" not in output
    record = RunStore.open(run_dir).read()
    assert record.status == "failed" and f"{predictions.name}:2" in record.error.message
    predictions.write_text("".join(good))  # what the error says to do
    again = _start(["--resume", str(run_dir)], tmp_path / "cache")
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output[-3000:]
    record = RunStore.open(run_dir).read()
    assert record.status == "complete" and record.error is None


def _garbage_cache(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cache.sqlite").write_bytes(b"this is not a database " * 100)


def test_a_corrupt_cache_is_moved_aside_and_rebuilt(monkeypatch, capsys, tmp_path):
    from harness.backends.cache import Cache

    root = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE", str(root))
    _garbage_cache(root)
    code, out = cli(monkeypatch, capsys, "cache", "info")
    assert code in (0, None) and "not a usable database" in out and "moved it aside" in out
    assert len(list(root.glob("cache.sqlite.corrupt-*"))) == 1
    _garbage_cache(root)
    code, out = cli(monkeypatch, capsys, "cache", "clear", "--yes")
    assert code in (0, None) and "Removed 0 entries" in out
    cache = Cache()
    cache.put_many("generation", {"k": 1})
    assert cache.get_many("generation", ["k"]) == {"k": 1}
    cache.close()


def test_a_cache_folder_that_cannot_be_written(monkeypatch, capsys, tmp_path):
    from harness.backends.cache import RunCache, open_run_cache

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HARNESS_CACHE", str(blocker / "cache"))
    code, out = cli(monkeypatch, capsys, "cache", "info")
    assert code == 2 and "Cannot open the cache" in out and "HARNESS_CACHE" in out
    assert isinstance(open_run_cache(True), RunCache)  # a run goes on, in memory
    assert "keeps its results in memory only" in " ".join(capsys.readouterr().err.split())


def test_a_baseline_with_missing_fields_is_named_and_list_shows_the_others(monkeypatch, capsys, tmp_path):
    folder = tmp_path / "baselines"
    make_baseline(folder, {"prompt": {"e1": {"rougeL": 0.5, "rouge1": 0.5}}}, name="good")
    bad = make_baseline(folder, {"prompt": {"e1": {"rougeL": 0.5, "rouge1": 0.5}}}, name="bad")
    record = json.loads((bad / "baseline.json").read_text())
    del record["task"]
    (bad / "baseline.json").write_text(json.dumps(record))
    run_dir = make_run(tmp_path / "runs", {"prompt": {"scores": [0.5]}}, metric="rougeL", task="summarization").path
    code, out = cli(monkeypatch, capsys, "check", "--baseline", "bad", "--dir", str(folder), "--run", str(run_dir))
    assert code == 2 and "field 'task' is missing" in out and "baseline.json" in flat(out) and "Traceback" not in out
    code, out = cli(monkeypatch, capsys, "baseline", "list", "--dir", str(folder))
    assert code in (0, None) and "good" in out and "Unreadable baseline 'bad'" in out and "field 'task'" in out


# ------------------------------------------------------------------------------------- silently wrong -> error


def test_max_new_tokens_beyond_the_context_window_is_an_error(monkeypatch, capsys, tmp_path, tiny_dir):
    code, out = cli(monkeypatch, capsys, "run", "--model", str(tiny_dir), "--strategies", "prompt", "--limit", "2",
                    "--max-new-tokens", "100000", "--out", str(tmp_path / "runs"))
    assert code == 2 and "--max-new-tokens 100000" in out and "context window (512 tokens)" in out
    (run_dir,) = (tmp_path / "runs").iterdir()  # the model had to load to know its window: the folder says failed
    record = RunStore.open(run_dir).read()
    assert record.status == "failed" and "100000" in record.error.message


@pytest.mark.parametrize("given", ["", ",,"])
def test_no_strategy_given_is_an_error_listing_the_strategies(monkeypatch, capsys, tmp_path, given):
    _no_model(monkeypatch)
    code, out = cli(monkeypatch, capsys, "run", "--strategies", given, "--out", str(tmp_path / "runs"))
    assert code == 2 and "No strategy given" in out and "prompt" in out and "few-shot" in out
    assert not (tmp_path / "runs").exists()


def test_a_second_process_cannot_work_in_a_running_run_folder(tmp_path, tiny_dir):
    """Two real processes: a resume while the run is still going gets an error naming the folder and the pid;
    the running one finishes with every example predicted once."""
    args = _tiny_args(tiny_dir)  # with the probes: long enough for a second process to start meanwhile
    first = _start([*args, "--out", str(tmp_path / "runs")], tmp_path / "cache")
    deadline = time.monotonic() + 300
    while not list((tmp_path / "runs").glob("*/.lock")) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    (run_dir,) = (tmp_path / "runs").iterdir()
    second = _start(["--resume", str(run_dir)], tmp_path / "cache")
    output, _ = second.communicate(timeout=300)
    first_output, _ = first.communicate(timeout=300)
    assert second.returncode == 2, output[-3000:]
    assert "is in use by another harness process" in output and f"pid {first.pid}" in output
    assert first.returncode == 0, first_output[-3000:]
    record = RunStore.open(run_dir).read()
    assert record.status == "complete"
    for name in ("prompt", "few-shot"):
        ids = [json.loads(line)["example_id"] for line in (run_dir / "predictions" / f"{name}.jsonl").open()]
        assert len(ids) == len(set(ids)) == 10


def test_non_finite_numbers_are_rejected_in_config(monkeypatch, capsys, tmp_path):
    with pytest.raises(HarnessError, match="field 'decision.monthly_queries': Input should be a finite number"):
        build_config({"decision": {"monthly_queries": float("inf")}})
    with pytest.raises(HarnessError, match="finite"):
        build_config({"decision": {"prices": {"cpu_per_hour": float("nan")}}})
    store = make_run(tmp_path, {"a": {"scores": [1, 0, 1]}, "b": {"scores": [0, 0, 1]}})
    code, out = cli(monkeypatch, capsys, "report", str(store.path), "--monthly-queries", "inf")
    assert code == 2 and "finite" in out
    assert "Infinity" not in store.record_path.read_text()


@pytest.mark.parametrize("text", ["false\n", "0\n", "---\n", "null\n", "~\n", "just words\n"])
def test_a_yaml_config_that_is_not_a_mapping_is_rejected(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(HarnessError, match="must hold a mapping of settings"):
        read_yaml(path)


def test_an_empty_yaml_config_is_no_settings(tmp_path):
    path = tmp_path / "run.yaml"
    for text in ("", "\n\n", "# only a comment\n"):
        path.write_text(text)
        assert read_yaml(path) == {}


def test_data_inputs_are_checked_before_the_run_folder_and_the_model(monkeypatch, capsys, tmp_path, tiny_dir):
    _no_model(monkeypatch)
    out_dir = tmp_path / "runs"
    code, out = cli(monkeypatch, capsys, "run", "--data", "train=", "--data", "eval=", "--model", str(tiny_dir),
                    "--out", str(out_dir))
    assert code == 2 and "--data" in out and "names no file" in out
    data = _data(tmp_path, [{"id": "e", "input": "x", "reference": "y"}])
    code, out = cli(monkeypatch, capsys, "run", "--data", data[1], "--data", data[3].replace("test=", "eval="),
                    "--model", str(tiny_dir), "--out", str(out_dir))
    assert code == 2 and "Unknown split 'eval'" in out and "test" in out
    code, out = cli(monkeypatch, capsys, "run", "--data", f"test={tmp_path / 'missing.jsonl'}", "--model",
                    str(tiny_dir), "--out", str(out_dir))
    assert code == 2 and "file not found" in out
    assert not out_dir.exists()


def test_an_error_after_the_run_started_marks_it_failed_not_running(monkeypatch, capsys, tmp_path, tiny_dir):
    import harness.runs.runner

    def boom(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(harness.runs.runner, "run_strategy", boom)
    with pytest.raises(RuntimeError):
        cli(monkeypatch, capsys, "run", "--model", str(tiny_dir), "--strategies", "prompt", "--limit", "2",
            "--no-probes", "--out", str(tmp_path / "runs"))
    (run_dir,) = (tmp_path / "runs").iterdir()
    record = RunStore.open(run_dir).read()
    assert record.status == "failed" and record.error.message == "disk on fire"

"""Full disks (ENOSPC simulated at the write): a clear error naming the path, the run marked failed (or the cache
dropped), no temporary files left, and `--resume` after freeing space ends with the metrics of an uninterrupted run."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.record.store import RunStore

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _config(tiny_dir: Path, out: Path, **extra):
    from harness.config import validate

    return validate({"task": "summarization", "model": str(tiny_dir), "strategies": ["prompt", "few-shot"],
                     "limit": 6, "batch_size": 2, "max_new_tokens": 6, "seed": 3, "out": str(out), "device": "cpu",
                     "use_cache": False, **extra})


def _metrics(run_dir: Path) -> dict:
    record = RunStore.open(run_dir).read()
    assert record.status == "complete"
    return {name: {m: s.value for m, s in r.metrics["test"].items()} for name, r in record.strategies.items()}


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp" in p.name]


def _fill_disk_after(monkeypatch, writes_ok: int, only=lambda path: True):
    """From the (writes_ok + 1)-th fsync of a matching file on, the disk is full: ENOSPC, as a file system with
    delayed allocation reports it (the bytes were accepted, the flush fails)."""
    import os

    real, seen = os.fsync, {"n": 0}

    def fsync(fd):
        if only(os.readlink(f"/proc/self/fd/{fd}")):
            seen["n"] += 1
            if seen["n"] > writes_ok:
                raise OSError(ENOSPC.errno, ENOSPC.strerror)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_while_writing_predictions_fails_the_run_cleanly_and_resume_loses_nothing(tiny_dir, tmp_path,
                                                                                              monkeypatch):
    from harness.runs.runner import run

    expected = _metrics(run(_config(tiny_dir, tmp_path / "clean")))
    _fill_disk_after(monkeypatch, 2, only=lambda path: path.endswith(".jsonl") and "/runs/" in path)
    with pytest.raises(HarnessError) as exc:
        run(_config(tiny_dir, tmp_path / "runs"))
    assert "no space left" in exc.value.message and "predictions" in exc.value.message
    run_dir = next((tmp_path / "runs").iterdir())
    assert str(run_dir / "predictions") in exc.value.message
    record = RunStore.open(run_dir).read()
    assert record.status == "failed" and "no space left" in record.error.message
    assert _leftovers(tmp_path) == []
    for path in (run_dir / "predictions").glob("*.jsonl"):
        assert path.read_bytes().endswith(b"\n") or path.stat().st_size == 0  # whole rows only
    monkeypatch.undo()  # space freed
    assert _metrics(run(_config(tiny_dir, tmp_path / "runs"), resume=run_dir)) == expected


def test_when_run_json_cannot_be_written_either_the_disk_error_still_reaches_the_user(tiny_dir, tmp_path,
                                                                                      monkeypatch, capsys):
    from harness.runs.runner import run

    _fill_disk_after(monkeypatch, 3, only=lambda path: "/runs/" in path)  # run.json twice, one batch, then full
    with pytest.raises(HarnessError, match="no space left") as failure:
        run(_config(tiny_dir, tmp_path / "runs"))
    assert _leftovers(tmp_path) == []
    run_dir = next((tmp_path / "runs").iterdir())
    assert str(run_dir) in failure.value.message  # the path that ran out of space
    status = RunStore.open(run_dir).read().status
    err = " ".join(capsys.readouterr().err.split())
    # the failure could not be recorded either: run.json stays `running`, and the console says so
    assert status == "failed" or (status == "running" and "could not mark the run failed" in err)
    monkeypatch.undo()
    expected = _metrics(run(_config(tiny_dir, tmp_path / "clean")))
    assert _metrics(run(_config(tiny_dir, tmp_path / "runs"), resume=run_dir)) == expected


def test_a_cache_that_fills_up_mid_run_is_dropped_with_a_warning(tiny_dir, tmp_path, monkeypatch, capsys):
    from harness.backends import cache as cache_mod
    from harness.runs.runner import run

    expected = _metrics(run(_config(tiny_dir, tmp_path / "clean")))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    real_open = cache_mod.Cache._open

    def small_disk(self):
        db = real_open(self)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own "database or disk is full"
        return db

    monkeypatch.setattr(cache_mod.Cache, "_open", small_disk)
    capsys.readouterr()
    run_dir = run(_config(tiny_dir, tmp_path / "runs", use_cache=True))
    assert _metrics(run_dir) == expected
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot write the cache" in err and "goes on without it" in err and str(tmp_path / "cache") in err


def test_the_cache_keeps_a_batch_it_could_not_store_for_the_rest_of_the_run(tmp_path):
    from harness.backends.cache import Cache

    cache = Cache(tmp_path / "cache.sqlite")
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count = {pages}")
    cache.put_many("generation", {f"k{i}": "x" * 2000 for i in range(50)})  # does not fit: no exception
    assert cache.get_many("generation", ["k0", "k49", "other"]) == {"k0": "x" * 2000, "k49": "x" * 2000}
    with pytest.raises(sqlite3.OperationalError):
        cache._db.execute("INSERT INTO entries (ns, key, value) VALUES ('a', 'b', ?)", ["y" * 100000])
    cache.close()


def test_a_full_disk_while_converting_the_model_leaves_no_temp_folder(tiny_dir, tmp_path, monkeypatch):
    import transformers

    from harness.backends.hf import convert_gguf

    real = {cls: cls.from_pretrained for cls in (transformers.AutoTokenizer, transformers.AutoModelForCausalLM,
                                                  transformers.AutoConfig)}
    def reader(load):
        def from_pretrained(folder, *args, gguf_file=None, **kwargs):
            return load(tiny_dir if gguf_file else folder, *args, **kwargs)
        return from_pretrained

    for cls, load in real.items():  # the GGUF reader stood in for by the tiny model's folder
        monkeypatch.setattr(cls, "from_pretrained", reader(load))

    def full(self, folder, **kwargs):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_bytes(b"\0" * 1000)  # part of it landed
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", full)
    target = tmp_path / "models" / "smollm2"
    with pytest.raises(HarnessError) as exc:
        convert_gguf(tmp_path, "x.gguf", target)
    assert str(target) in exc.value.message and "no space left" in exc.value.message
    assert "HARNESS_MODELS" in exc.value.hint
    assert not target.exists() and list((tmp_path / "models").iterdir()) == []

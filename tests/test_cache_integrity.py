"""The local cache and fingerprints never serve another model's or another strategy's answers (issue #22, part E)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from harness.errors import HarnessError


def test_weights_rewritten_in_place_with_the_mtime_restored_get_a_new_fingerprint(tmp_path):
    from harness.backends.hf import directory_fingerprint

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    weights = folder / "model.safetensors"
    weights.write_bytes(b"\x01" * 4096)
    before = weights.stat()
    first = directory_fingerprint(folder)
    with weights.open("r+b") as f:  # same size, same inode, other bytes
        f.write(b"\x02" * 4096)
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert weights.stat().st_mtime_ns == before.st_mtime_ns and weights.stat().st_size == before.st_size
    assert directory_fingerprint(folder) != first
    assert directory_fingerprint(folder) == directory_fingerprint(folder)  # and it is still memoised


def test_strategy_names_that_map_to_one_file_collide_with_a_clear_error(tmp_path):
    from harness.record.store import RunStore, check_distinct_files

    with pytest.raises(HarnessError, match="same predictions file") as exc:
        check_distinct_files(["prompt@x y", "prompt@x-y"])
    assert "prompt@x y" in exc.value.message and "prompt@x-y" in exc.value.message
    check_distinct_files(["prompt@a", "prompt@b", "prompt"])
    store = RunStore.create(tmp_path, "t")
    store.append_predictions("prompt@x y", "test", [{"example_id": "1", "scores": {}}])
    with pytest.raises(HarnessError, match="same predictions file"):
        store.append_predictions("prompt@x-y", "test", [{"example_id": "2", "scores": {}}])
    assert [r["example_id"] for r in store.read_predictions("prompt@x y")] == ["1"]


def test_a_run_whose_strategies_share_a_file_name_stops_before_any_model_work(tiny_dir, tmp_path):
    from harness.runs.runner import run
    from harness.config import validate

    models = {name: {"backend": "hf", "id": str(tiny_dir)} for name in ("x y", "x-y")}
    cfg = validate({"task": "summarization", "model": str(tiny_dir), "models": models, "limit": 2,
                    "strategies": ["prompt@x y", "prompt@x-y"], "out": str(tmp_path / "runs"), "device": "cpu",
                    "max_new_tokens": 2, "use_cache": False})
    with pytest.raises(HarnessError, match="same predictions file"):
        run(cfg)


def _garbage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database " * 100)


def test_two_corruptions_in_one_second_keep_both_moved_aside_files(tmp_path, monkeypatch):
    import harness.backends.cache as cache_mod

    monkeypatch.setattr(cache_mod.time, "strftime", lambda fmt, *a: "20260101-000000")  # one second, twice
    path = tmp_path / "cache.sqlite"
    contents = []
    for n in range(3):
        _garbage(path)
        path.write_bytes(f"garbage number {n} ".encode() * 50)
        contents.append(path.read_bytes())
        cache_mod.Cache(path).close()
    aside = sorted(tmp_path.glob("cache.sqlite.corrupt-*"))
    assert len([p for p in aside if not p.name.endswith(("-wal", "-shm"))]) == 3
    assert sorted(p.read_bytes() for p in aside if not p.name.endswith(("-wal", "-shm"))) == sorted(contents)


def test_a_cache_with_another_schema_is_moved_aside_and_rebuilt(tmp_path, monkeypatch, capsys):
    from harness.cli.main import app
    from typer.testing import CliRunner

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    db.execute("CREATE TABLE entries (id INTEGER, payload BLOB)")
    db.execute("INSERT INTO entries VALUES (1, 'x')")
    db.commit()
    db.close()
    result = CliRunner().invoke(app, ["cache", "info"])
    assert result.exit_code == 0, result.output
    assert "no such column" not in result.output and "moved it aside" in " ".join(result.output.split())
    assert len(list(tmp_path.glob("cache.sqlite.corrupt-*"))) == 1
    from harness.backends.cache import Cache

    cache = Cache()
    cache.put_many("generation", {"k": 1})
    assert cache.get_many("generation", ["k"]) == {"k": 1}
    cache.close()

"""A content-addressed SQLite cache (WAL mode): generations, log-likelihoods and embeddings.

Keys hash everything that determines the value (model and adapter fingerprints, the exact prompt, the settings),
so a re-run with nothing changed does no model work, and an interrupted run resumes from what it computed.

A cache file that is not a database (corrupt, truncated, overwritten) is moved aside with a warning and rebuilt:
it only ever holds what can be computed again. A cache folder that cannot be written is an error for
`harness cache`, and a run falls back to an in-memory cache with a warning (`open_run_cache`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.models import cache_root

_CORRUPT = ("file is not a database", "database disk image is malformed")


def key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else cache_root() / "cache.sqlite"
        self._lock = threading.Lock()
        try:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if not any(text in str(exc) for text in _CORRUPT):
                    raise
                self._db = self._rebuild(exc)
        except (OSError, sqlite3.Error) as exc:
            raise HarnessError(f"Cannot open the cache {self.path}: {exc}.",
                               hint="Point HARNESS_CACHE at a folder you can write to (or run with --no-cache).") from exc

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries (ns TEXT, key TEXT, value TEXT, created REAL DEFAULT (julianday('now')),"
                " PRIMARY KEY (ns, key))"
            )
            db.commit()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _rebuild(self, exc: Exception) -> sqlite3.Connection:
        """Move a corrupt cache file (and its WAL and shared-memory files) aside and start an empty one."""
        from harness.console import console, escape

        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.replace(aside.with_name(aside.name + suffix))
        console.print(f"[yellow]Warning:[/] the cache {escape(str(self.path))} was not a usable database ({escape(str(exc))}); "
                      f"moved it aside to {escape(str(aside))} and started an empty cache (results are computed again).")
        return self._open()

    def get_many(self, ns: str, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM entries WHERE ns=? AND key IN ({marks})", [ns, *chunk])
                found.update((k, json.loads(v)) for k, v in rows)
        return found

    def put_many(self, ns: str, items: dict[str, Any]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO entries (ns, key, value) VALUES (?, ?, ?)",
                [(ns, k, json.dumps(v)) for k, v in items.items()],
            )
            self._db.commit()

    def info(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT ns, COUNT(*), SUM(LENGTH(value)) FROM entries GROUP BY ns").fetchall()
        return {
            "path": str(self.path),
            "bytes": sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*")),
            "namespaces": {ns: {"entries": n, "value_bytes": b or 0} for ns, n, b in rows},
        }

    def clear(self, ns: str | None = None) -> int:
        with self._lock:
            cur = self._db.execute("DELETE FROM entries" + (" WHERE ns=?" if ns else ""), [ns] if ns else [])
            self._db.commit()
            self._db.execute("VACUUM")
        return cur.rowcount

    def close(self) -> None:
        self._db.close()


def open_run_cache(use_cache: bool) -> "Cache":
    """A run's cache: the persistent one, or (`--no-cache`, or a cache that cannot be opened) one kept in memory."""
    if not use_cache:
        return RunCache()
    try:
        return Cache()
    except HarnessError as exc:
        from harness.console import console, escape

        console.print(f"[yellow]Warning:[/] {escape(exc.message)} This run keeps its results in memory only "
                      "(nothing is reused from earlier runs or kept after this one).")
        return RunCache()


class RunCache(Cache):
    """`--no-cache`: nothing is read from earlier runs or kept after this one, but what this run computes is shared
    within it (the base model's probes and the zero-shot strategy score the same items)."""

    def __init__(self):  # noqa: D107 - nothing to open
        self.path = Path(":memory:")
        self._data: dict[str, dict[str, Any]] = {}

    def get_many(self, ns: str, keys: list[str]) -> dict[str, Any]:
        have = self._data.get(ns, {})
        return {k: have[k] for k in keys if k in have}

    def put_many(self, ns: str, items: dict[str, Any]) -> None:
        self._data.setdefault(ns, {}).update(items)

    def close(self) -> None:
        self._data.clear()


class NoCache(Cache):
    """`--no-cache`: every lookup misses and nothing is stored."""

    def __init__(self):  # noqa: D107 - nothing to open
        self.path = Path("/dev/null")

    def get_many(self, ns: str, keys: list[str]) -> dict[str, Any]:
        return {}

    def put_many(self, ns: str, items: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None

"""A content-addressed SQLite cache (WAL mode): generations, log-likelihoods and embeddings.

Keys hash everything that determines the value (model and adapter fingerprints, the exact prompt, the settings),
so a re-run with nothing changed does no model work, and an interrupted run resumes from what it computed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from harness.models import cache_root


def key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else cache_root() / "cache.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (ns TEXT, key TEXT, value TEXT, created REAL DEFAULT (julianday('now')),"
            " PRIMARY KEY (ns, key))"
        )
        self._db.commit()

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

"""A content-addressed SQLite cache (WAL mode): generations, log-likelihoods and embeddings.

Keys hash everything that determines the value (model and adapter fingerprints, the exact prompt, the settings),
so a re-run with nothing changed does no model work, and an interrupted run resumes from what it computed.

A cache file that is not a database (corrupt, truncated, overwritten) is moved aside with a warning and rebuilt:
it only ever holds what can be computed again. A cache folder that cannot be written is an error for
`harness cache`, and a run falls back to an in-memory cache with a warning (`open_run_cache`).
"""

from __future__ import annotations

import hashlib
import os
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.redact import redact

_CORRUPT = ("file is not a database", "database disk image is malformed")
_COLUMNS = {"ns", "key", "value", "created"}


class _OtherSchema(sqlite3.DatabaseError):
    """A database, but not this cache's (another program's file, or an older layout): rebuilt like a corrupt one."""


def cache_root() -> Path:
    """`HARNESS_CACHE`, else the user cache folder (XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("HARNESS_CACHE"):
        return Path(os.environ["HARNESS_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harness"


def key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else cache_root() / "cache.sqlite"
        self._lock = threading.Lock()
        self._spilled: dict[str, dict[str, Any]] | None = None
        try:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if not isinstance(exc, _OtherSchema) and not any(text in str(exc) for text in _CORRUPT):
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
            columns = {row[1] for row in db.execute("PRAGMA table_info(entries)")}
            if not _COLUMNS <= columns:
                raise _OtherSchema(f"its entries table has columns {', '.join(sorted(columns))}, "
                                   f"not {', '.join(sorted(_COLUMNS))}")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _rebuild(self, exc: Exception) -> sqlite3.Connection:
        """Move a corrupt cache file (and its WAL and shared-memory files) aside and start an empty one."""
        from harness.console import console, escape

        aside = _move_aside(self.path)
        console.print(f"[yellow]Warning:[/] the cache {escape(str(self.path))} was not a usable database ({escape(str(exc))}); "
                      f"moved it aside to {escape(str(aside))} and started an empty cache (results are computed again).")
        return self._open()

    def get_many(self, ns: str, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        spilled = self._spilled
        if spilled is not None:  # the file could not take more: this run's later results are in memory
            have = spilled.get(ns, {})
            found.update((k, have[k]) for k in keys if k in have)
            keys = [k for k in keys if k not in have]
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM entries WHERE ns=? AND key IN ({marks})", [ns, *chunk])
                found.update((k, json.loads(v)) for k, v in rows)
        return found

    def put_many(self, ns: str, items: dict[str, Any]) -> None:
        """Store a batch. The cache is optional: a write it cannot take (a full disk, a read-only file) is a warning,
        and the rest of the run keeps what it computes in memory (it is not reused by later runs)."""
        if self._spilled is not None:
            self._spilled.setdefault(ns, {}).update(items)
            return
        with self._lock:
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries (ns, key, value) VALUES (?, ?, ?)",
                    [(ns, k, redact(json.dumps(v))) for k, v in items.items()],  # a key a server echoed: never kept
                )
                self._db.commit()
            except (sqlite3.OperationalError, OSError) as exc:
                try:
                    self._db.rollback()
                except sqlite3.Error:
                    pass
                self._spill(exc)
        if self._spilled is not None:
            self._spilled.setdefault(ns, {}).update(items)

    def _spill(self, exc: Exception) -> None:
        from harness.console import console, escape

        self._spilled = {}
        console.print(f"[yellow]Warning:[/] cannot write the cache {escape(str(self.path))} ({escape(str(exc))}); "
                      "this run goes on without it and keeps what it computes in memory (free space there, or set "
                      "HARNESS_CACHE, for later runs to reuse results).")

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


def _move_aside(path: Path) -> Path:
    """Move the cache file and its WAL and shared-memory files to `<name>.corrupt-<time>[-N]`, a name no earlier
    moved-aside file holds (os.link refuses an existing name, so two corruptions in one second keep both)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(10_000):
        aside = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{n}" if n else ""))
        if any(aside.with_name(aside.name + s).exists() for s in ("", "-wal", "-shm")):
            continue
        try:
            if path.exists():  # (only its WAL may be left)
                os.link(path, aside)
                path.unlink()
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links
            if aside.exists():
                continue
            path.replace(aside)
        for suffix in ("-wal", "-shm"):
            part = path.with_name(path.name + suffix)
            if part.exists():
                part.replace(aside.with_name(aside.name + suffix))
        return aside
    raise OSError(f"no free name to move {path} aside")


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


def cached_map(cache: Cache | None, ns: str, keys: list[str], compute, *, batches, load, dump,
               on_batch=None) -> list:
    """`compute(batch of indices) -> values` for every key the cache lacks, batch by batch (`batches(todo)` orders
    and cuts them); each batch is saved as soon as it is done, so a stop or a crash loses at most the batch in
    flight. Cached values come back through `load`, fresh ones are stored through `dump`."""
    from harness import interrupt

    cache = cache or NoCache()
    hits = cache.get_many(ns, keys)
    results = [load(hits[k]) if k in hits else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if on_batch and len(todo) < len(keys):
        on_batch(len(keys) - len(todo))
    for batch in batches(todo) if todo else []:
        interrupt.check()  # a stop asked for (SIGINT/SIGTERM) ends here; finished batches are in the cache
        values = compute(batch)
        for i, value in zip(batch, values):
            results[i] = value
        cache.put_many(ns, {keys[i]: dump(value) for i, value in zip(batch, values)})
        if on_batch:
            on_batch(len(batch))
    return results


def generation_key(fingerprint: str, adapter: str, prompt: str, max_new_tokens: int) -> str:
    return key("gen", fingerprint, adapter, prompt, {"max_new_tokens": max_new_tokens, "greedy": True})


def load_generation(row: dict[str, Any]):
    from harness.backends.base import Generation

    return Generation(**row, cached=True)


def dump_generation(gen) -> dict[str, Any]:
    return {k: v for k, v in vars(gen).items() if k != "cached"}


def cached_choices(fingerprint: str, tokenizer, items: list[tuple[str, list[str]]], compute, *, batch_size: int,
                   cache: Cache | None, adapter: str, on_batch=None) -> list:
    """Option log-likelihoods for every (context, options) item, each option cached on its own. The items the cache
    lacks are tokenized (`split_option_tokens`), grouped by context length and handed to `compute(list of (token
    ids per option, where each option starts)) -> list of [OptionScore per option]`, batch by batch."""
    from harness import interrupt
    from harness.backends.base import OptionScore, split_option_tokens

    cache = cache or NoCache()
    keys = [[key("ll", fingerprint, adapter, ctx, opt) for opt in opts] for ctx, opts in items]
    hits = cache.get_many("loglik", [k for ks in keys for k in ks])
    results = [[OptionScore(**hits[k], cached=True) for k in ks] if all(k in hits for k in ks) else None
               for ks in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if on_batch and len(todo) < len(items):
        on_batch(len(items) - len(todo))
    split = {i: split_option_tokens(tokenizer, *items[i]) for i in todo}
    todo.sort(key=lambda i: -min(split[i][1]))  # similar context lengths share a batch
    for begin in range(0, len(todo), batch_size):
        interrupt.check()
        batch = todo[begin : begin + batch_size]
        fresh = {}
        start = time.perf_counter()
        computed = compute([split[i] for i in batch])
        wall = time.perf_counter() - start  # every item of the batch waits for all of it
        for i, scores in zip(batch, computed):
            results[i] = scores
            for s in scores:  # an item's share of the batch, spread over its options; kept with them in the cache
                s.seconds, s.latency = wall / len(batch) / max(len(scores), 1), wall
            fresh.update((k, {"logprob": s.logprob, "tokens": s.tokens, "seconds": s.seconds, "latency": s.latency,
                              "tokens_in": s.tokens_in, "tokens_out": s.tokens_out}) for k, s in zip(keys[i], scores))
        cache.put_many("loglik", fresh)
        if on_batch:
            on_batch(len(batch))
    return results


def cached_perplexity(fingerprint: str, tokenizer, texts: list[str], compute, *, limit: int, batch_size: int,
                      cache: Cache | None, adapter: str) -> list:
    """Per text, the summed log-likelihood of its first `limit` tokens (after the first token) and their count:
    `compute(list of token id lists) -> list of summed logprobs` for what the cache lacks, longest first."""
    from harness.backends.base import OptionScore

    encoded: dict[int, list[int]] = {}

    def batches(todo: list[int]):
        encoded.update((i, tokenizer(texts[i], add_special_tokens=False)["input_ids"][:limit]) for i in todo)
        ordered = sorted(todo, key=lambda i: -len(encoded[i]))
        return [ordered[s : s + batch_size] for s in range(0, len(ordered), batch_size)]

    def run(batch: list[int]) -> list:
        sums = compute([encoded[i] for i in batch])
        return [OptionScore(lp, max(len(encoded[i]) - 1, 0)) for i, lp in zip(batch, sums)]

    keys = [key("ppl", fingerprint, adapter, t) for t in texts]
    return cached_map(cache, "perplexity", keys, run, batches=batches, load=lambda row: OptionScore(**row, cached=True),
                      dump=lambda s: {"logprob": s.logprob, "tokens": s.tokens})

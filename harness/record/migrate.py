"""Older run.json files, brought to the current schema. The only code that knows the old shapes.

Version 1 (harness 0.1, before the typed record) differs from version 2 in:
  strategies.*.timings.probes.seconds   -> strategies.*.probe_seconds
  strategies.*.refusal {name: ...}      -> strategies.*.refusal.sets {name: ...}
  strategies.*.retrieval.*["recall@k"]  -> strategies.*.retrieval.*.recall {k: ...}
  strategies.*.cost.process_peak_rss_mb -> dropped (peak_rss_mb, with its scope, is the one peak RSS)
  strategies.*.win_rate.against, strategies.*.data_size_curve.note: sentences, dropped
  strategies.*.search.{objective,sampler,pruner,kept}: sentences -> their numbers (metric, direction, seed, ...)
  recommendation (with sentences)       -> dropped; harness.decide.recommend.read_run recomputes it, numbers only

Version 2 differs from version 3 in the cost: one untyped `strategies.*.cost.extra` dict of every strategy's keys
becomes typed sections, each its strategy's (see `V2_SECTIONS`), and two core fields:
  cost.extra.{mode, index_*, chunks, ...}        -> cost.rag.{...}
  cost.extra.{tokens_trained, train_seconds, ...} -> cost.training.{...}
  cost.extra.{preference_pairs, pair_source}     -> cost.dpo.{...}
  cost.extra.{features, feature_dim, ...}        -> cost.head.{...}
  cost.extra.{setup_parts, composed: {...}}      -> cost.composed.{..., setup_parts}
  cost.extra.shared_setup, .peak_memory_kind     -> cost.shared_setup, cost.peak_memory_kind
  any other key of cost.extra                    -> dropped (no strategy wrote one; nothing reads one)
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

from pydantic import ValidationError

from harness.errors import HarnessError, field_problems
from harness.record.run_record import SCHEMA_VERSION, RunRecord

HINT = "Pass a run folder `harness run` wrote (its run.json is not meant to be edited)."


def load(data: Any, source: str) -> RunRecord:
    """A run record of any known version, validated. What does not validate is an error naming the fields."""
    if not isinstance(data, dict):
        raise HarnessError(f"{source} holds a JSON {type(data).__name__}, not a run record.", hint=HINT)
    data, _ = upgrade(data, source)
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        raise HarnessError(f"{source} is not a run record this harness can read: {field_problems(exc)}.", hint=HINT) from exc


def upgrade(data: dict[str, Any], source: str) -> tuple[dict[str, Any], bool]:
    """The record in the current schema's shape, and whether its recommendation must be recomputed (an old one
    held sentences). A version this harness does not know is an error naming it."""
    if "schema_version" not in data:
        raise HarnessError(f"{source} has no schema_version: it is not a run record.", hint=HINT)
    version = data["schema_version"]
    if version == SCHEMA_VERSION:
        return data, False
    if version not in STEPS:
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        raise HarnessError(
            f"{source} has schema_version {version!r}; this harness reads versions 1 to {SCHEMA_VERSION}.",
            hint="Upgrade the harness to read it (pip install -U harness)." if newer else HINT)
    data = copy.deepcopy(data)
    recompute = False
    while data.get("schema_version") != SCHEMA_VERSION:
        recompute |= STEPS[data.get("schema_version")](data)
    return data, recompute


def _v1_to_v2(data: dict[str, Any]) -> bool:
    for result in (data.get("strategies") or {}).values():
        if isinstance(result, dict):
            _v1_result(result)
    had_recommendation = data.pop("recommendation", None) is not None
    data["schema_version"] = 2
    return had_recommendation


def _v1_result(result: dict[str, Any]) -> None:
    timings = result.get("timings") or {}
    probes = timings.pop("probes", None)
    if isinstance(probes, dict) and "seconds" in probes:
        result["probe_seconds"] = probes["seconds"]
    if isinstance(result.get("refusal"), dict) and "skipped" not in result["refusal"]:
        result["refusal"] = {"sets": result["refusal"]}
    for report in (result.get("retrieval") or {}).values():
        _v1_retrieval(report)
        for group in (report.get("by_hops") or {}).values():
            _v1_retrieval(group)
    cost = result.get("cost") or {}
    process_peak = cost.pop("process_peak_rss_mb", None)
    if cost.get("peak_rss_mb") is None and process_peak is not None:
        cost |= {"peak_rss_mb": process_peak, "peak_rss_scope": "process"}
    if isinstance(result.get("search"), dict):
        _v1_search(result["search"])
    (result.get("win_rate") or {}).pop("against", None)
    (result.get("data_size_curve") or {}).pop("note", None)
    for key in ("forgetting", "bias", "refusal", "win_rate", "data_size_curve", "search", "training", "overfitting"):
        if result.get(key) in ({}, None):
            result.pop(key, None)  # v1 wrote {} where v2 has nothing


def _v1_retrieval(report: dict[str, Any]) -> None:
    recall = {key.partition("@")[2]: report.pop(key) for key in list(report) if key.startswith("recall@")}
    report["recall"] = recall


def _v1_search(search: dict[str, Any]) -> None:
    """v1 wrote the study's setup as sentences ("rougeL on 8 validation examples (maximised; ...)", "TPE (seed 0)",
    "median (after 2 complete trials, ...)"): the numbers in them, in their own fields."""
    objective, sampler, pruner = (str(search.pop(k, "")) for k in ("objective", "sampler", "pruner"))
    search.pop("kept", None)
    found = re.match(r"(\S+) on (\d+) validation examples \((max|min)imised", objective)
    if found:
        search |= {"objective": found[1], "val_examples": int(found[2]), "maximize": found[3] == "max"}
    seed = re.search(r"seed (\d+)", sampler)
    startup = re.search(r"after (\d+) complete", pruner)
    search |= {"sampler": sampler.split(" ")[0] or "TPE", "seed": int(seed[1]) if seed else 0,
               "pruner": pruner.split(" ")[0] or "median", "pruner_startup_trials": int(startup[1]) if startup else 0}


# version 2's cost.extra keys, by the cost section that holds them in version 3
V2_SECTIONS = {
    "rag": ("mode", "index_type", "index_seconds", "index_bytes", "index_reused", "index_key", "documents", "chunks",
            "chunk_tokens", "overlap", "prepare_seconds", "format_demos", "passages_dropped_for_budget",
            "format_demos_dropped_for_budget", "train_prompts"),
    "training": ("tokens_trained", "train_seconds", "train_tokens_per_second", "search_seconds"),
    "dpo": ("preference_pairs", "pair_source"),
    "head": ("features", "feature_dim", "train_features_seconds", "train_accuracy"),
}


def _v2_to_v3(data: dict[str, Any]) -> bool:
    for result in (data.get("strategies") or {}).values():
        cost = result.get("cost") if isinstance(result, dict) else None
        if isinstance(cost, dict):
            _v2_cost(cost)
    data["schema_version"] = 3
    return False


def _v2_cost(cost: dict[str, Any]) -> None:
    extra = cost.pop("extra", None) or {}
    for key in ("shared_setup", "peak_memory_kind"):
        if key in extra:
            cost[key] = extra.pop(key)
    if isinstance(cost.get("shared_setup"), dict):
        cost["shared_setup"].setdefault("per_task", "lora")  # multitask-lora, the only strategy that shared a setup
    if "composed" in extra:
        cost["composed"] = extra.pop("composed") | {"setup_parts": extra.pop("setup_parts", {})}
    for section, keys in V2_SECTIONS.items():
        found = {key: extra.pop(key) for key in keys if key in extra}
        if found:
            cost[section] = found


STEPS: dict[Any, Callable[[dict[str, Any]], bool]] = {1: _v1_to_v2, 2: _v2_to_v3}

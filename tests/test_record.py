"""The typed run record: old run.json files migrate, unknown versions are refused clearly, writes round-trip, and
the shipped JSON Schema is the models' own."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.decide.recommend import read_run
from harness.record.run_record import SCHEMA_VERSION
from harness.errors import HarnessError
from harness.record.run_record import json_schema
from harness.record.store import RunStore

DATA = Path(__file__).parent / "data"
SCHEMA = Path(__file__).resolve().parent.parent / "harness" / "record" / "run.schema.json"


def _run_folder(tmp_path: Path, record: dict) -> RunStore:
    (tmp_path / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return RunStore.open(tmp_path)


def test_a_version_1_record_migrates_and_validates(tmp_path):
    """tests/data/run_v1.json: a real run.json of schema version 1 (qa: prompt, rag, lora, with probes)."""
    old = json.loads((DATA / "run_v1.json").read_text(encoding="utf-8"))
    assert old["schema_version"] == 1
    store = _run_folder(tmp_path, old)
    assert store.read().recommendation is None  # migration drops the sentences; decide recomputes the numbers
    rec = read_run(store)
    assert rec.schema_version == SCHEMA_VERSION == 3
    for name, result in rec.strategies.items():
        was = old["strategies"][name]
        assert result.metrics["test"]["exact_match"].value == was["metrics"]["test"]["exact_match"]["value"]
        assert result.probe_seconds == was["timings"]["probes"]["seconds"] and "probes" not in result.timings
        assert set(result.refusal.sets) == set(was["refusal"]) == {"bbq_ambig", "qa_unanswerable"}
        assert result.cost.peak_rss_mb == was["cost"]["peak_rss_mb"]
    rag, old_rag = rec.strategies["rag"].retrieval["test"], old["strategies"]["rag"]["retrieval"]["test"]
    assert sorted(rag.recall) == [1, 3, 5, 10] and rag.recall[5].value == old_rag["recall@5"]["value"]
    assert rag.by_hops["2"].recall[1].value == old_rag["by_hops"]["2"]["recall@1"]["value"]
    assert rec.strategies["lora"].training.model_extra["lora"]["r"] == old["strategies"]["lora"]["training"]["lora"]["r"]
    # the recommendation held sentences: it is recomputed, numbers only, from the record's comparisons and ledger
    r, was = rec.recommendation, old["recommendation"]
    assert (r.verdict, r.recommended, r.metric) == (was["verdict"], was["recommended"], was["metric"])
    assert {x.strategy: x.utility for x in r.ranking} == pytest.approx(was["utility"])
    assert r.ranking[0].strategy == r.recommended
    assert "headline" not in r.model_dump()


def test_a_version_1_search_keeps_its_numbers_not_its_sentences(tmp_path):
    old = json.loads((DATA / "run_v1.json").read_text(encoding="utf-8"))
    old["strategies"]["lora"]["search"] = {  # as version 1 wrote it
        "strategy": "lora", "params": ["lr"], "split": "validation",
        "objective": "exact_match on 8 validation examples (maximised; the best validation of each trial)",
        "sampler": "TPE (seed 3)", "pruner": "median (after 2 complete trials, at every validation)",
        "space": {"lr": [1e-4, 1e-3]}, "best": {"number": 0, "params": {"lr": 2e-4}, "value": 0.5},
        "trials": [{"number": 0, "params": {"lr": 2e-4}, "value": 0.5, "state": "complete", "seconds": 9.0,
                    "intermediate": {"4": 0.5}}],
        "kept": "the best trial's model (not retrained): it is the one scored on test", "seconds": 12.0}
    search = _run_folder(tmp_path, old).read().strategies["lora"].search
    assert (search.objective, search.val_examples, search.maximize) == ("exact_match", 8, True)
    assert (search.sampler, search.seed, search.pruner, search.pruner_startup_trials) == ("TPE", 3, "median", 2)
    assert "kept" not in search.model_dump()


def _version_2() -> dict:
    """tests/data/run_v1.json brought to version 2, with every kind of `cost.extra` version 2 wrote: rag's (from
    the real run), lora's, and those of head, dpo, multitask-lora and rag+lora (as their strategies wrote them)."""
    from harness.record.migrate import STEPS

    old = json.loads((DATA / "run_v1.json").read_text(encoding="utf-8"))
    STEPS[1](old)
    lora = old["strategies"]["lora"]
    shared = {"tasks": ["qa", "summarization"], "train_seconds": 8.0, "charged_share": 0.5,
              "trained_in_this_run": True, "adapter": "/cache/adapters/k"}
    for name, extra in {
        "head": {"features": "lm", "feature_dim": 64, "train_features_seconds": 1.5, "train_accuracy": 0.9},
        "dpo": {"train_seconds": 3.0, "preference_pairs": 8, "pair_source": "data", "peak_memory_kind": "cuda max allocated"},
        "multitask-lora": {"shared_setup": shared, "tokens_trained": 900},
        "rag+lora": old["strategies"]["rag"]["cost"]["extra"] | lora["cost"]["extra"] | {
            "setup_parts": {"rag": 11.0, "lora": 1.5}, "train_prompts": {"examples": 5, "distractors": 5, "gold_dropped": 1,
                                                                           "passages_dropped_for_budget": 0},
            "composed": {"prompting": "rag", "weights": "lora", "prompting_fingerprint": "a", "weights_fingerprint": "b"}},
    }.items():
        old["strategies"][name] = copy.deepcopy(lora) | {"cost": lora["cost"] | {"extra": extra}}
    return old


def test_a_version_2_cost_extra_becomes_its_strategies_typed_sections(tmp_path):
    from strategies.composed import ComposedCost
    from strategies.finetune.cost import TrainingCost
    from strategies.finetune.dpo import PairsCost
    from strategies.head import HeadCost
    from strategies.rag.cost import RagCost

    old = _version_2()
    assert old["schema_version"] == 2
    costs = {name: result.cost for name, result in _run_folder(tmp_path, old).read().strategies.items()}
    was = old["strategies"]["rag"]["cost"]["extra"]
    rag = costs["rag"].section(RagCost)
    assert (rag.index_bytes, rag.chunks, rag.format_demos) == (was["index_bytes"], was["chunks"], was["format_demos"])
    assert costs["lora"].section(TrainingCost).tokens_trained == old["strategies"]["lora"]["cost"]["extra"]["tokens_trained"]
    assert costs["lora"].peak_memory_kind == "process peak RSS" and costs["lora"].section(RagCost) is None
    assert costs["head"].section(HeadCost).feature_dim == 64
    assert costs["dpo"].section(PairsCost).pair_source == "data" and costs["dpo"].section(TrainingCost).train_seconds == 3.0
    assert costs["multitask-lora"].shared_setup.train_seconds == 8.0
    both = costs["rag+lora"]
    assert both.section(ComposedCost).setup_parts == {"rag": 11.0, "lora": 1.5} and both.section(RagCost).train_prompts.gold_dropped == 1
    assert both.section(TrainingCost).train_tokens_per_second > 0 and "extra" not in both.model_dump()
    assert costs["prompt"].model_extra == {}  # prompt's empty extra: no section


def test_a_cost_section_is_typed_where_it_is_made_and_where_it_is_read(tmp_path):
    from harness.types import Cost
    from strategies.rag.cost import RagCost

    made = RagCost(mode="passages", index_type="flat", index_seconds=1.0, index_reused=False, index_key="k",
                   documents=2, chunks=2, chunk_tokens=200, overlap=32, prepare_seconds=1.0)
    with pytest.raises(ValueError, match="passages_droped"):
        made.passages_droped_for_budget = 1  # a misspelt counter is an error, not a new key
    with pytest.raises(ValidationError):
        made.passages_dropped_for_budget = "many"
    assert Cost().add(made) is made
    old = _version_2()
    old["strategies"]["rag"]["cost"]["extra"]["index_byts"] = 5  # no strategy wrote it: dropped by the migration
    assert _run_folder(tmp_path, old).read().strategies["rag"].cost.section(RagCost).index_bytes > 0
    current = json.loads(json.dumps(_run_folder(tmp_path, old).read().model_dump(mode="json")))
    current["strategies"]["rag"]["cost"]["rag"]["chunkz"] = 3
    current["strategies"]["lora"]["cost"]["ragg"] = {}
    with pytest.raises(HarnessError) as err:
        _run_folder(tmp_path, current).read()
    assert "strategies.rag.cost.rag.chunkz" in str(err.value) and "strategies.lora.cost.ragg" in str(err.value)


def test_unknown_or_newer_versions_are_refused_naming_the_version(tmp_path):
    old = json.loads((DATA / "run_v1.json").read_text(encoding="utf-8"))
    with pytest.raises(HarnessError, match="schema_version 99") as err:
        _run_folder(tmp_path, old | {"schema_version": 99}).read()
    assert "Upgrade the harness" in err.value.hint
    with pytest.raises(HarnessError, match="schema_version 'one'"):
        _run_folder(tmp_path, old | {"schema_version": "one"}).read()
    without = {k: v for k, v in old.items() if k != "schema_version"}
    with pytest.raises(HarnessError, match="no schema_version"):
        _run_folder(tmp_path, without).read()


def test_a_record_that_does_not_validate_names_its_fields(tmp_path):
    old = json.loads((DATA / "run_v1.json").read_text(encoding="utf-8"))
    del old["strategies"]["prompt"]["fingerprint"]
    old["strategies"]["rag"]["colour"] = "blue"
    with pytest.raises(HarnessError) as err:
        _run_folder(tmp_path, old).read()
    assert "field 'strategies.prompt.fingerprint' is missing" in err.value.message
    assert "field 'strategies.rag.colour' is unknown" in err.value.message


def test_write_then_read_is_lossless(tmp_path):
    """NaN (a statistic of an empty sample) included: BBQ's disambiguated figures have no items in this run."""
    shutil.copy(DATA / "run_v1.json", tmp_path / "run.json")
    store = RunStore.open(tmp_path)
    rec = store.read()
    store.write(rec)
    text = store.record_path.read_text(encoding="utf-8")
    assert "NaN" in text and json.loads(text)["schema_version"] == SCHEMA_VERSION
    again = store.read()
    assert again.model_dump_json() == rec.model_dump_json()
    store.write(again)
    assert store.record_path.read_text(encoding="utf-8") == text


def test_the_shipped_json_schema_is_the_models_schema():
    shipped = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert shipped == json_schema(), "regenerate it: python -m harness.record.run_record > harness/record/run.schema.json"


def test_a_written_record_conforms_to_the_shipped_schema(tmp_path):
    import jsonschema  # a test dependency (pyproject test extra): never skipped
    shutil.copy(DATA / "run_v1.json", tmp_path / "run.json")
    store = RunStore.open(tmp_path)
    store.write(store.read())
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(store.record_path.read_text(encoding="utf-8")), schema)
    broken = json.loads(store.record_path.read_text(encoding="utf-8"))
    broken["strategies"]["prompt"]["metrics"]["test"]["exact_match"]["value"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)

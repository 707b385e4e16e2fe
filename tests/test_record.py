"""The typed run record: old run.json files migrate, unknown versions are refused clearly, writes round-trip, and
the shipped JSON Schema is the models' own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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
    assert rec.schema_version == SCHEMA_VERSION == 2
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
    assert "NaN" in text and json.loads(text)["schema_version"] == 2
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

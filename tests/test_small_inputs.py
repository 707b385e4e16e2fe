"""Smaller bad-input causes of issue #22 (part E): FOLDER@SPLIT through preflight, dpo pairs with a missing side,
NUL characters from zeroed bytes, and the wording of a few errors."""

from __future__ import annotations

import pytest

from conftest import write_jsonl
from harness.config import build_config, validate
from harness.errors import HarnessError
from test_data_input import _dataset_dict


def test_folder_at_split_passes_preflight_as_the_readme_documents(tmp_path):
    from harness.runs import preflight

    saved = tmp_path / "saved"
    _dataset_dict().save_to_disk(str(saved))
    cfg = validate({"data": {"files": {"train": f"{saved}@train", "test": f"{saved}@test"}, "input_field": "text",
                             "reference_fields": ["summary"]}, "strategies": ["prompt"]})
    preflight.check_inputs(cfg)  # no "file not found"
    bad = validate({"data": {"files": {"test": f"{tmp_path / 'nowhere'}@test"}}, "strategies": ["prompt"]})
    with pytest.raises(HarnessError, match="file not found"):
        preflight.check_inputs(bad)
    from harness.cli.options import parse_data

    files = parse_data([f"train={saved}@train", f"test={saved}@test"])  # as the CLI reads --data
    preflight.check_inputs(build_config({"data": {"files": files, "input_field": "text",
                                                   "reference_fields": ["summary"]}, "strategies": "prompt"}))


def _dpo_task(tmp_path, rows):
    from harness.config import DataConfig
    from harness.tasks.load import task_from_files

    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", [{"id": "t0", "input": "q", "reference": "r"}])
    return task_from_files(DataConfig(files={"train": tmp_path / "train.jsonl", "test": tmp_path / "test.jsonl"}))


def test_dpo_rows_with_chosen_but_no_rejected_are_named_unless_base_outputs_are_asked_for(tmp_path):
    from harness.runs.runner import plan_strategies

    rows = [{"id": "a", "input": "q1", "reference": "r1", "chosen": "good", "rejected": "bad"},
            {"id": "b", "input": "q2", "reference": "r2", "chosen": "fine"},
            {"id": "c", "input": "q3", "reference": "r3", "rejected": "worse"}]
    task = _dpo_task(tmp_path, rows)
    with pytest.raises(HarnessError) as exc:
        plan_strategies(validate({"strategies": ["dpo"]}), task)
    assert "2 of 3 train examples" in exc.value.message
    assert "b (no rejected)" in exc.value.message and "c (no chosen)" in exc.value.message
    assert "dpo.pairs: base-outputs" in exc.value.hint
    with pytest.raises(HarnessError, match="lack a chosen/rejected pair"):
        plan_strategies(validate({"strategies": ["dpo"], "dpo": {"pairs": "data"}}), task)
    assert list(plan_strategies(validate({"strategies": ["dpo"], "dpo": {"pairs": "base-outputs"}}), task)) == ["dpo"]
    (tmp_path / "plain").mkdir()
    plain = _dpo_task(tmp_path / "plain", [{"id": "a", "input": "q", "reference": "r"}])
    assert list(plan_strategies(validate({"strategies": ["dpo"]}), plain)) == ["dpo"]  # no pair fields: base outputs
    with pytest.raises(HarnessError, match="1 of 1 train examples"):
        plan_strategies(validate({"strategies": ["dpo"], "dpo": {"pairs": "data"}}), plain)


def test_zeroed_bytes_in_a_parquet_file_are_rejected_not_scored(tmp_path):
    import datasets

    from harness.tasks.load import read_examples

    rows = [{"id": f"e{i}", "input": f"text {i}", "reference": f"ref {i}"} for i in range(4)]
    rows[2]["reference"] = "\0" * 6  # what zeroed bytes read as
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "d.parquet"))
    with pytest.raises(HarnessError, match=r"d\.parquet row 2: field 'reference' holds a NUL character"):
        read_examples(tmp_path / "d.parquet")
    write_jsonl(tmp_path / "d.jsonl", [{"id": "x", "input": "a\u0000b", "reference": "r"}])  # escaped in JSON
    with pytest.raises(HarnessError, match=r"d\.jsonl:1: field 'input' holds a NUL character"):
        read_examples(tmp_path / "d.jsonl")


def test_unknown_names_list_the_known_ones_in_plain_english():
    from harness.errors import plural, unknown_name
    from harness.registry import strategies

    with pytest.raises(HarnessError) as exc:
        strategies.get("promt")
    assert "Known strategies:" in exc.value.hint and "strategys" not in exc.value.hint
    assert [plural(w) for w in ("task", "strategy", "metric", "baseline", "split", "key")] == \
        ["tasks", "strategies", "metrics", "baselines", "splits", "keys"]
    assert "Known splits" in unknown_name("split", "tset", ["train", "test"]).hint


def test_a_bad_flag_over_a_config_file_is_blamed_on_the_command_line(tmp_path):
    spec = tmp_path / "specs.yaml"
    spec.write_text("task: summarization\nseed: 1\n")
    with pytest.raises(HarnessError) as exc:
        build_config({"limit": 0}, spec)
    assert "specs.yaml" not in exc.value.message and "--limit" in exc.value.message
    assert "command line" in exc.value.message
    spec.write_text("task: summarization\nlimit: 0\n")
    with pytest.raises(HarnessError, match=r"in .*specs\.yaml: field 'limit':"):
        build_config({"seed": 2}, spec)


def test_the_search_hint_names_a_strategy_that_can_be_searched():
    from harness.runs.strategy_steps import make_strategy
    from strategies.finetune.hpsearch import check_search

    def plan(*names):
        return {name: make_strategy(name) for name in names}

    cfg = validate({"strategies": ["prompt", "lora", "few-shot"], "search": {"strategy": "ia3", "params": ["lr"]}})
    with pytest.raises(HarnessError) as exc:
        check_search(cfg, plan("prompt", "lora", "few-shot"))
    assert "--search lora:lr" in exc.value.hint and "few-shot:lr" not in exc.value.hint
    with pytest.raises(HarnessError) as exc:
        check_search(validate({"search": {"strategy": "lora", "params": ["lr"]}}), plan("prompt"))
    assert "--search prompt" not in exc.value.hint and "lora" in exc.value.hint

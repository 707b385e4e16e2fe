"""One wording for a validation problem, wherever the file came from: a run config, a task.yaml or a run.json."""

import json
from pathlib import Path

import pytest

from harness.config import validate
from harness.errors import HarnessError
from harness.record.migrate import load
from harness.tasks.spec import read_task_spec

DATA = Path(__file__).parent / "data"
SPEC = {"name": "t", "instruction": "Answer.", "splits": {"test": "test.jsonl"}}


def _error(read) -> str:
    with pytest.raises(HarnessError) as err:
        read()
    return err.value.message


def _config(**changes) -> str:
    return _error(lambda: validate(changes, source="run.yaml"))


def _spec(tmp_path, drop: str = "", **changes) -> str:
    path = tmp_path / "task.yaml"
    path.write_text(json.dumps({k: v for k, v in (SPEC | changes).items() if k != drop}), encoding="utf-8")
    return _error(lambda: read_task_spec(path))


def _record(drop: str = "", **changes) -> str:
    record = json.loads((DATA / "run_v1.json").read_text(encoding="utf-8")) | changes
    return _error(lambda: load({k: v for k, v in record.items() if k != drop}, "run.json"))


def test_an_unknown_key_reads_the_same_in_a_config_a_task_spec_and_a_run_record(tmp_path):
    for message in (_config(colour="blue"), _spec(tmp_path, colour="blue"), _record(colour="blue")):
        assert "field 'colour' is unknown" in message, message


def test_a_wrong_value_reads_the_same_in_a_config_a_task_spec_and_a_run_record(tmp_path):
    for message, field in ((_config(model=[1]), "model"), (_spec(tmp_path, description=[1]), "description"),
                           (_record(command=[1]), "command")):
        assert f"field '{field}': Input should be a valid string" in message, message


def test_a_missing_field_reads_the_same_in_a_task_spec_and_a_run_record(tmp_path):
    assert "field 'instruction' is missing" in _spec(tmp_path, drop="instruction")
    assert "field 'run_id' is missing" in _record(drop="run_id")


def test_a_flag_given_on_the_command_line_is_named_as_a_flag():
    message = _error(lambda: validate({"limit": 0, "seed": "x"}, source="run.yaml", cli={"limit": 0}))
    assert "--limit: Input should be greater than or equal to 1" in message and "field 'seed': " in message
    assert message.startswith("Invalid configuration in run.yaml")
    only_cli = _error(lambda: validate({"limit": 0}, source="run.yaml", cli={"limit": 0}))
    assert only_cli.startswith("Invalid configuration on the command line: --limit: ")

"""The public Python API: `from harness import run, RunConfig` runs as `harness run` does and returns the record."""

from __future__ import annotations

import pytest

import harness
from harness import RunConfig, run
from harness.decide.recommend import read_run
from harness.errors import HarnessError
from harness.record.run_record import RunRecord
from harness.record.store import RunStore


def test_run_returns_the_record_it_wrote(tmp_path, tiny_dir):
    config = RunConfig(task="summarization", model=str(tiny_dir), strategies=["prompt", "few-shot"], limit=4,
                       max_new_tokens=6, out=tmp_path)
    record = run(config)
    assert isinstance(record, RunRecord) and record.status == "complete"
    assert list(record.strategies) == ["prompt", "few-shot"]
    assert record.recommendation is not None and record.recommendation.recommended in record.strategies
    on_disk = read_run(RunStore(tmp_path / record.run_id))
    assert on_disk.model_dump() == record.model_dump()


def test_run_takes_the_dict_a_yaml_holds_and_names_a_bad_field(tmp_path, tiny_dir):
    with pytest.raises(HarnessError, match="limit"):
        run({"task": "summarization", "model": str(tiny_dir), "limit": 0, "out": str(tmp_path)})
    assert not any(tmp_path.iterdir())  # nothing ran


def test_importing_harness_stays_light():
    import subprocess
    import sys

    code = "import sys, harness.errors; print(int(any(m.startswith(('torch', 'transformers')) for m in sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "0"
    assert harness.RunConfig is RunConfig and "run" in harness.__all__

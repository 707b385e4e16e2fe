"""The regression gate does not trust its inputs: baseline scores, the rule, alpha, where it writes (issue #22, E)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.guard.check import CANNOT_CHECK, REGRESSION, Rule, check_config, compare
from harness.cli.main import app
from harness.guard.baseline import load_baseline
from harness.errors import HarnessError
from harness.record.store import write_json
from test_check import make_baseline, make_run, pair, run_check


def _poison(baseline: Path, value) -> None:
    """Write `value` as the first example's rougeL in the baseline's scores file (json.dumps writes NaN bare)."""
    path = baseline / "scores" / "prompt.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    row["scores"]["rougeL"] = value
    lines[0] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("value", [math.nan, math.inf, "high", None, True])
def test_a_baseline_score_that_is_not_a_finite_number_is_an_error_naming_the_line(tmp_path, value):
    old, new = pair(shift=0.0, noise=0.0, n=10)
    _poison(make_baseline(tmp_path / "baselines", old), value)
    with pytest.raises(HarnessError, match=r"prompt\.jsonl:1: the rougeL score of example ex0"):
        load_baseline("base", tmp_path / "baselines")
    run_dir = make_run(tmp_path / "runs", new)
    result = CliRunner().invoke(app, ["check", "--baseline", "base", "--dir", str(tmp_path / "baselines"),
                                      "--run", str(run_dir)])
    assert result.exit_code == CANNOT_CHECK, result.output  # never "delta +nan, pass", never a traceback
    assert "Traceback" not in result.output and "prompt.jsonl:1" in " ".join(result.output.split())


def test_a_new_run_score_that_is_not_a_number_cannot_be_checked(tmp_path):
    old, new = pair(shift=0.0, noise=0.0, n=10)
    new["prompt"]["ex3"]["rougeL"] = math.nan
    rows = compare(load_baseline(make_baseline(tmp_path, old)), new, Rule())
    bad = next(r for r in rows if r.metric == "rougeL")
    assert bad.status == "error" and "ex3" in bad.reason
    assert next(r for r in rows if r.metric == "rouge1").status == "pass"


def test_a_relative_threshold_must_say_percent(tmp_path):
    assert Rule.parse("rel:5%") == Rule("rel", 0.05)
    for ambiguous in ("rel:5", "rel:0.05"):
        with pytest.raises(HarnessError, match="ambiguous") as exc:
            Rule.parse(ambiguous)
        assert "%" in exc.value.hint
    with pytest.raises(HarnessError, match="not percent"):
        Rule.parse("abs:5%")
    # a 50% drop: refused as ambiguous under rel:5, a regression under rel:5%
    old = {"prompt": {f"e{i}": {"rougeL": 0.6, "rouge1": 0.6} for i in range(10)}}
    new = {"prompt": {f"e{i}": {"rougeL": 0.3, "rouge1": 0.3} for i in range(10)}}
    result, _, _ = run_check(tmp_path / "a", old, new, "--threshold", "rel:5")
    assert result.exit_code == CANNOT_CHECK and "ambiguous" in result.output
    result, _, _ = run_check(tmp_path / "b", old, new, "--threshold", "rel:5%")
    assert result.exit_code == REGRESSION


@pytest.mark.parametrize("alpha", ["-1", "0", "1", "1.5", "nan"])
def test_alpha_outside_zero_one_is_refused(tmp_path, alpha):
    old, new = pair(shift=0.2, noise=0.02, n=30)
    result, _, _ = run_check(tmp_path, old, new, "--alpha", alpha)
    assert result.exit_code == CANNOT_CHECK, result.output
    assert "--alpha" in result.output and "between 0 and 1" in " ".join(result.output.split())
    with pytest.raises(HarnessError, match="--margin"):
        Rule.parse(None, margin=-0.5)


def test_check_writes_under_its_own_out_never_where_the_baseline_points(tmp_path, monkeypatch):
    old, _ = pair(shift=0.0, noise=0.0, n=4)
    path = make_baseline(tmp_path, old)
    record = json.loads((path / "baseline.json").read_text())
    record["config"]["out"] = str(tmp_path / "somewhere" / "else")
    write_json(path / "baseline.json", record)
    b = load_baseline(path)
    monkeypatch.chdir(tmp_path)
    assert check_config(b).out == Path("runs")
    assert check_config(b, out=tmp_path / "mine").out == tmp_path / "mine"



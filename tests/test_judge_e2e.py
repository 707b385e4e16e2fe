"""The default model on the hf backend as the judge of a real run (the vLLM server's judge test is in
tests/test_vllm.py): the judged measurements complete and the record holds their scores and calibration."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli.main import app

pytestmark = pytest.mark.e2e


def test_the_in_process_model_judges_a_qa_run(tmp_path):
    result = CliRunner().invoke(app, ["run", "--task", "qa", "--limit", "6", "--overfit-sample", "0", "--no-probes",
                                      "--strategies", "prompt,rag", "--judge", "base", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    run_dir = next(tmp_path.iterdir())
    rec = json.loads((run_dir / "run.json").read_text())
    judge = rec["judge"]
    assert judge["backend"] == "hf" and judge["exact"]["statistic"] == "kappa"
    assert judge["exact"]["n"] + judge["exact"]["unscored"] == 12  # both strategies' 6 answers, graded or not
    for name in ("prompt", "rag"):
        judged = rec["strategies"][name]["judged"]
        assert judged["reference"]["scored"] + judged["reference"]["unscored"] == 6
    pairwise = rec["strategies"]["rag"]["judged"]["pairwise"]
    assert pairwise["wins"] + pairwise["ties"] + pairwise["losses"] == pairwise["scored"]
    assert rec["recommendation"]["metric"] in ("exact_match", "judge-reference")
    assert (rec["recommendation"]["judge_fallback"] is None) == judge["trusted"]
    report = (run_dir / "report.md").read_text()
    assert "## Judged quality" in report and ("unvalidated" in report or "trusted" in report)

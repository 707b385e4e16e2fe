"""Evaluation split across processes: `torchrun --nproc_per_node 2 -m harness run` (gloo on the CPU) deals the hf
model's prompts, option sets and perplexity texts over the two ranks and gathers them on each; its run.json holds
the same figures as a one-process run, and each rank computed about half the items."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends.shard import split_work, work_per_rank

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")


def test_alone_the_work_runs_as_it_is(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert split_work([1, 2, 3], lambda xs: [x * 10 for x in xs]) == [10, 20, 30] and work_per_rank() == {}


@pytest.mark.skipif(not Path(TORCHRUN).exists(), reason="torchrun is not installed")
def test_two_processes_split_the_evaluation_and_record_what_one_process_does(tiny_dir, tmp_path):
    def run(*launcher: str, tag: str) -> dict:
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HARNESS_CACHE=str(tmp_path / f"cache-{tag}"))
        done = subprocess.run([*launcher, "-m", "harness", "run", "--model", str(tiny_dir), "--strategies",
                               "prompt,few-shot", "--limit", "8", "--max-new-tokens", "4", "--out",
                               str(tmp_path / tag)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-4000:]
        return json.loads((next((tmp_path / tag).iterdir()) / "run.json").read_text())

    one = run(sys.executable, tag="one")
    two = run(TORCHRUN, "--standalone", "--nproc_per_node", "2", tag="two")
    assert one["environment"]["processes"] == 1 and one["environment"]["work_per_rank"] == {}
    assert two["environment"]["processes"] == 2
    for name, res in one["strategies"].items():
        other = two["strategies"][name]
        assert other["metrics"] == res["metrics"] and other["counts"]["test"]["examples"] == 8, name
        assert other["forgetting"]["sets"] == res["forgetting"]["sets"]  # option scoring, split too
        # perplexity sums log-probabilities over other batches: equal to float rounding (1e-7 relative)
        for side in ("base", "adapted"):
            ppl, ppl_one = other["forgetting"]["perplexity"][side], res["forgetting"]["perplexity"][side]
            assert ppl["tokens"] == ppl_one["tokens"] and ppl["perplexity"] == pytest.approx(ppl_one["perplexity"], rel=1e-6)
    assert two["base"]["forgetting"] == one["base"]["forgetting"]
    done = {int(r): n for r, n in two["environment"]["work_per_rank"].items()}
    assert set(done) == {0, 1} and done[0] > 0 and done[1] > 0
    # round-robin within each call: the ranks differ by at most one item per call
    assert abs(done[0] - done[1]) <= 0.2 * (done[0] + done[1])

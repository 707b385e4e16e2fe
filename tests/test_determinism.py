"""The same seed and inputs give identical metrics in run.json on CPU, with the model really running twice."""

import json

from typer.testing import CliRunner

from conftest import ROOT, write_jsonl
from harness.cli.main import app


def _run(tmp_path, tiny_dir, name: str, data: list[str]) -> dict:
    out = tmp_path / name
    result = CliRunner().invoke(app, ["run", *data, "--model", str(tiny_dir), "--strategies", "prompt,few-shot",
                                      "--max-new-tokens", "8", "--seed", "7", "--device", "cpu", "--no-cache",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((next(out.iterdir()) / "run.json").read_text())


def test_same_seed_same_metrics(tmp_path, tiny_dir):
    from transformers import AutoTokenizer

    # The tiny model writes random words, so references hold its whole vocabulary: ROUGE is then non-zero and
    # identical metrics mean identical outputs (not two runs that both scored 0).
    vocab = " ".join(w for w in AutoTokenizer.from_pretrained(tiny_dir).get_vocab() if w.isalpha())
    lines = (ROOT / "benchmarks" / "summarization" / "test.jsonl").read_text().splitlines()
    rows = [dict(json.loads(line), reference=vocab) for line in lines[:10]]
    train, test = write_jsonl(tmp_path / "train.jsonl", rows[:5]), write_jsonl(tmp_path / "test.jsonl", rows[5:])
    data = ["--data", f"train={train}", "--data", f"test={test}"]
    first, second = _run(tmp_path, tiny_dir, "a", data), _run(tmp_path, tiny_dir, "b", data)
    for rec in (first, second):
        # the model ran: nothing came from an earlier run. (Within a run, zero-shot may reuse what the base
        # model's probes generated for the same prompts; few-shot's prompts are its own.)
        assert rec["strategies"]["few-shot"]["counts"]["test"]["cached"] == 0
    metrics = lambda rec: {n: s["metrics"] for n, s in rec["strategies"].items()}  # noqa: E731
    assert metrics(first) == metrics(second)
    assert all(s["metrics"]["test"]["rouge1"]["value"] > 0 for s in first["strategies"].values())

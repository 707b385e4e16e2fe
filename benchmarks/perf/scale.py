"""Scale: the runner on a synthetic task with 10k test examples and a model that answers instantly (it echoes the
first sentence), so what is measured is the runner itself: streaming predictions to disk, scoring, aggregation.

Each size runs in a fresh process; peak memory above the process's baseline (after the model and the task are
loaded) must grow with the examples the task itself holds, not with a second copy of every prediction row.

    python -m benchmarks.perf.scale [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.perf.common import Timer, emit, load, peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("report council budget river school storm harbour bridge museum election rail festival clinic "
         "factory vote rise fall million percent opened closed delayed approved rejected").split()


def write_task(folder: Path, n: int) -> Path:
    rng = random.Random(0)

    def text(k: int) -> str:
        return ". ".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(k)) + "."

    for split, size in (("train", 20), ("test", n)):
        with (folder / f"{split}.jsonl").open("w") as f:
            for i in range(size):
                f.write(json.dumps({"id": f"{split}-{i}", "input": text(8), "reference": text(1)}) + "\n")
    (folder / "task.yaml").write_text("name: scale\ninstruction: Summarize the report in one sentence.\n"
                                      "splits: {train: train.jsonl, test: test.jsonl}\nmetrics: [rougeL]\n")
    return folder / "task.yaml"


def tiny_model_dir(folder: Path) -> Path:
    """A 2-layer Llama with the default model's tokenizer (it is never asked to generate here)."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from harness.backends.hf import offline_generator_dir

    tok = AutoTokenizer.from_pretrained(offline_generator_dir())
    config = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def one_size(n: int) -> None:
    """Run in a fresh process: the whole runner on n test examples with the echo strategy."""
    from harness.config import validate
    from harness.registry import strategies
    from harness.runs.runner import run
    from harness.types import Cost, Prediction
    from harness.strategy.base import Strategy
    from harness.strategy.prompted import PromptedModel
    from harness.record.store import RunStore

    class EchoModel(PromptedModel):
        def predict(self, examples):
            prompts = [self.model.render(self.build(ex)[0]) for ex in examples]
            return [Prediction(ex.id, p, ex.input.split(".")[0] + ".", ex.references, len(p) // 4, 12, 1e-4)
                    for ex, p in zip(examples, prompts)]

    @strategies.add
    class Echo(Strategy):
        name, description = "echo", "answers instantly with the first sentence"

        def prepare(self, ctx):
            return EchoModel(self.name, ctx, fingerprint="echo", cost=Cost(device="cpu"))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        task = write_task(tmp, n)
        model = tiny_model_dir(tmp / "model")
        from harness.backends.hf import load_generator
        from harness.tasks.load import load_task

        # The baseline: model loaded, task read, and what a run imports (scoring, statistics, report) imported.
        load_generator(str(model), device="cpu")
        load_task(str(task))
        import reports.markdown  # noqa: F401
        from harness.measure.metrics import score
        from harness.measure.stats import summarize

        score(["rougeL"], "a b c", ["a b d"]), summarize("rougeL", [0.1, 0.5, 0.9])
        base = peak_rss_mb()
        cfg = validate({"task": str(task), "model": str(model), "strategies": ["echo"], "out": str(tmp / "runs"),
                        "batch_size": 64, "device": "cpu", "use_cache": False})
        with Timer() as t:
            run_dir = run(cfg)
        rec = RunStore.open(run_dir).read()
        size = (run_dir / "predictions" / "echo.jsonl").stat().st_size
        data = (tmp / "test.jsonl").stat().st_size
        print("ROW " + json.dumps({"n": n, "seconds": t.seconds, "baseline_mb": base, "peak_mb": peak_rss_mb(),
                                   "predictions_mb": size / 1e6, "test_file_mb": data / 1e6,
                                   "scored": rec.strategies["echo"].counts["test"].examples}))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return one_size(args.one)
    print(f"runner scale, echo model; {load()}")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        done = subprocess.run([sys.executable, "-m", "benchmarks.perf.scale", "--one", str(n)], cwd=ROOT,
                              capture_output=True, text=True)
        line = next((l for l in done.stdout.splitlines() if l.startswith("ROW ")), None)
        if line is None:
            sys.exit(f"scale run n={n} failed:\n{done.stderr[-3000:]}")
        row = json.loads(line[4:])
        row["growth_mb"] = row["peak_mb"] - row["baseline_mb"]
        rows.append(row)
        print(f"n={n:>6}: {row['seconds']:.1f} s, peak {row['peak_mb']:.0f} MB, above baseline "
              f"{row['growth_mb']:.0f} MB; predictions file {row['predictions_mb']:.1f} MB, test file "
              f"{row['test_file_mb']:.1f} MB")
    big, small = rows[-1], rows[0]
    # Memory per extra example against the predictions written per extra example: keeping every row (prompt and
    # output) in memory would cost more than the file itself (Python strings and dicts are larger than JSON).
    marginal = (big["growth_mb"] - small["growth_mb"]) / max(big["predictions_mb"] - small["predictions_mb"], 1e-9)
    print(f"memory per extra example / predictions written per extra example: {marginal:.2f}")
    emit("scale", rows=rows, examples=big["n"], peak_rss_mb=big["peak_mb"], growth_mb=big["growth_mb"],
         predictions_mb=big["predictions_mb"], growth_over_predictions=marginal, load=load())


if __name__ == "__main__":
    main()

"""Worker for test_finetune's two-process test: `torchrun --nproc_per_node 2 distributed_worker.py OUT` trains a tiny
model under accelerate (gloo on CPU) and writes each rank's weight fingerprint; `... OUT --single` trains the same
stream in one process, accumulating two micro-batches per step (what DDP's gradient averaging should equal)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main(out: Path, single: bool) -> None:
    import torch

    from conftest import tiny_model, tiny_tokenizer
    from strategies.finetune.settings import FinetuneConfig
    from harness.backends.hf import weights_fingerprint
    from strategies.finetune.trainable import trainable_copy
    from strategies.finetune.trainer import make_accelerator, train
    from strategies.finetune.training_data import Item, epoch_order

    texts = [f"question {i} about the river and the bridge answer {i % 3}" for i in range(8)]
    tok = tiny_tokenizer(texts)
    items = []
    for t in texts:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        items.append(Item(ids, [-100] * 5 + ids[5:]))
    stream = [items[i] for i in epoch_order(len(items), 1, seed=0)]

    def run(its, grad_accum):
        cfg = FinetuneConfig(epochs=1, batch_size=2, grad_accum=grad_accum, eval_every=1000, warmup_ratio=0.0)
        model, _ = trainable_copy(tiny_model(len(tok), seed=0), "full", cfg)
        initial = weights_fingerprint(model)
        acc = make_accelerator(cfg, "cpu")
        result = train(model, tok, its, its[:2], cfg, lr=1e-2, seed=0, accelerator=acc, shuffle=False,
                       show_progress=False)
        probe = torch.cat([p.detach().flatten()[:32] for p in model.parameters()]).tolist()
        return acc, {"world": acc.num_processes, "fingerprint": weights_fingerprint(model), "initial": initial,
                     "tokens": result.tokens, "steps": result.steps, "probe": probe}

    if single:
        _, record = run(stream, grad_accum=2)
        rank0 = [it for b in range(0, len(stream), 4) for it in stream[b : b + 2]]  # the batches rank 0 sees
        _, alone = run(rank0, grad_accum=1)
        record["probe_rank0_only"] = alone["probe"]
        (out / "single.json").write_text(json.dumps(record))
    else:
        acc, record = run(stream, grad_accum=1)
        (out / f"rank{acc.process_index}.json").write_text(json.dumps(record))
        acc.wait_for_everyone()
        import torch.distributed as dist

        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--single" in sys.argv)

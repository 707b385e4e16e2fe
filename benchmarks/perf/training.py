"""Training throughput of the fine-tuning strategy's loop against a bare PyTorch + PEFT loop on the same batches.

    python -m benchmarks.perf.training [--model DIR] [--steps 6] [--batch-size 4] [--repeats 2]

Both loops train a fresh LoRA copy of the same model, with the same optimizer, clipping and schedule, on the same
collated batches of the summarization task (prompt + reference, answer-only loss). The harness loop adds accelerate
(prepare, accumulate, backward, reduce for token counts), progress and the validation bookkeeping; its throughput
excludes the validation it runs once at the end, as in run.json. Runs alternate (bare, harness, bare, harness...)
so drifting machine load hits both; the ratio of medians is printed (target >= 0.9). Tokens are counted once, from
the batches (one tokenizer, padding aside), for both sides; the harness loop must have trained exactly those tokens in
exactly those steps, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.perf.common import claim, finish, load

TARGET = 0.9


def bare_loop(model, batches, *, lr: float, max_grad_norm: float) -> float:
    """Seconds for one pass of a plain PyTorch loop over the batches."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / len(batches)))
    model.train()
    start = time.perf_counter()
    for batch in batches:
        out = model(**batch)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="HF id or local dir (default: the offline default model)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from strategies.finetune.settings import FinetuneConfig
    from harness.backends.hf import load_generator
    from harness.measure.overfitting import seeded_order
    from harness.tasks.load import load_task
    from strategies.finetune.trainable import DEFAULT_LR, trainable_copy
    from strategies.finetune.trainer import make_accelerator, train
    from strategies.finetune.training_data import collate, epoch_order, supervised_items

    handle = load_generator(args.model, device="cpu")
    task = load_task("summarization")
    n = args.steps * args.batch_size
    examples = seeded_order(task.split("train"), 0)[:n]
    items = supervised_items(handle, task, examples, 1024)
    stream = [items[i] for i in epoch_order(len(items), 1, 0)]
    pad = handle.tokenizer.pad_token_id
    batches = [collate(stream[i : i + args.batch_size], pad) for i in range(0, len(stream), args.batch_size)]
    cfg = FinetuneConfig(epochs=1, batch_size=args.batch_size, eval_every=10**6, warmup_ratio=0.0)
    lr = DEFAULT_LR["lora"]
    acc = make_accelerator(cfg, "cpu")
    # One count of the tokens for both sides: the same batches, one tokenizer, padding aside.
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    bare, ours, broken = [], [], []
    for r in range(args.repeats):
        model, _ = trainable_copy(handle.model, "lora", cfg)
        bare.append(tokens / bare_loop(model, batches, lr=lr, max_grad_norm=cfg.max_grad_norm))
        model, _ = trainable_copy(handle.model, "lora", cfg)
        result = train(model, handle.tokenizer, stream, stream[:1], cfg, lr=lr, accelerator=acc, shuffle=False,
                       show_progress=False, label="bench")
        ours.append(tokens / max(result.seconds - result.eval_seconds, 1e-9))  # its validation left out, as in run.json
        if (result.tokens, result.steps) != (tokens, len(batches)):  # it must have trained on exactly these batches
            broken.append(f"harness loop trained {result.tokens} tokens in {result.steps} steps, not {tokens} in "
                          f"{len(batches)}")
        print(f"repeat {r + 1}: bare {bare[-1]:.1f} tok/s · harness loop {ours[-1]:.1f} tok/s; {load()}", flush=True)
    ratio = statistics.median(ours) / statistics.median(bare)
    print(f"training tokens/s, LoRA, {args.steps} steps x batch {args.batch_size} on {handle.name}: "
          f"bare PyTorch+PEFT {statistics.median(bare):.1f} · harness loop {statistics.median(ours):.1f} · "
          f"ratio {ratio:.3f} (target >= {TARGET})")
    finish("training", [claim("LoRA training tokens/s vs bare PyTorch+PEFT", ratio, f">= {TARGET}x", ratio >= TARGET,
                              note=f"{tokens} tokens, {len(batches)} steps, {args.repeats} alternating repeats")],
           "; ".join(broken) or None, bare_tps=statistics.median(bare), harness_tps=statistics.median(ours),
           tokens=tokens, load=load())


if __name__ == "__main__":
    main()

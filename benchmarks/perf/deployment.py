"""Deployment form: per-query latency of a trained LoRA adapter, merged and unmerged, against the base model, on
the same prompts in ONE process (so a shared machine's load hits all three alike; the order rotates per round).

    python -m benchmarks.perf.deployment [--n 32] [--rounds 2] [--threads 1] [--steps 16] [--batch-size 8]

The three models take turns on every batch (in rotating order), so each ratio compares runs seconds apart; the
median of those paired per-batch ratios is the robust figure on a shared machine.

The adapter is trained for a few steps through the strategy's own code path (`LoRA.fit`: the accelerator, the
training loop, the validation generations), so whatever training leaves behind is in the measured model. Output
lengths differ between models (an adapter that learned short summaries stops sooner), so the ratios are given per
query and per generated token. The claim: merged costs at most 1.1x the base per generated token; merged and
unmerged must give the same outputs on at least 90% of prompts, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import copy

from benchmarks.perf.common import Timer, claim, finish, load

TARGET = 1.1  # a merged adapter is the base's architecture with other weights: no slower per token, within noise
SAME = 0.9  # merged and unmerged greedy outputs: equal on at least this share (float32 rounding of the merge can
#            flip a near-tie, and a flipped token changes the rest of that answer)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32, help="test prompts of summarization")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (on a shared CPU pass 1)")
    ap.add_argument("--steps", type=int, default=16, help="training steps of the adapter (16: the default lora run)")
    ap.add_argument("--batch-size", type=int, default=8, help="prompts per batch; the models alternate per batch")
    args = ap.parse_args(argv)

    import torch

    from harness.backends.cache import RunCache
    from harness.config import validate
    from harness.strategy.context import RunContext
    from harness.backends.hf import load_generator
    from harness.tasks.load import load_task
    from strategies.finetune.strategy import LoRA
    from strategies.finetune.trainer import make_accelerator
    from strategies.finetune.peft_methods import deployable
    from strategies.finetune.settings import FinetuneConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    config = validate({"task": "summarization", "finetune": {"max_steps": args.steps, "val_examples": 2,
                                                             "eval_every": 1000}})
    handle = load_generator(None, device="cpu")
    task = load_task("summarization", limit=max(args.n, 4 * args.steps))
    ctx = RunContext(config, task, handle, RunCache())
    cfg = config.section(FinetuneConfig)
    acc = make_accelerator(cfg, "cpu")
    with Timer() as t_train:
        trained, _, _ = LoRA().fit(ctx, cfg, task.split("train")[: 4 * args.steps], task.split("validation")[:2], acc)
    unmerged = deployable(copy.deepcopy(trained), handle, "lora", merge=False)
    merged = deployable(trained, handle, "lora", merge=True)
    prompts = [handle.render(task.messages(ex)) for ex in task.split("test")[: args.n]]
    print(f"{len(prompts)} prompts, trained {args.steps} steps in {t_train.seconds:.0f} s, torch threads "
          f"{torch.get_num_threads()}, {load()}")
    models = {"base": handle, "merged": merged, "unmerged": unmerged}
    batches = [prompts[i : i + args.batch_size] for i in range(0, len(prompts), args.batch_size)]
    seconds, tokens, ratios, texts = _alternate(models, batches, args.rounds, task.max_new_tokens)
    per_query = {k: seconds[k] / (args.rounds * len(prompts)) for k in models}
    per_token = {k: seconds[k] / max(tokens[k], 1) for k in models}
    median = {k: sorted(v)[len(v) // 2] for k, v in ratios.items()}
    for k in models:
        print(f"{k}: {per_query[k]:.3f} s/query ({per_query[k] / per_query['base']:.2f}x base; median paired batch "
              f"ratio {median.get(k, 1.0):.2f}), {tokens[k] / (args.rounds * len(prompts)):.1f} tokens out per query, "
              f"{per_token[k] * 1000:.1f} ms/token out ({per_token[k] / per_token['base']:.2f}x base)")
    same = sum(a == b for a, b in zip(texts["merged"], texts["unmerged"])) / len(prompts)
    merged_tok = per_token["merged"] / per_token["base"]
    claims = [claim("merged LoRA seconds per generated token vs the base model", merged_tok, f"<= {TARGET}x",
                    merged_tok <= TARGET, note=f"per query {per_query['merged'] / per_query['base']:.2f}x, median "
                                               f"paired batch ratio {median['merged']:.2f}x"),
              claim("unmerged LoRA seconds per generated token vs the base model",
                    per_token["unmerged"] / per_token["base"], "(report)", None)]
    finish("deployment", claims, None if same >= SAME else f"merged and unmerged outputs equal on {same:.0%} of "
           f"prompts (< {SAME:.0%})", per_query=per_query, per_token=per_token, tokens=tokens, prompts=len(prompts),
           rounds=args.rounds, merged_ratio=per_query["merged"] / per_query["base"], same_merged_unmerged=same,
           unmerged_ratio=per_query["unmerged"] / per_query["base"], median_paired_ratio=median, load=load())


def _alternate(models: dict, batches: list[list[str]], rounds: int, max_new_tokens: int):
    """Every model generates every batch, taking turns batch by batch (seconds apart, so under the same load): total
    seconds and tokens out per model, and per batch each adapted model's time over the base's."""
    from harness.backends.hf_generate import generate

    seconds = {k: 0.0 for k in models}
    texts: dict[str, list[str]] = {k: [] for k in models}  # the first round's outputs
    tokens = {k: 0 for k in models}
    ratios: dict[str, list[float]] = {"merged": [], "unmerged": []}
    names = list(models)
    step = 0
    for r in range(rounds):
        for b, batch in enumerate(batches):
            took = {}
            for name in names[step % 3:] + names[: step % 3]:  # rotate: no model always runs first
                with Timer() as t:
                    gens = generate(models[name], batch, max_new_tokens=max_new_tokens, batch_size=len(batch))
                took[name] = t.seconds
                seconds[name] += t.seconds
                tokens[name] += sum(g.tokens_out for g in gens)  # one tokenizer: the three share the base's
                if r == 0:
                    texts[name] += [g.text for g in gens]
            step += 1
            for k in ratios:
                ratios[k].append(took[k] / took["base"])
            print(f"round {r + 1} batch {b + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()) + f"; {load()}")
    return seconds, tokens, ratios, texts


if __name__ == "__main__":
    main()

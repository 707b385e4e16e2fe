"""Generation throughput: harness.backends.hf_generate against a per-example `model.generate` loop and against
`transformers.pipeline("text-generation")`, on the same prompts of the default model (greedy, same lengths).

    python -m benchmarks.perf.generation [--n 16] [--max-new-tokens 64]
"""

from __future__ import annotations

import argparse

from benchmarks.perf.common import Timer, emit, load, peak_rss_mb


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32, help="prompts (test examples of summarization)")
    ap.add_argument("--max-new-tokens", type=int, default=48, help="the summarization task's setting")
    ap.add_argument("--batch-size", type=int, default=32, help="the harness's default")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for all three (default: torch's, one "
                    "per core; on a shared CPU pass 1: more threads than free cores slow every method down a lot)")
    args = ap.parse_args(argv)

    import torch

    from harness.backends.hf_generate import generate
    from harness.backends.hf import load_generator
    from harness.tasks.load import load_task

    if args.threads:
        torch.set_num_threads(args.threads)
    handle = load_generator(None, device="cpu")
    task = load_task("summarization", limit=args.n)
    prompts = [handle.render(task.messages(ex)) for ex in task.split("test")]
    tok, model = handle.tokenizer, handle.model
    n_new = args.max_new_tokens
    print(f"{len(prompts)} prompts, {n_new} new tokens max, model {handle.name}, torch threads "
          f"{torch.get_num_threads()}, {load()}")

    with Timer() as t_harness:
        gens = generate(handle, prompts, max_new_tokens=n_new, batch_size=args.batch_size)
    tokens_out = sum(g.tokens_out for g in gens)
    print(f"harness.backends.hf_generate (batch {args.batch_size}): {t_harness.seconds:.1f} s, {tokens_out} tokens out")

    import harness.backends.hf_generate as harness_generate

    shared, harness_generate.MIN_SHARED_PREFIX = harness_generate.MIN_SHARED_PREFIX, 10**9
    with Timer() as t_plain:
        plain = generate(handle, prompts, max_new_tokens=n_new, batch_size=args.batch_size)
    harness_generate.MIN_SHARED_PREFIX = shared
    print(f"harness.backends.hf_generate without the shared-prefix cache: {t_plain.seconds:.1f} s")

    loop_texts, t_loop = _per_example_loop(model, tok, prompts, n_new)
    t_pipe = _pipeline(model, tok, prompts, n_new)

    agree = sum(g.text == t for g, t in zip(gens, loop_texts)) / len(prompts)
    agree_plain = sum(g.text == t.text for g, t in zip(gens, plain)) / len(prompts)
    print(f"outputs identical to the per-example loop: {agree:.0%}, to batching without the prefix cache: "
          f"{agree_plain:.0%} (greedy; float rounding can flip near-ties)")
    emit("generation", prompts=len(prompts), max_new_tokens=n_new, harness_s=t_harness.seconds,
         loop_s=t_loop.seconds, pipeline_s=t_pipe.seconds, vs_loop=t_loop.seconds / t_harness.seconds,
         vs_pipeline=t_pipe.seconds / t_harness.seconds, same_outputs=agree, no_prefix_cache_s=t_plain.seconds,
         prefix_cache_gain=t_plain.seconds / t_harness.seconds, peak_rss_mb=peak_rss_mb(), load=load())


def _per_example_loop(model, tok, prompts: list[str], n_new: int):
    """Plain transformers, one prompt at a time: the baseline every batching scheme is measured against."""
    import torch

    texts = []
    with Timer() as t_loop, torch.inference_mode():
        for p in prompts:
            enc = tok(p, return_tensors="pt", add_special_tokens=False)
            out = model.generate(**enc, max_new_tokens=n_new, do_sample=False, temperature=None, top_p=None,
                                 top_k=None, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            texts.append(tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    print(f"per-example model.generate loop: {t_loop.seconds:.1f} s")
    return texts, t_loop


def _pipeline(model, tok, prompts: list[str], n_new: int):
    """transformers' own batched generation, as most users would call it."""
    import torch
    from transformers import pipeline

    pipe = pipeline("text-generation", model=model, tokenizer=tok, device="cpu")
    with Timer() as t_pipe, torch.inference_mode():
        pipe(prompts, max_new_tokens=n_new, do_sample=False, return_full_text=False, pad_token_id=tok.pad_token_id)
    print(f"transformers.pipeline (its default batching): {t_pipe.seconds:.1f} s")
    return t_pipe


if __name__ == "__main__":
    main()

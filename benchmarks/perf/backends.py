"""Generation throughput by backend: `hf` (harness.backends.hf_generate in this process) against `vllm` (vLLM's offline engine
in this process) and `openai` (the same prompts sent to a local vLLM OpenAI-compatible server), on the same
prompts of the default model, float32, greedy; outputs compared. Target: vllm >= 3x hf on this CPU. Tokens/s on
every side are counted with one tokenizer (hf's, on each backend's output text); vllm's and openai's outputs must
equal hf's on at least 95% of prompts, or the benchmark fails.

    python -m benchmarks.perf.backends [--n 64] [--max-new-tokens 48]

Start-up is timed apart from generation (an engine starts once per run). The server runs in its own process with
the same settings (`--dtype float32 --enforce-eager`); generation is timed from the client, so it includes HTTP.

Two more rows explain the ratio. `transformers generate` is plain `model.generate` on padded batches of the same
size, the baseline most "vLLM is Nx faster" figures use; our hf backend is faster than it (it batches by length
and reuses the shared prompt prefix's KV cache). `prefill` runs each of hf and vllm with one new token: on a CPU
the prompts' forward pass is compute bound, so hf's time over vllm's prefill time is the most any decoding
speed-up could give vllm here. vLLM on a CPU runs faster with tcmalloc and Intel's OpenMP preloaded (`make bench`
preloads them where present); the result says whether they were.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmarks.perf.common import Timer, claim, emit, finish, load, peak_rss_mb

TARGET = 3.0
SAME = 0.95  # greedy float32 outputs equal to hf's on at least this share (a near-tie may flip one token)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64, help="prompts (test examples of summarization)")
    ap.add_argument("--max-new-tokens", type=int, default=48, help="the summarization task's setting")
    ap.add_argument("--batch-size", type=int, default=32, help="the harness's default (hf)")
    args = ap.parse_args(argv)

    from harness.backends.hf import load_generator
    from harness.tasks.load import load_task
    from tests.servers import vllm_importable

    why = vllm_importable()
    if why:
        print(f"SKIPPED: {why}")
        emit("backends", skipped=why)
        return
    hf = load_generator(None, device="cpu")
    task = load_task("summarization", None, limit=args.n)
    prompts = [hf.render(task.messages(ex)) for ex in task.split("test")][: args.n]
    n_new = args.max_new_tokens
    print(f"{len(prompts)} prompts, {n_new} new tokens max, model {hf.name}, {load()}")
    timings, outputs, tokens = {}, {}, {}

    def run(name: str, backend, **kw) -> None:
        with Timer() as t:
            gens = backend.generate(prompts, max_new_tokens=n_new, **kw)
        timings[name], outputs[name] = t.seconds, [g.text for g in gens]
        # one tokenizer for every side's rate: the hf tokenizer on each backend's text (not each one's own count)
        tokens[name] = sum(len(hf.tokenizer(g.text, add_special_tokens=False)["input_ids"]) for g in gens)
        print(f"{name}: {t.seconds:.1f} s, {tokens[name]} tokens out, {tokens[name] / t.seconds:.1f} tokens/s ({load()})")

    run("hf", hf, batch_size=args.batch_size)
    run("transformers generate", PlainGenerate(hf), batch_size=args.batch_size)
    with Timer() as hf_prefill:
        hf.generate(prompts, max_new_tokens=1, batch_size=args.batch_size)
    print(f"hf prefill (1 new token): {hf_prefill.seconds:.1f} s")
    vllm_prefill, start_engine, start_server = _served(run, prompts, n_new, timings["hf"], hf.tokenizer)
    rate = {k: tokens[k] / timings[k] for k in timings}
    same = {k: sum(a == b for a, b in zip(outputs[k], outputs["hf"])) / len(prompts) for k in ("vllm", "openai")}
    print(f"outputs identical to hf: vllm {same['vllm']:.0%}, openai {same['openai']:.0%}")
    print(f"vllm: {rate['vllm'] / rate['hf']:.2f}x hf, {rate['vllm'] / rate['transformers generate']:.2f}x "
          f"transformers generate; preloaded: {preloaded() or 'nothing'}")
    claims = [claim("generation tokens/s: vllm vs hf", rate["vllm"] / rate["hf"], f">= {TARGET}x",
                    rate["vllm"] / rate["hf"] >= TARGET, note=f"{len(prompts)} prompts, identical {same['vllm']:.0%}"),
              claim("generation tokens/s: openai->local vLLM vs hf", rate["openai"] / rate["hf"], "(report)", None,
                    note=f"identical {same['openai']:.0%}")]
    differ = [f"{k} equals hf on {v:.0%} of prompts (< {SAME:.0%})" for k, v in same.items() if v < SAME]
    finish("backends", claims, "; ".join(differ) or None, prompts=len(prompts), max_new_tokens=n_new, hf_s=timings["hf"], vllm_s=timings["vllm"],
         openai_s=timings["openai"], vllm_vs_hf=rate["vllm"] / rate["hf"], openai_vs_hf=rate["openai"] / rate["hf"],
         generate_s=timings["transformers generate"], vllm_vs_generate=rate["vllm"] / rate["transformers generate"],
         hf_prefill_s=hf_prefill.seconds, vllm_prefill_s=vllm_prefill.seconds,
         vllm_bound_vs_hf=timings["hf"] / vllm_prefill.seconds, preloaded=preloaded(),
         same_vllm=same["vllm"], same_openai=same["openai"], engine_start_s=start_engine.seconds,
         server_start_s=start_server.seconds, peak_rss_mb=peak_rss_mb(), load=load())


def _served(run, prompts: list[str], n_new: int, hf_seconds: float, tokenizer):
    """vllm in-process (a full run, then prefill only) and the openai backend against a local vLLM server."""
    from harness.backends.openai import OpenAIBackend
    from harness.backends.vllm import VLLMBackend
    from harness.backends.hf import resolve
    from tests.servers import VLLMServer

    with Timer() as start_engine:
        engine = VLLMBackend("default", resolve(None).path, kv_cache_gb=1)
    print(f"vllm engine start-up: {start_engine.seconds:.1f} s")
    run("vllm", engine)
    engine.llm.reset_prefix_cache()  # else the prompts' KV blocks are still cached from the run above
    with Timer() as vllm_prefill:
        engine.generate(prompts, max_new_tokens=1)
    print(f"vllm prefill (1 new token): {vllm_prefill.seconds:.1f} s; at most "
          f"{hf_seconds / vllm_prefill.seconds:.2f}x hf however fast vllm decoded")
    engine.close()
    with Timer() as start_server:
        server = VLLMServer(resolve(None).path).wait()
    print(f"vllm server start-up: {start_server.seconds:.1f} s")
    try:
        run("openai", OpenAIBackend(server.name, server.base_url, tokenizer=tokenizer, concurrency=32))
    finally:
        server.stop()
    return vllm_prefill, start_engine, start_server


class PlainGenerate:
    """`model.generate` on left-padded batches in prompt order: transformers without the hf backend's batching."""

    def __init__(self, hf):
        self.hf = hf

    def generate(self, prompts, *, max_new_tokens, batch_size):
        import torch

        from harness.backends.base import Generation

        tok, gens = self.hf.tokenizer, []
        for s in range(0, len(prompts), batch_size):
            enc = tok(prompts[s : s + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = self.hf.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, temperature=None,
                                             top_p=None, top_k=None, pad_token_id=tok.pad_token_id)
            for row in out[:, enc["input_ids"].shape[1]:]:
                new = row[row != tok.pad_token_id]
                gens.append(Generation(tok.decode(new, skip_special_tokens=True).strip(), 0, len(new), 0.0, False))
        return gens


def preloaded() -> str:
    """The libraries in LD_PRELOAD that vLLM's CPU backend asks for."""
    names = os.environ.get("LD_PRELOAD", "").replace(":", " ").split()
    return " ".join(Path(n).name for n in names if "tcmalloc" in n or "iomp" in n)


if __name__ == "__main__":
    main()

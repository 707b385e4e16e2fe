"""Generation throughput by backend: `hf` (harness.generate in this process) against `vllm` (vLLM's offline engine
in this process) and `openai` (the same prompts sent to a local vLLM OpenAI-compatible server), on the same
prompts of the default model, float32, greedy; outputs compared. Target: vllm >= 3x hf on this CPU.

    python -m benchmarks.perf.backends [--n 64] [--max-new-tokens 48]

Start-up is timed apart from generation (an engine starts once per run). The server runs in its own process with
the same settings (`--dtype float32 --enforce-eager`); generation is timed from the client, so it includes HTTP.
"""

from __future__ import annotations

import argparse

from benchmarks.perf.common import Timer, emit, load, peak_rss_mb


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64, help="prompts (test examples of summarization)")
    ap.add_argument("--max-new-tokens", type=int, default=48, help="the summarization task's setting")
    ap.add_argument("--batch-size", type=int, default=32, help="the harness's default (hf)")
    args = ap.parse_args(argv)

    from harness.backends.openai import OpenAIBackend
    from harness.backends.vllm import VLLMBackend
    from harness.models import load_generator, resolve
    from harness.tasks import load_task
    from tests.servers import VLLMServer, vllm_importable

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
        tokens[name] = sum(g.tokens_out for g in gens)
        print(f"{name}: {t.seconds:.1f} s, {tokens[name]} tokens out, {tokens[name] / t.seconds:.1f} tokens/s ({load()})")

    run("hf", hf, batch_size=args.batch_size)
    with Timer() as start_engine:
        engine = VLLMBackend("default", resolve(None).path, kv_cache_gb=1)
    print(f"vllm engine start-up: {start_engine.seconds:.1f} s")
    run("vllm", engine)
    engine.close()
    with Timer() as start_server:
        server = VLLMServer(resolve(None).path).wait()
    print(f"vllm server start-up: {start_server.seconds:.1f} s")
    try:
        run("openai", OpenAIBackend(server.name, server.base_url, tokenizer=hf.tokenizer, concurrency=32))
    finally:
        server.stop()
    rate = {k: tokens[k] / timings[k] for k in timings}
    same = {k: sum(a == b for a, b in zip(outputs[k], outputs["hf"])) / len(prompts) for k in ("vllm", "openai")}
    print(f"outputs identical to hf: vllm {same['vllm']:.0%}, openai {same['openai']:.0%}")
    emit("backends", prompts=len(prompts), max_new_tokens=n_new, hf_s=timings["hf"], vllm_s=timings["vllm"],
         openai_s=timings["openai"], vllm_vs_hf=rate["vllm"] / rate["hf"], openai_vs_hf=rate["openai"] / rate["hf"],
         same_vllm=same["vllm"], same_openai=same["openai"], engine_start_s=start_engine.seconds,
         server_start_s=start_server.seconds, peak_rss_mb=peak_rss_mb(), load=load())


if __name__ == "__main__":
    main()

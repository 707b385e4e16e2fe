"""Measure a model's accuracy on the probe suites (forgetting per category vs chance, BBQ figures), with 95% CIs.

    python -m benchmarks.probes.measure_base [--model DIR] [--forgetting-probe PATH] [--bbq PATH]

The numbers in benchmarks/probes/README.md ("Base-model accuracy") come from this script on the default model.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness.probes import bias
from harness.backends.cache import NoCache
from harness.backends.hf_generate import perplexity, score_choices
from harness.backends.hf import load_generator
from harness.probes.data import load_bbq, load_choice_items, read_general_text, sample
from harness.probes.probe import pick
from harness.measure.stats import summarize


def fmt(s) -> str:
    return f"{s['value']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--forgetting-probe", default="builtin")
    ap.add_argument("--bbq", default="builtin")
    ap.add_argument("--items", type=int, default=0, help="seeded sample per set (0: all)")
    args = ap.parse_args()
    handle = load_generator(args.model, device="cpu")
    print(f"model {handle.name} ({handle.fingerprint})")
    for name, items in load_choice_items(args.forgetting_probe).items():
        items = sample(items, args.items, 0)
        start = time.perf_counter()
        scored = score_choices(handle, [(it.context, list(it.choices)) for it in items], cache=NoCache())
        secs = time.perf_counter() - start
        correct = np.array([pick(s) == it.answer for s, it in zip(scored, items)], dtype=float)
        cats = sorted({it.category for it in items})
        print(f"\n{name}: {len(items)} items, {len(items) / secs:.1f} items/s")
        print("| category | items | accuracy [95% CI] | chance |\n|---|---|---|---|")
        for cat in cats + ["all"]:
            idx = [i for i, it in enumerate(items) if cat in ("all", it.category)]
            chance = np.mean([1 / len(items[i].choices) for i in idx])
            print(f"| {cat} | {len(idx)} | {fmt(vars(summarize('accuracy', correct[idx])))} | {chance:.3f} |")
    for name, items in load_bbq(args.bbq).items():
        items = sample(items, args.items, 0)
        scored = score_choices(handle, [(it.prompt, [" " + a for a in it.answers]) for it in items], cache=NoCache())
        figures = bias.bbq_scores(bias.BBQOutcome.of(items, [pick(s) for s in scored]))
        print(f"\n{name}: {len(items)} items\n| figure | value [95% CI] | n |\n|---|---|---|")
        for fig, s in figures.items():
            print(f"| {fig} | {fmt(s)} | {s['n']} |")
    ppl = perplexity(handle, [t for _, t in read_general_text()], cache=NoCache())
    nll, tokens = -sum(s.logprob for s in ppl), sum(s.tokens for s in ppl)
    print(f"\ngeneral_text: perplexity {np.exp(nll / tokens):.2f} over {tokens} tokens")


if __name__ == "__main__":
    main()

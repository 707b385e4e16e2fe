"""`python -m benchmarks.perf` (what `make bench` runs): every performance benchmark, each in its own process,
then a table of ratios against their targets, printed last.

    python -m benchmarks.perf                        # the full default run (slow on a 2-core CPU)
    python -m benchmarks.perf --quick                # fewer prompts and a --limit on the end-to-end run (says so)
    python -m benchmarks.perf --only generation,scale

Benchmarks of other parts (retrieval.py, training.py, probes.py, deployment.py, backends.py) run too; each ends
with its RESULT LINE (figure, target, pass/fail) and all of them are in the closing table. The exit status is 1
when a benchmark failed, printed no result, disagreed with its baseline's outputs or missed a target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from benchmarks.perf.common import load

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OURS = ["generation", "end_to_end", "scale"]
OTHERS = ["retrieval", "training", "probes", "deployment", "backends", "adaptive"]
# --quick: smaller sizes for the others too (each still ends with its result line)
QUICK = {"retrieval": ["--sizes", "10000", "--queries", "200"],
         "training": ["--steps", "2", "--batch-size", "2", "--repeats", "1"], "probes": ["--n", "8", "--repeats", "1"],
         "deployment": ["--n", "4", "--rounds", "1", "--steps", "2", "--batch-size", "4"], "backends": ["--n", "16"],
         "adaptive": ["--limit", "48"]}


def run_module(name: str, args: list[str]) -> tuple[list[dict], int, float]:
    """Run benchmarks.perf.<name> in a subprocess, streaming its output; return its RESULT lines, status, peak MB."""
    print(f"\n=== {name} {' '.join(args)} ===", flush=True)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # kept: e.g. a --target dir
    proc = subprocess.Popen([sys.executable, "-m", f"benchmarks.perf.{name}", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=path))
    results = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.startswith("RESULT {"):  # the JSON line (a "RESULT LINE ..." is for people)
            results.append(json.loads(line[7:]))
    proc.wait()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    return results, proc.returncode, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="16 prompts for generation, --limit 16 end to end")
    ap.add_argument("--n", type=int, help="prompts for the generation benchmark (default 32, one batch)")
    ap.add_argument("--limit", type=int, help="--limit for the end-to-end run (default: none, the full run)")
    ap.add_argument("--only", help="comma-separated benchmark names")
    args = ap.parse_args()
    n = args.n or (16 if args.quick else 32)
    limit = args.limit or (16 if args.quick else None)
    extra = {"generation": ["--n", str(n)], "end_to_end": ["--limit", str(limit)] if limit else [], "scale": [],
             **(QUICK if args.quick else {})}
    names = [m for m in OURS + OTHERS if (HERE / f"{m}.py").exists()]
    if args.only:
        names = [m for m in names if m in args.only.split(",")]
    print(f"benchmarks: {', '.join(names)}; {load()}")
    results: dict[str, dict] = {}
    status: dict[str, str] = {}
    for name in names:
        found, code, peak = run_module(name, extra.get(name, []))
        status[name] = "ok" if code == 0 else f"failed ({code})"
        if not found:
            status[name] = f"no result line (exit {code})"
        for r in found:
            results[r.get("benchmark", name)] = r
        results.setdefault(name, {}).setdefault("peak_rss_mb", peak)
    print_table(results, status, n, limit)
    missed = [r for res in results.values() for r in res.get("claims", []) if r["met"] is False]
    if missed or any(st != "ok" for st in status.values()):
        sys.exit(1)


def print_table(results: dict[str, dict], status: dict[str, str], n: int, limit: int | None) -> None:
    rows = []
    g, e, s = results.get("generation"), results.get("end_to_end"), results.get("scale")
    if g and "vs_loop" in g:
        rows.append(("generation vs per-example generate loop", f"{g['vs_loop']:.2f}x", ">= 4x", g["vs_loop"] >= 4,
                     f"{g['prompts']} prompts, {g['max_new_tokens']} new tokens"))
        rows.append(("generation: shared-prefix cache vs plain batching", f"{g['prefix_cache_gain']:.2f}x",
                     "(report)", None, f"outputs equal to the loop: {g['same_outputs']:.0%}"))
        rows.append(("generation vs transformers.pipeline", f"{g['vs_pipeline']:.2f}x", "(report)", None,
                     f"{g['harness_s']:.1f} s vs {g['pipeline_s']:.1f} s"))
    b = results.get("backends")
    if b and "skipped" in b:
        rows.append(("generation tokens/s: vllm vs hf", "skipped", ">= 3x", None, b["skipped"]))
    if e and "warm_s" in e:
        scope = "the full default run" if not limit else f"--limit {limit} (not the full run)"
        rows.append(("default run, warm re-run", f"{e['warm_s']:.1f} s", "<= 30 s", e["warm_s"] <= 30, "cache answered all"
                     if e["warm_all_cached"] else "cache MISSED"))
        rows.append(("default run, cold", f"{e['cold_s']:.1f} s", "<= 600 s" if not limit else "(limited)",
                     e["cold_s"] <= 600 if not limit else None, scope))
        rows.append(("cold / warm", f"{e['cold_s'] / e['warm_s']:.1f}x", "(report)", None, ""))
    if s and "growth_over_predictions" in s:
        rows.append((f"scale to {s['examples']}: extra memory / extra predictions written",
                     f"{s['growth_over_predictions']:.2f}x", "(report)", None,
                     f"+{s['growth_mb']:.0f} MB over baseline; predictions file {s['predictions_mb']:.0f} MB"))
    for name, r in results.items():  # every benchmark's own claims (benchmarks.perf.common.finish)
        for c in r.get("claims", []):
            rows.append((f"{name}: {c['measure']}", f"{c['value']:.3g}{c['unit']}", c["target"], c["met"], c["note"]))
        if r.get("agreement", "ok") != "ok":
            rows.append((f"{name}: outputs agree", "no", "agree", False, r["agreement"]))
    for name, r in results.items():
        if "peak_rss_mb" in r:
            rows.append((f"peak memory: {name}", f"{r['peak_rss_mb']:.0f} MB", "(report)", None, status.get(name, "")))
    for name, st in status.items():
        if st != "ok":
            rows.append((f"{name}", st, "", False, ""))
    print(f"\n=== results ({load()}) ===")
    width = max(len(r[0]) for r in rows) if rows else 10
    print(f"{'measure':<{width}}  {'value':>10}  {'target':>9}  met  note")
    for label, value, target, ok, note in rows:
        mark = "yes" if ok else ("NO" if ok is False else "")
        print(f"{label:<{width}}  {value:>10}  {target:>9}  {mark:>3}  {note}")


if __name__ == "__main__":
    main()

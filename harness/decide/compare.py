"""`harness compare RUN_A RUN_B`: two runs side by side; where a strategy appears in both and their test
examples match (by id), a paired test of B − A on each metric, Holm-adjusted over all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.measure.stats import holm, paired_difference
from harness.record.store import RunStore


def compare_runs(run_a: Path, run_b: Path, *, alpha: float = 0.05) -> dict[str, Any]:
    stores = RunStore.open(run_a), RunStore.open(run_b)
    recs = [s.read() for s in stores]
    names = list(dict.fromkeys([n for r in recs for n in r.names()]))
    metrics = list(dict.fromkeys([m for r in recs for m in (r.task.metrics if r.task else [])]))
    rows = []
    for name in names:
        for m in metrics:
            sa, sb = (r.strategies[name].score(m) if name in r.strategies else None for r in recs)
            if not sa and not sb:
                continue
            row: dict[str, Any] = {"strategy": name, "metric": m, "a": sa, "b": sb, "paired": None}
            if sa and sb:
                pa, pb = ({p["example_id"]: p.get("scores", {}).get(m) for p in s.read_predictions(name)} for s in stores)
                ids = sorted(k for k in pa if k in pb and pa[k] is not None and pb[k] is not None)
                if ids:
                    row["paired"] = paired_difference([pb[k] for k in ids], [pa[k] for k in ids])
                    row["unmatched"] = len(set(pa) ^ set(pb))
            rows.append(row)
    tested = [r for r in rows if r["paired"]]
    for r, p in zip(tested, holm([r["paired"].p_value for r in tested])):
        r["p_holm"], r["significant"] = p, p < alpha
    return {"runs": [str(s.path) for s in stores], "models": [r.model.name if r.model else None for r in recs],
            "fingerprints": [r.model.fingerprint if r.model else None for r in recs], "rows": rows}


def print_comparison(result: dict[str, Any]) -> None:
    from rich.table import Table

    from harness.console import console

    a, b = (Path(p).name for p in result["runs"])
    table = Table(title=f"A = {a} ({result['models'][0]})\nB = {b} ({result['models'][1]})\n"
                        "test split · mean [95% CI] · B − A paired on matching example ids, Holm-adjusted")
    for col in ("strategy", "metric", "A", "B", "B − A [95% CI]", "n", "Holm p", "verdict"):
        table.add_column(col, justify="left" if col in ("strategy", "metric", "verdict") else "right")
    fmt = lambda s: f"{s.value:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]" if s else "–"  # noqa: E731
    for r in result["rows"]:
        p = r["paired"]
        if p:
            higher = (r["a"] or r["b"]).higher_is_better
            better = "B" if (p.value > 0) == higher else "A"
            verdict = f"{better} better" if r["significant"] and p.value != 0 else "inside the noise"
            cells = [f"{p.value:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]", str(p.n), f"{r['p_holm']:.2g}", verdict]
        else:
            cells = ["–", "–", "–", "no matching examples" if r["a"] and r["b"] else "only in one run"]
        table.add_row(r["strategy"], r["metric"], fmt(r["a"]), fmt(r["b"]), *cells)
    console.print(table)

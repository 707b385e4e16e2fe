"""report.html from run.json alone: one self-contained file (inline CSS, inline SVG plots, no scripts, nothing
fetched). Jinja2 autoescape escapes every dataset and model string; only our own SVG plots are marked safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness import cost as costs
from harness.store import RunStore
from reports import plots
from reports.markdown import strategy_models

TEMPLATES = Path(__file__).parent / "templates"
SAMPLES = 4
TEXT_LIMIT = 1200


def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["score"] = lambda s: "–" if not s else f"{s['value']:.3f}"
    env.filters["ci"] = lambda s: "" if not s else f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]"
    env.filters["signed"] = lambda x: "–" if x is None else f"{x:+.3f}"
    env.filters["num"] = lambda x, d=3: "–" if x is None else f"{x:.{d}f}"
    env.filters["pval"] = lambda x: "–" if x is None else (f"{x:.2g}" if x >= 0.001 else "<0.001")
    env.filters["dollars"] = costs.fmt_dollars
    env.filters["count"] = costs.fmt_count
    env.filters["mb"] = lambda x: "–" if not x else f"{x:,.0f} MB"
    env.filters["bytes"] = lambda x: "–" if not x else (f"{x / 2**20:,.1f} MiB" if x >= 2**20 else f"{x / 1024:,.1f} KiB")
    env.filters["clip"] = lambda t, n=TEXT_LIMIT: t if len(str(t)) <= n else str(t)[: n - 1] + "…"
    return env


def _names(rec: dict[str, Any]) -> list[str]:
    return [n for n in rec.get("strategy_order", rec.get("strategies", {})) if n in rec.get("strategies", {})]


def _samples(store: RunStore, names: list[str], metric: str) -> list[dict[str, Any]]:
    """The examples where the strategies disagree most on the decision metric, outputs side by side."""
    preds = {n: {r["example_id"]: r for r in store.read_predictions(n)} for n in names}
    if not names or not preds[names[0]]:
        return []
    ids = [i for i in preds[names[0]] if all(i in preds[n] for n in names)] or list(preds[names[0]])

    def spread(i: str) -> float:
        vals = [preds[n][i].get("scores", {}).get(metric) for n in names if i in preds[n]]
        vals = [v for v in vals if v is not None]
        return (max(vals) - min(vals)) if vals else 0.0

    ids.sort(key=lambda i: (-spread(i), i))
    out = []
    for i in ids[:SAMPLES]:
        first = preds[names[0]][i]
        out.append({"id": i, "prompt": first.get("prompt", ""), "references": first.get("references", []),
                    "outputs": [{"strategy": n, "output": preds[n][i]["output"] if i in preds[n] else None,
                                 "score": preds[n].get(i, {}).get("scores", {}).get(metric)} for n in names]})
    return out


def context(store: RunStore) -> dict[str, Any]:
    from markupsafe import Markup

    from reports.search_section import plot as search_plot
    from reports.search_section import searches, summary

    from reports.legacy import legacy_view

    record = store.read()
    rec = legacy_view(record)
    names = _names(rec)
    results = rec.get("strategies", {})
    task = rec.get("task", {})
    recommendation = rec.get("recommendation") or {}
    metric = recommendation.get("metric") or (task.get("metrics") or [""])[0]
    metrics = task.get("metrics") or sorted({m for r in results.values() for m in r.get("metrics", {}).get("test", {})})
    splits = sorted({s for r in results.values() for s in r.get("metrics", {})}, key=lambda s: (s != "test", s))
    ledger = (rec.get("cost_ledger") or {}).get("strategies", {})

    def svg(text: str | None):
        return Markup(text) if text else None  # our own matplotlib output; its text is escaped by matplotlib

    bars = [svg(plots.metric_bars(names, {n: results[n].get("metrics", {}).get("test", {}).get(m) for n in names
                                          if results[n].get("metrics", {}).get("test", {}).get(m)}, m)) for m in metrics]
    horizon = (rec.get("cost_ledger") or {}).get("horizon_months", 12)
    dollars = {n: r.get("horizon_dollars") for n, r in ledger.items()}
    scatter = svg(plots.quality_vs_cost(
        names, {n: results[n]["metrics"]["test"][metric] for n in names if metric in results[n].get("metrics", {}).get("test", {})},
        dollars, metric, f"dollars over {horizon:g} months (setup + queries at the expected volume)",
        recommendation.get("recommended")))
    curves = [svg(plots.learning_curve(results[n]["learning_curve"], n)) for n in names if results[n].get("learning_curve")]
    forgetting = [(n, probe, e.model_dump(mode="json")) for n in names
                  for probe, e in record.strategies[n].forgetting_entries().items()]
    bias = [(n, probe, e.model_dump(mode="json")) for n in names for probe, e in record.strategies[n].bias_entries().items()]
    retrieval = [(n, split, r) for n in names for split, r in (results[n].get("retrieval") or {}).items()]
    overfitting = [(n, f"{gap.replace('_', ' ')} · {m}", d) for n in names
                   for gap, by_metric in (results[n].get("overfitting") or {}).items() for m, d in by_metric.items()]
    return {
        "rec": rec, "task": task, "model": rec.get("model", {}), "names": names, "results": results,
        "metrics": metrics, "splits": splits, "metric": metric, "recommendation": recommendation,
        "comparisons": rec.get("comparisons") or [], "ledger": ledger,
        "break_even": (rec.get("cost_ledger") or {}).get("break_even", []),
        "prices": (rec.get("cost_ledger") or {}).get("prices", {}),
        "bars": [b for b in bars if b], "scatter": scatter, "curves": [c for c in curves if c],
        "forgetting": forgetting, "bias": bias, "retrieval": retrieval, "overfitting": overfitting,
        "win_rates": [(n, results[n]["win_rate"]) for n in names if results[n].get("win_rate")],
        "forgetting_plot": svg(plots.delta_bars([(f"{n} · {p}", e.get("delta")) for n, p, e in forgetting],
                                                "forgetting: adapted minus base (95% CI)")),
        "bias_plot": svg(plots.delta_bars([(f"{n} · {p}", e.get("delta")) for n, p, e in bias],
                                          "bias: adapted minus base (95% CI)")),
        "searches": [(n, s, summary(n, s, results[n].get("cost", {}).get("setup_seconds")), svg(search_plot(n, s)))
                     for n, s in searches(rec, names)],
        "samples": _samples(store, names, metric),
        "models": strategy_models(rec, names),
        "config_yaml": yaml.safe_dump(rec.get("config"), sort_keys=False),
        "environment_yaml": yaml.safe_dump(rec.get("environment"), sort_keys=False),
    }


def render(store: RunStore) -> str:
    return _env().get_template("report.html.j2").render(**context(store))


def write_html(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.html"
    path.write_text(render(store), encoding="utf-8")
    return path

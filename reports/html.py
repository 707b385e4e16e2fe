"""report.html from run.json alone: one self-contained file (inline CSS, inline SVG plots, no scripts, nothing
fetched). Jinja2 autoescape escapes every dataset and model string; only our own SVG plots are marked safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.store import RunStore
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p
from reports import plots
from reports.markdown import strategy_models
from reports.samples import display_metric, side_by_side
from reports.wording import break_even

TEMPLATES = Path(__file__).parent / "templates"
TEXT_LIMIT = 1200


def environment():
    """The Jinja2 environment of report.html and suite.html: autoescaped, and strict about missing names."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["score"] = lambda s: "–" if not s else fmt_number(s["value"])
    env.filters["ci"] = lambda s: "" if not s else f"[{fmt_number(s['ci_low'])}, {fmt_number(s['ci_high'])}]"
    env.filters["signed"] = lambda x: fmt_number(x, signed=True)
    env.filters["num"] = lambda x, d=3: fmt_number(x, d)
    env.filters["pval"] = fmt_p
    env.filters["dollars"] = fmt_dollars
    env.filters["count"] = fmt_count
    env.filters["mb"] = lambda x: "–" if not x else f"{x:,.0f} MB"
    env.filters["bytes"] = lambda x: "–" if not x else (f"{x / 2**20:,.1f} MiB" if x >= 2**20 else f"{x / 1024:,.1f} KiB")
    env.filters["clip"] = lambda t, n=TEXT_LIMIT: t if len(str(t)) <= n else str(t)[: n - 1] + "…"
    return env


def _names(rec: dict[str, Any]) -> list[str]:
    return [n for n in rec.get("strategy_order", rec.get("strategies", {})) if n in rec.get("strategies", {})]


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
    metric = display_metric(rec)
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
        "break_even": [break_even(b) for b in (rec.get("cost_ledger") or {}).get("break_even", [])],
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
        "samples": side_by_side(store, names, metric),
        "models": strategy_models(rec, names),
        "config_yaml": yaml.safe_dump(rec.get("config"), sort_keys=False),
        "environment_yaml": yaml.safe_dump(rec.get("environment"), sort_keys=False),
    }


def render(store: RunStore) -> str:
    return environment().get_template("report.html.j2").render(**context(store))


def write_html(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.html"
    path.write_text(render(store), encoding="utf-8")
    return path

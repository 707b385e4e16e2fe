"""report.html: one self-contained file (inline CSS, inline SVG plots, no scripts, nothing fetched). It lays out
the sections of reports.view (formatted there, as in report.md) with their plots. Jinja2 autoescape escapes every
dataset and model string; only our own SVG plots are marked safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup

from harness.decide.recommend import read_run
from harness.record.run_record import RunRecord
from harness.record.store import RunStore
from harness.redact import redact
from harness.units import fmt_count, fmt_number, fmt_p
from reports import adaptive_section, judge_section, plots, search_section, view
from reports.samples import display_metric, side_by_side

TEMPLATES = Path(__file__).parent / "templates"
TEXT_LIMIT = 1200


def environment():
    """The Jinja2 environment of report.html and suite.html: autoescaped, and strict about missing names."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["score"] = lambda s: "–" if s is None else fmt_number(s.value)
    env.filters["ci"] = lambda s: "" if s is None else f"[{fmt_number(s.ci_low)}, {fmt_number(s.ci_high)}]"
    env.filters["signed"] = lambda x: fmt_number(x, signed=True)
    env.filters["num"] = lambda x, d=3: fmt_number(x, d)
    env.filters["pval"] = fmt_p
    env.filters["count"] = fmt_count
    env.filters["clip"] = lambda t, n=TEXT_LIMIT: t if len(str(t)) <= n else str(t)[: n - 1] + "…"
    return env


def context(store: RunStore, rec: RunRecord) -> dict[str, Any]:
    names = rec.names()
    metric = display_metric(rec)
    judge, win_rates = view.win_rates(rec, names)
    accuracy, costs = view.accuracy(rec, names), view.costs(rec, names)
    return {
        "rec": rec, "task": rec.task, "model": rec.model, "names": names, "metric": metric,
        "verdict": view.verdict(rec), "accuracy": accuracy, "bars": _bars(rec, names, accuracy.metrics),
        "models": view.models(rec, names), "comparisons": _by_metric(view.comparisons(rec)),
        "costs": costs, "scatter": _scatter(rec, names, metric) if costs else None,
        "win_rates": win_rates, "win_rate_opponents": view.opponents(win_rates), "judge": judge, "judged": judge_section.view(rec, names), **_probes(rec, names),
        "overfitting": view.overfitting(rec, names),
        "adaptive": adaptive_section.view(rec, names), "adaptive_plot": _svg(plots.sequences_by_look(rec.adaptive)),
        "curves": [c for n in names if (c := _svg(plots.learning_curve(rec.strategies[n].learning_curve, n)))],
        "retrieval": view.retrieval(rec, names),
        "searches": [(n, s, search_section.summary(n, s, rec.strategies[n].cost.setup_seconds),
                      _svg(search_section.plot(n, s))) for n, s in search_section.searches(rec, names)],
        "samples": side_by_side(store, names, metric),
        "config_yaml": yaml.safe_dump(rec.config.model_dump(mode="json"), sort_keys=False),
        "environment_yaml": yaml.safe_dump(rec.environment.model_dump(mode="json", exclude_none=True), sort_keys=False),
    }


def _svg(text: str | None) -> Markup | None:
    return Markup(text) if text else None  # our own matplotlib output; its text is escaped by matplotlib


def _by_metric(rows: list[view.ComparisonRow]) -> list[tuple[str, list[view.ComparisonRow]]]:
    """The comparisons grouped by metric, in the record's order: a table each."""
    groups: dict[str, list[view.ComparisonRow]] = {}
    for c in rows:
        groups.setdefault(c.metric, []).append(c)
    return list(groups.items())


def _bars(rec: RunRecord, names: list[str], metrics: list[str]) -> list[Markup]:
    """A bar chart per metric on the test split."""
    bars = [_svg(plots.metric_bars(names, {n: s for n in names if (s := rec.strategies[n].score(m))}, m))
            for m in metrics]
    return [b for b in bars if b]


def _scatter(rec: RunRecord, names: list[str], metric: str) -> Markup | None:
    """Quality against dollars over the horizon."""
    ledger = rec.cost_ledger
    scores = {n: s for n in names if (s := rec.strategies[n].score(metric))}
    dollars = {n: row.horizon_dollars for n, row in ledger.strategies.items()}
    return _svg(plots.quality_vs_cost(names, scores, dollars, metric, f"dollars over {ledger.horizon_months:g} months "
                                      "(setup + queries at the expected volume)",
                                      rec.recommendation.recommended if rec.recommendation else None))


def _probes(rec: RunRecord, names: list[str]) -> dict[str, Any]:
    """Forgetting and BBQ bias scores against the base model, each with a plot of the changes."""
    forgetting = [(n, probe, v) for n in names for probe, v in rec.strategies[n].forgetting_entries().items()]
    bias = [(n, probe, v) for n in names for probe, v in rec.strategies[n].bias_entries().items()]
    return {"forgetting": forgetting, "bias": bias,
            "forgetting_plot": _svg(plots.delta_bars([(f"{n} · {p}", v.delta) for n, p, v in forgetting],
                                                     "forgetting: adapted minus base (95% CI)")),
            "bias_plot": _svg(plots.delta_bars([(f"{n} · {p}", v.delta) for n, p, v in bias],
                                               "bias: adapted minus base (95% CI)"))}


def render(store: RunStore, rec: RunRecord | None = None) -> str:
    """The page of `rec`, the record in hand (by default run.json's, as harness.decide.recommend.read_run reads
    it); the predictions come from `store`."""
    return environment().get_template("report.html.j2").render(**context(store, rec or read_run(store)))


def write_html(run_dir: Path, rec: RunRecord | None = None) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.html"
    path.write_text(redact(render(store, rec)), encoding="utf-8")
    return path

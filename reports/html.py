"""report.html from run.json alone: one self-contained file (inline CSS, inline SVG plots, no scripts, nothing
fetched). Jinja2 autoescape escapes every dataset and model string; only our own SVG plots are marked safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup

from harness.record.figures import Gap, Score
from harness.record.run_record import RunRecord
from harness.redact import redact
from harness.record.store import RunStore
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p
from reports import plots, search_section, wording
from reports.markdown import adjusted_interval, strategy_models
from reports.samples import display_metric, side_by_side
from harness.decide.recommend import read_run

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
    env.filters["adjusted"] = adjusted_interval
    env.filters["presolution"] = lambda c: wording.p_resolution(c).removeprefix("p").removeprefix("=")
    env.filters["dollars"] = fmt_dollars
    env.filters["count"] = fmt_count
    env.filters["mb"] = lambda x: "–" if not x else f"{x:,.0f} MB"
    env.filters["bytes"] = lambda x: ("–" if not x else f"{x / 2**20:,.1f} MiB" if x >= 2**20
                                      else f"{x / 1024:,.1f} KiB")
    env.filters["clip"] = lambda t, n=TEXT_LIMIT: t if len(str(t)) <= n else str(t)[: n - 1] + "…"
    return env


def context(store: RunStore) -> dict[str, Any]:
    rec = read_run(store)
    names = rec.names()
    metric = display_metric(rec)
    r = rec.recommendation
    return {
        "rec": rec, "task": rec.task, "model": rec.model, "names": names, "results": rec.strategies,
        "metric": metric, "recommendation": r, "comparisons": rec.comparisons,
        **_verdict(rec), **_accuracy(rec, names), **_costs(rec, names, metric), **_probes(rec, names),
        "curves": [c for n in names if (c := _svg(plots.learning_curve(rec.strategies[n].learning_curve, n)))],
        "retrieval": _retrieval(rec, names), "overfitting": _overfitting(rec, names),
        "checkpoint_notes": wording.checkpoint_notes(rec, names),
        "win_rates": [(n, w) for n in names if (w := rec.strategies[n].win_rate)],
        "searches": [(n, s, search_section.summary(n, s, rec.strategies[n].cost.setup_seconds),
                      _svg(search_section.plot(n, s))) for n, s in search_section.searches(rec, names)],
        "samples": side_by_side(store, names, metric),
        "models": strategy_models(rec, names),
        "config_yaml": yaml.safe_dump(rec.config.model_dump(mode="json"), sort_keys=False),
        "environment_yaml": yaml.safe_dump(rec.environment.model_dump(mode="json", exclude_none=True), sort_keys=False),
    }


def _svg(text: str | None) -> Markup | None:
    return Markup(text) if text else None  # our own matplotlib output; its text is escaped by matplotlib


def _verdict(rec: RunRecord) -> dict[str, Any]:
    r = rec.recommendation
    if r is None:
        return {"headline": wording.no_recommendation(rec.status)}
    return {"headline": wording.headline(r), "basis": wording.basis(r), "reasons": wording.reasons(rec),
            "ranking": r.ranking, "ranking_note": wording.ranking_note(r), "what_ifs": wording.what_ifs(r),
            "vetoes": [(n, wording.veto(v)) for n, found in r.vetoed.items() for v in found],
            "unmeasured": [wording.not_measured(n, found) for n, found in r.unmeasured.items()],
            "unmeasured_note": wording.unmeasured_note(r)}


def _accuracy(rec: RunRecord, names: list[str]) -> dict[str, Any]:
    """The metrics by split (test first), and a bar chart per metric on the test split."""
    results = rec.strategies
    metrics = ((rec.task.metrics if rec.task else [])
               or sorted({m for r in results.values() for m in r.metrics.get("test", {})}))
    splits = sorted({s for r in results.values() for s in r.metrics}, key=lambda s: (s != "test", s))
    bars = [_svg(plots.metric_bars(names, {n: s for n in names if (s := results[n].score(m))}, m)) for m in metrics]
    return {"metrics": metrics, "splits": splits, "bars": [b for b in bars if b]}


def _costs(rec: RunRecord, names: list[str], metric: str) -> dict[str, Any]:
    """The cost ledger, the break-even sentences and quality against dollars over the horizon."""
    ledger = rec.cost_ledger
    if ledger is None:
        return {"ledger": {}, "break_even": [], "prices": None, "scatter": None, "estimates": wording.estimates(rec)}
    scores = {n: s for n in names if (s := rec.strategies[n].score(metric))}
    dollars = {n: row.horizon_dollars for n, row in ledger.strategies.items()}
    scatter = plots.quality_vs_cost(names, scores, dollars, metric, f"dollars over {ledger.horizon_months:g} months "
                                    "(setup + queries at the expected volume)",
                                    rec.recommendation.recommended if rec.recommendation else None)
    return {"ledger": ledger.strategies, "break_even": [wording.break_even(b) for b in ledger.break_even],
            "estimates": wording.estimates(rec),
            "prices": ledger.prices, "scatter": _svg(scatter)}


def _retrieval(rec: RunRecord, names: list[str]) -> list[tuple[str, str, str, Score]]:
    """(strategy, split, "recall@k" or "MRR", score) for every split a strategy retrieved on."""
    return [(n, split, label, score) for n in names for split, report in rec.strategies[n].retrieval.items()
            for label, score in [*((f"recall@{k}", s) for k, s in sorted(report.recall.items())), ("MRR", report.mrr)]]


def _overfitting(rec: RunRecord, names: list[str]) -> list[tuple[str, str, Gap]]:
    """(strategy, "train − test · metric" or "test − ood · metric", gap)."""
    return [(n, f"{label} · {m}", gap) for n in names if (o := rec.strategies[n].overfitting)
            for label, by_metric in (("train − test", o.train_minus_test), ("test − ood", o.test_minus_ood))
            for m, gap in by_metric.items()]


def _probes(rec: RunRecord, names: list[str]) -> dict[str, Any]:
    """Forgetting and BBQ bias scores against the base model, each with a plot of the changes."""
    forgetting = [(n, probe, v) for n in names for probe, v in rec.strategies[n].forgetting_entries().items()]
    bias = [(n, probe, v) for n in names for probe, v in rec.strategies[n].bias_entries().items()]
    return {"forgetting": forgetting, "bias": bias,
            "forgetting_plot": _svg(plots.delta_bars([(f"{n} · {p}", v.delta) for n, p, v in forgetting],
                                                     "forgetting: adapted minus base (95% CI)")),
            "bias_plot": _svg(plots.delta_bars([(f"{n} · {p}", v.delta) for n, p, v in bias],
                                               "bias: adapted minus base (95% CI)"))}


def render(store: RunStore) -> str:
    return environment().get_template("report.html.j2").render(**context(store))


def write_html(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.html"
    path.write_text(redact(render(store)), encoding="utf-8")
    return path

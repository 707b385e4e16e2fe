"""report.md from run.json alone: strategies x metrics with CIs, then a few outputs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.store import RunStore

SAMPLES = 3


def fmt_score(s: dict[str, Any]) -> str:
    return f"{s['value']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"


def _cell(text: str, width: int = 300) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _overfitting(rec: dict[str, Any], names: list[str], metrics: list[str]) -> list[str]:
    """Train-sample minus test and test minus ood on the first metric, and fine-tuning's validation curve."""
    rows = [n for n in names if rec["strategies"][n].get("overfitting")]
    if not rows or not metrics:
        return []
    m = metrics[0]
    lines = ["", f"## Overfitting ({m})", "", "Difference of means with a 95% bootstrap CI; a train − test gap above 0 "
             "means the strategy does better on examples it was built from.", "",
             "| strategy | train − test | test − ood | validation curve (step: val loss / val metric) |", "|---|---|---|---|"]
    for name in rows:
        res = rec["strategies"][name]
        gap = res["overfitting"]
        cells = [fmt_score(gap[k][m]) if m in gap.get(k, {}) else "–" for k in ("train_minus_test", "test_minus_ood")]
        curve = "; ".join(f"{p['step']}: {p['val_loss']:.3f} / {p.get('val_metric', float('nan')):.3f}"
                          for p in res.get("learning_curve", [])) or "–"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {curve} |")
    return lines


def render(store: RunStore) -> str:
    from reports.legacy import legacy_view

    rec = legacy_view(store.read())
    task = rec.get("task", {})
    model = rec.get("model", {})
    names = [n for n in rec.get("strategy_order", rec["strategies"]) if n in rec["strategies"]]
    metrics = task.get("metrics", [])
    lines = [
        f"# {task.get('name', '?')}: which adaptation strategy?",
        "",
        f"Run `{rec['run_id']}` · status **{rec['status']}** · model `{model.get('name', '?')}` "
        f"({model.get('parameters', 0) / 1e6:.0f}M parameters, {model.get('device', '?')}) · "
        f"test examples: {task.get('sizes', {}).get('test', '?')}",
        "",
        *decision_summary(rec),
        "## Accuracy on the test split",
        "",
        "Mean with its 95% bootstrap confidence interval.",
        "",
        "| strategy | " + " | ".join(metrics) + " | examples/s | setup s |",
        "|---|" + "---|" * (len(metrics) + 2),
    ]
    for name in names:
        res = rec["strategies"][name]
        test = res.get("metrics", {}).get("test", {})
        cells = [fmt_score(test[m]) if m in test else "–" for m in metrics]
        eps = res.get("timings", {}).get("test", {}).get("examples_per_second")
        setup = res.get("cost", {}).get("setup_seconds")
        eps_text = f"{eps:.2f}" if eps else "cached"
        setup_text = f"{setup:.1f}" if setup is not None else "–"
        lines.append(f"| {name} | {' | '.join(cells)} | {eps_text} | {setup_text} |")
    lines += models_section(rec, names)
    lines += _win_rates(rec, names)
    lines += decision_details(rec, names)
    from reports.probes_section import render as probe_sections

    lines += ["", *probe_sections(rec, names)]
    lines += _overfitting(rec, names, metrics)
    from reports.search_section import markdown as search_section

    lines += search_section(rec, names)
    lines += _retrieval(rec, names)
    lines += ["", "## Outputs side by side", ""]
    lines += _samples(store, names)
    lines += ["", "## Run", "", "```yaml"]
    import yaml

    lines.append(yaml.safe_dump({"config": rec.get("config"), "environment": rec.get("environment")}, sort_keys=False).rstrip())
    lines += ["```", ""]
    return "\n".join(lines)


def strategy_models(rec: dict[str, Any], names: list[str]) -> list[dict[str, str]]:
    """Per strategy: the model it ran on, its backend, what it is and how it is priced (html and md share this)."""
    from harness.cost import fmt_dollars

    models = rec.get("models") or {"base": rec.get("model", {})}
    rows = []
    for n in names:
        res = rec["strategies"][n]
        label = res.get("model", "base")
        m = models.get(label) or models.get(f"{label}:{n}") or {}
        prices = res.get("prices") or {}
        if prices.get("input_per_mtok") is not None or prices.get("output_per_mtok") is not None:
            priced = (f"{fmt_dollars(prices.get('input_per_mtok') or 0)} / {fmt_dollars(prices.get('output_per_mtok') or 0)}"
                      " per 1M tokens in / out")
        elif prices.get("per_hour") is not None:
            priced = f"{fmt_dollars(prices['per_hour'])} per hour"
        else:
            priced = "per hour of its device (decision.prices)"
        where = m.get("base_url") or m.get("path") or ""
        rows.append({"strategy": n, "model": label, "backend": res.get("backend") or m.get("backend", "hf"),
                     "id": m.get("name", "?"), "where": where, "device": m.get("device", "?"), "priced": priced})
    return rows


def models_section(rec: dict[str, Any], names: list[str]) -> list[str]:
    rows = strategy_models(rec, names)
    lines = ["", "## Models", "", "| strategy | model | backend | id | served from | device | priced |", "|---" * 7 + "|"]
    for r in rows:
        lines.append(f"| {r['strategy']} | {r['model']} | {r['backend']} | {_cell(r['id'])} | {_cell(r['where'])} | "
                     f"{r['device']} | {r['priced']} |")
    return lines


def _win_rates(rec: dict[str, Any], names: list[str]) -> list[str]:
    """Preference win rate against the base model (harness.win_rate), where measured."""
    rows = [(n, rec["strategies"][n]["win_rate"]) for n in names if rec["strategies"][n].get("win_rate")]
    if not rows:
        return []
    out = ["", "## Preference win rate against the base model", "",
           f"Per test example, the strategy's output against the base model's on the same prompt, judged by "
           f"`{rows[0][1]['metric']}`: win 1, tie 0.5, loss 0; mean with a 95% bootstrap CI (0.5 = no better).", "",
           "| strategy | win rate [95% CI] | wins / ties / losses | n |", "|---|---|---|---|"]
    out += [f"| {n} | {fmt_score(w)} | {w['wins']} / {w['ties']} / {w['losses']} | {w['n']} |" for n, w in rows]
    return out


def _retrieval(rec: dict[str, Any], names: list[str]) -> list[str]:
    """Retrieval quality (where examples name gold documents) and the leakage check."""
    out: list[str] = []
    rows = [(n, rec["strategies"][n]["retrieval"]["test"]) for n in names
            if "test" in rec["strategies"][n].get("retrieval", {})]
    if rows:
        ks = sorted({int(k.split("@")[1]) for _, r in rows for k in r if k.startswith("recall@")})
        out += ["", "## Retrieval on the test split", "",
                "recall@k: the share of an example's gold documents among the top k retrieved (a two-hop question "
                "with one of two found scores 0.5), averaged over examples; MRR: mean 1/rank of the first gold "
                "document. Wrong answers split by whether every gold document was among the passages the model got.",
                "", "| strategy | questions | " + " | ".join(f"recall@{k}" for k in ks) + " | MRR | wrong answers: "
                "retrieval miss / generation error |", "|---|---|" + "---|" * (len(ks) + 2)]
        for name, r in rows:
            groups = [("all", r)] + [(f"{h}-hop", g) for h, g in r.get("by_hops", {}).items()]
            for label, g in groups:
                wrong = r.get("wrong_answers") if label == "all" else None
                split = f"{wrong['retrieval_miss']} / {wrong['generation_error']} (of {wrong['wrong']})" if wrong else ""
                cells = [fmt_score(g[f"recall@{k}"]) if f"recall@{k}" in g else "–" for k in ks]
                out.append(f"| {name} ({label}) | {g.get('examples', '–')} | {' | '.join(cells)} | {fmt_score(g['mrr'])} | {split} |")
    leak = rec.get("leakage")
    if leak:
        checked = ", ".join(f"{p} ({f['checked']}: {f['by_id']} by id, {f['by_text']} by text)"
                            for p, f in leak["places"].items()) or "nothing"
        skipped = f"; skipped: {', '.join(leak['skipped'])}" if leak.get("skipped") else ""
        out += ["", f"**Leakage check: {leak['status']}.** {leak['leaked_examples']} of {leak['test_examples']} test "
                f"examples found in {checked}{skipped}."]
    return out


def _samples(store: RunStore, names: list[str]) -> list[str]:
    preds = {n: {r["example_id"]: r for r in store.read_predictions(n)} for n in names}
    if not names or not preds[names[0]]:
        return ["(no predictions)"]
    ids = sorted(preds[names[0]])[:SAMPLES]
    out = []
    for ex_id in ids:
        first = preds[names[0]][ex_id]
        out += [f"**{_cell(ex_id)}** · reference: {_cell(first['references'][0])}", "", "| strategy | output |", "|---|---|"]
        for n in names:
            row = preds[n].get(ex_id)
            out.append(f"| {n} | {_cell(row['output']) if row else '–'} |")
        out.append("")
    return out


def write_report(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.md"
    path.write_text(render(store), encoding="utf-8")
    return path


def decision_summary(rec: dict[str, Any]) -> list[str]:
    """The verdict, its reasons and what would change it (from run.json's "recommendation")."""
    r = rec.get("recommendation")
    if not r:
        return []
    lines = ["## Verdict", "", f"**{_cell(r['headline'], 1000)}**", "",
             f"Decided on `{r['metric']}` with priority `{r['priority']}`, {r['monthly_queries']:,.0f} queries a month "
             f"over {r['horizon_months']:g} months; a difference counts when its Holm-adjusted paired test has "
             f"p < {r['alpha']}.", "", "Why:", ""]
    lines += [f"- {_cell(x, 1000)}" for x in r.get("reasons", [])]
    for name, found in (r.get("vetoed") or {}).items():
        lines += [f"- vetoed {name}: {_cell(v['text'], 500)}" for v in found]
    lines += ["", "What would change the decision:", ""]
    lines += [f"- {_cell(w['text'], 1000)}" for w in r.get("what_would_change", [])]
    return lines + [""]


def decision_details(rec: dict[str, Any], names: list[str]) -> list[str]:
    """Paired comparisons, the cost ledger and break-even, forgetting, bias and retrieval, where present."""
    from harness.cost import fmt_count, fmt_dollars

    lines: list[str] = []
    comps = rec.get("comparisons") or []
    if comps:
        lines += ["", "## Paired comparisons", "", "A − B on the examples both scored, paired bootstrap 95% CI, "
                  "Holm-adjusted p within each metric.", "",
                  "| metric | A | B | A − B [95% CI] | n | test | p | Holm p | d_z | verdict |", "|---" * 10 + "|"]
        for c in comps:
            lines.append(f"| {c['metric']} | {c['a']} | {c['b']} | {c['value']:+.3f} [{c['ci_low']:+.3f}, "
                         f"{c['ci_high']:+.3f}] | {c['n']} | {c['test']} | {c['p_value']:.2g} | {c['p_holm']:.2g} | "
                         f"{c['effect_size']:.2f} | {(c['better'] + ' better') if c['better'] else 'inside the noise'} |")
    ledger = (rec.get("cost_ledger") or {}).get("strategies") or {}
    if ledger:
        lines += ["", "## Cost", "", "| strategy | device | setup s | setup $ | peak MB | trainable | s/query | "
                  "p50 / p95 s | tokens in / out | $/query | $/month |", "|---" * 11 + "|"]
        for n in names:
            if n not in ledger:
                continue
            c = ledger[n]
            f = lambda x, d=2: "–" if x is None else f"{x:.{d}f}"  # noqa: E731
            lines.append(f"| {n} | {c['device']} | {f(c['setup_seconds'], 1)} | {fmt_dollars(c['setup_dollars'])} | "
                         f"{f(c['peak_memory_mb'], 0)} | {fmt_count(c['trainable_params'])} | {f(c['seconds_per_query'], 3)} | "
                         f"{f(c['latency_p50'])} / {f(c['latency_p95'])} | {f(c['tokens_in_per_query'], 0)} / "
                         f"{f(c['tokens_out_per_query'], 0)} | {fmt_dollars(c['dollars_per_query'])} | "
                         f"{fmt_dollars(c['dollars_per_month'])} |")
        for b in (rec.get("cost_ledger") or {}).get("break_even", []):
            if b["queries"] is not None:
                lines.append(f"\n- {b['upfront']} pays off its extra setup against {b['other']} after "
                             f"{fmt_count(b['queries'])} queries ({b['months']:.3g} months at the expected volume).")
    return lines

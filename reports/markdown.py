"""report.md from run.json alone: the verdict, strategies x metrics with CIs, what each costs, the probes, and a
few outputs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.store import RunStore
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p
from reports import probes_section, search_section
from reports.samples import display_metric, side_by_side
from reports.tables import TEXT_LIMIT, fmt_score, inline, table
from reports.wording import break_even


def render(store: RunStore) -> str:
    from reports.legacy import legacy_view

    rec = legacy_view(store.read())
    task, model = rec.get("task", {}), rec.get("model", {})
    names = [n for n in rec.get("strategy_order", rec["strategies"]) if n in rec["strategies"]]
    metrics = task.get("metrics", [])
    lines = [
        f"# {inline(task.get('name', '?'))}: which adaptation strategy?",
        "",
        f"Run `{rec['run_id']}` · status **{rec['status']}** · model `{inline(model.get('name', '?'))}` "
        f"({model.get('parameters', 0) / 1e6:.0f}M parameters, {model.get('device', '?')}) · "
        f"test examples: {task.get('sizes', {}).get('test', '?')}",
        "",
        *decision_summary(rec),
        *_accuracy(rec, names, metrics),
        *models_section(rec, names),
        *_win_rates(rec, names),
        *_comparisons(rec),
        *_costs(rec, names),
        "",
        *probes_section.render(rec, names),
        *_overfitting(rec, names, metrics),
        *search_section.markdown(rec, names),
        *_retrieval(rec, names),
        *_samples(store, names, display_metric(rec)),
        "", "## Run", "", "```yaml",
        yaml.safe_dump({"config": rec.get("config"), "environment": rec.get("environment")}, sort_keys=False).rstrip(),
        "```", "",
    ]
    return "\n".join(lines)


def write_report(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.md"
    path.write_text(render(store), encoding="utf-8")
    return path


def _accuracy(rec: dict[str, Any], names: list[str], metrics: list[str]) -> list[str]:
    rows = []
    for name in names:
        res = rec["strategies"][name]
        test = res.get("metrics", {}).get("test", {})
        eps = res.get("timings", {}).get("test", {}).get("examples_per_second")
        setup = res.get("cost", {}).get("setup_seconds")
        rows.append([name, *[fmt_score(test.get(m)) for m in metrics], fmt_number(eps, 2) if eps else "cached",
                     fmt_number(setup, 1)])
    return ["## Accuracy on the test split", "", "Mean with its 95% bootstrap confidence interval.", "",
            *table(["strategy", *metrics, "examples/s", "setup s"], rows)]


def strategy_models(rec: dict[str, Any], names: list[str]) -> list[dict[str, str]]:
    """Per strategy: the model it ran on, its backend, what it is and how it is priced (html and md share this)."""
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
    columns = ["strategy", "model", "backend", "id", "where", "device", "priced"]
    return ["", "## Models", "", *table(["strategy", "model", "backend", "id", "served from", "device", "priced"],
                                        [[r[c] for c in columns] for r in strategy_models(rec, names)])]


def _win_rates(rec: dict[str, Any], names: list[str]) -> list[str]:
    """Preference win rate against the base model (harness.win_rate), where measured."""
    found = [(n, rec["strategies"][n]["win_rate"]) for n in names if rec["strategies"][n].get("win_rate")]
    if not found:
        return []
    return ["", "## Preference win rate against the base model", "",
            f"Per test example, the strategy's output against the base model's on the same prompt, judged by "
            f"`{found[0][1]['metric']}`: win 1, tie 0.5, loss 0; mean with a 95% bootstrap CI (0.5 = no better).", "",
            *table(["strategy", "win rate [95% CI]", "wins / ties / losses", "n"],
                   [[n, fmt_score(w), f"{w['wins']} / {w['ties']} / {w['losses']}", w["n"]] for n, w in found])]


def _comparisons(rec: dict[str, Any]) -> list[str]:
    comps = rec.get("comparisons") or []
    if not comps:
        return []
    rows = [[c["metric"], c["a"], c["b"], fmt_score(c, signed=True), c["n"], c["test"], fmt_p(c["p_value"]),
             fmt_p(c["p_holm"]), fmt_number(c["effect_size"], 2),
             f"{c['better']} better" if c["better"] else "inside the noise"] for c in comps]
    return ["", "## Paired comparisons", "", "A − B on the examples both scored, paired bootstrap 95% CI, "
            "Holm-adjusted p within each metric.", "",
            *table(["metric", "A", "B", "A − B [95% CI]", "n", "test", "p", "Holm p", "d_z", "verdict"], rows)]


def _costs(rec: dict[str, Any], names: list[str]) -> list[str]:
    """The cost ledger and the break-even volumes between strategies."""
    ledger = (rec.get("cost_ledger") or {}).get("strategies") or {}
    if not ledger:
        return []
    rows = [[n, c["device"], fmt_number(c["setup_seconds"], 1), fmt_dollars(c["setup_dollars"]),
             fmt_number(c["peak_memory_mb"], 0), fmt_count(c["trainable_params"]), fmt_number(c["seconds_per_query"]),
             f"{fmt_number(c['latency_p50'], 2)} / {fmt_number(c['latency_p95'], 2)}",
             f"{fmt_number(c['tokens_in_per_query'], 0)} / {fmt_number(c['tokens_out_per_query'], 0)}",
             fmt_dollars(c["dollars_per_query"]), fmt_dollars(c["dollars_per_month"])]
            for n in names if (c := ledger.get(n))]
    lines = ["", "## Cost", "", *table(["strategy", "device", "setup s", "setup $", "peak MB", "trainable", "s/query",
                                        "p50 / p95 s", "tokens in / out", "$/query", "$/month"], rows)]
    found = (rec.get("cost_ledger") or {}).get("break_even", [])
    return lines + (["", "### Break-even", "", *[f"- {inline(break_even(b))}" for b in found]] if found else [])


def _overfitting(rec: dict[str, Any], names: list[str], metrics: list[str]) -> list[str]:
    """Train-sample minus test and test minus ood on the first metric, and fine-tuning's validation curve."""
    found = [n for n in names if rec["strategies"][n].get("overfitting")]
    if not found or not metrics:
        return []
    m = metrics[0]
    rows = []
    for name in found:
        res = rec["strategies"][name]
        gaps = [fmt_score(res["overfitting"].get(k, {}).get(m), signed=True) for k in ("train_minus_test", "test_minus_ood")]
        curve = "; ".join(f"{p['step']}: {fmt_number(p['val_loss'])} / {fmt_number(p.get('val_metric'))}"
                          for p in res.get("learning_curve", [])) or "–"
        rows.append([name, *gaps, curve])
    return ["", f"## Overfitting ({m})", "", "Difference of means with a 95% bootstrap CI; a train − test gap above 0 "
            "means the strategy does better on examples it was built from.", "",
            *table(["strategy", "train − test", "test − ood", "validation curve (step: val loss / val metric)"], rows)]


def _retrieval(rec: dict[str, Any], names: list[str]) -> list[str]:
    """Retrieval quality (where examples name gold documents) and the leakage check."""
    out: list[str] = []
    found = [(n, rec["strategies"][n]["retrieval"]["test"]) for n in names
             if "test" in rec["strategies"][n].get("retrieval", {})]
    if found:
        ks = sorted({int(k.split("@")[1]) for _, r in found for k in r if k.startswith("recall@")})
        rows = []
        for name, r in found:
            for label, g in [("all", r)] + [(f"{h}-hop", g) for h, g in r.get("by_hops", {}).items()]:
                wrong = r.get("wrong_answers") if label == "all" else None
                split = f"{wrong['retrieval_miss']} / {wrong['generation_error']} (of {wrong['wrong']})" if wrong else ""
                rows.append([f"{name} ({label})", g.get("examples", "–"),
                             *[fmt_score(g.get(f"recall@{k}")) for k in ks], fmt_score(g["mrr"]), split])
        out += ["", "## Retrieval on the test split", "",
                "recall@k: the share of an example's gold documents among the top k retrieved (a two-hop question "
                "with one of two found scores 0.5), averaged over examples; MRR: mean 1/rank of the first gold "
                "document. Wrong answers split by whether every gold document was among the passages the model got.",
                "", *table(["strategy", "questions", *[f"recall@{k}" for k in ks], "MRR",
                            "wrong answers: retrieval miss / generation error"], rows)]
    leak = rec.get("leakage")
    if leak:
        checked = ", ".join(f"{p} ({f['checked']}: {f['by_id']} by id, {f['by_text']} by text)"
                            for p, f in leak["places"].items()) or "nothing"
        skipped = f"; skipped: {', '.join(leak['skipped'])}" if leak.get("skipped") else ""
        out += ["", f"**Leakage check: {leak['status']}.** {leak['leaked_examples']} of {leak['test_examples']} test "
                f"examples found in {inline(checked)}{inline(skipped)}."]
    return out


def _samples(store: RunStore, names: list[str], metric: str) -> list[str]:
    samples = side_by_side(store, names, metric)
    out = ["", "## Outputs side by side", ""]
    if not samples:
        return out + ["(no predictions)"]
    out += [f"The test examples where the strategies disagree most on {inline(metric)}.", ""]
    for s in samples:
        out += [f"**{inline(s.id, TEXT_LIMIT)}** · reference: {inline(s.references[0] if s.references else '–', TEXT_LIMIT)}",
                "",
                *table(["strategy", metric, "output"],
                       [[o.strategy, fmt_number(o.score, 2), "–" if o.output is None else o.output] for o in s.outputs],
                      TEXT_LIMIT),
                ""]
    return out


def decision_summary(rec: dict[str, Any]) -> list[str]:
    """The verdict, its reasons and what would change it (from run.json's "recommendation")."""
    r = rec.get("recommendation")
    if not r:
        return []
    lines = ["## Verdict", "", f"**{inline(r['headline'], 1000)}**", "",
             f"Decided on `{r['metric']}` with priority `{r['priority']}`, {fmt_count(r['monthly_queries'])} queries a "
             f"month over {r['horizon_months']:g} months; a difference counts when its Holm-adjusted paired test has "
             f"p < {r['alpha']}.", "", "Why:", ""]
    lines += [f"- {inline(x, 1000)}" for x in r.get("reasons", [])]
    for name, found in (r.get("vetoed") or {}).items():
        lines += [f"- vetoed {name}: {inline(v['text'], 500)}" for v in found]
    lines += ["", "What would change the decision:", ""]
    lines += [f"- {inline(w['text'], 1000)}" for w in r.get("what_would_change", [])]
    return lines + [""]

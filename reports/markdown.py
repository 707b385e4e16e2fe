"""report.md from run.json alone: the verdict, strategies x metrics with CIs, what each costs, the probes, and a
few outputs side by side."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.record.run_record import RunRecord
from harness.redact import redact
from harness.record.store import RunStore
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p
from reports import probes_section, search_section, wording
from reports.samples import display_metric, side_by_side
from reports.tables import TEXT_LIMIT, fmt_score, inline, table
from harness.decide.recommend import read_run


def render(store: RunStore) -> str:
    rec = read_run(store)
    names = rec.names()
    lines = [
        *_header(rec),
        *_verdict(rec),
        *_accuracy(rec, names),
        *_models(rec, names),
        *_win_rates(rec, names),
        *_comparisons(rec),
        *_costs(rec, names),
        *probes_section.render(rec, names),
        *_overfitting(rec, names),
        *search_section.markdown(rec, names),
        *_retrieval(rec, names),
        *_samples(store, names, display_metric(rec)),
        "", "## Run", "", "```yaml",
        yaml.safe_dump({"config": rec.config.model_dump(mode="json"),
                        "environment": rec.environment.model_dump(mode="json", exclude_none=True)},
                       sort_keys=False).rstrip(),
        "```", "",
    ]
    return "\n".join(lines)


def write_report(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.md"
    path.write_text(redact(render(store)), encoding="utf-8")
    return path


def _header(rec: RunRecord) -> list[str]:
    task, model = rec.task, rec.model
    about = [f"{fmt_count(model.parameters)} parameters" if model and model.parameters else None,
             model.device if model else None]
    about_text = f" ({', '.join(a for a in about if a)})" if any(about) else ""
    name = inline(model.name if model else "?")
    return [f"# {inline(task.name if task else '?')}: which adaptation strategy?", "",
            f"Run `{rec.run_id}` · status **{rec.status}** · model `{name}`{about_text} · test examples: "
            f"{task.sizes.get('test', '?') if task else '?'}", ""]


def _verdict(rec: RunRecord) -> list[str]:
    """The verdict, its reasons, the ranking it comes from and what would change it."""
    r = rec.recommendation
    if r is None:
        return ["## Verdict", "", wording.no_recommendation(rec.status), ""]
    note = wording.ranking_note(r)
    ranking = [f"{i}. {x.strategy} · utility {x.utility:.3f}"
               + (" · **recommended**" if x.strategy == r.recommended else "")
               + (f" ({note})" if note and x.strategy == r.recommended else "")
               for i, x in enumerate(r.ranking, 1)]
    vetoed = [f"- vetoed {name}: {inline(wording.veto(v))}" for name, found in r.vetoed.items() for v in found]
    missing = [f"- {inline(wording.not_measured(name, found))}" for name, found in r.unmeasured.items()]
    note = [inline(caveat), ""] if (caveat := wording.unmeasured_note(r)) else []
    return ["## Verdict", "", f"**{inline(wording.headline(r))}**", "", *note, inline(wording.basis(r)), "",
            "Why:", "", *[f"- {inline(x)}" for x in wording.reasons(rec)], *vetoed, *missing, "", "Ranking:", "",
            *ranking, "",
            "What would change the decision:", "", *[f"- {inline(x)}" for x in wording.what_ifs(r)], ""]


def _accuracy(rec: RunRecord, names: list[str]) -> list[str]:
    metrics = rec.task.metrics if rec.task else []
    rows = []
    for name in names:
        res = rec.strategies[name]
        timing = res.timings.get("test")
        eps = timing.examples_per_second if timing else None
        rows.append([name, *[fmt_score(res.score(m)) for m in metrics], fmt_number(eps, 2) if eps else "cached",
                     fmt_number(res.cost.setup_seconds, 1)])
    return ["## Accuracy on the test split", "", "Mean with its 95% bootstrap confidence interval.", "",
            *table(["strategy", *metrics, "examples/s", "setup s"], rows)]


def strategy_models(rec: RunRecord, names: list[str]) -> list[dict[str, str]]:
    """Per strategy: the model it ran on, its backend, what it is and how it is priced (html and md share this)."""
    models = rec.models or ({"base": rec.model} if rec.model else {})
    rows = []
    for n in names:
        res = rec.strategies[n]
        m = models.get(res.model) or models.get(f"{res.model}:{n}")
        prices = res.prices
        if prices.input_per_mtok is not None or prices.output_per_mtok is not None:
            priced = (f"{fmt_dollars(prices.input_per_mtok or 0)} / {fmt_dollars(prices.output_per_mtok or 0)}"
                      " per 1M tokens in / out")
        elif prices.per_hour is not None:
            priced = f"{fmt_dollars(prices.per_hour)} per hour"
        else:
            priced = "per hour of its device (decision.prices)"
        rows.append({"strategy": n, "model": res.model, "backend": res.backend or (m.backend if m else "hf"),
                     "id": m.name if m else "?", "where": (m.base_url or m.path or "") if m else "",
                     "device": (m.device or "?") if m else "?", "priced": priced})
    return rows


def _models(rec: RunRecord, names: list[str]) -> list[str]:
    columns = ["strategy", "model", "backend", "id", "where", "device", "priced"]
    return ["", "## Models", "", *table(["strategy", "model", "backend", "id", "served from", "device", "priced"],
                                        [[r[c] for c in columns] for r in strategy_models(rec, names)])]


def _win_rates(rec: RunRecord, names: list[str]) -> list[str]:
    """Preference win rate against the base model (harness.measure.win_rate), where measured."""
    found = [(n, w) for n in names if (w := rec.strategies[n].win_rate)]
    if not found:
        return []
    return ["", "## Preference win rate against the base model", "",
            f"Per test example, the strategy's output against the base model's on the same prompt, judged by "
            f"`{found[0][1].metric}`: win 1, tie 0.5, loss 0; mean with a 95% bootstrap CI (0.5 = no better).", "",
            *table(["strategy", "win rate [95% CI]", "wins / ties / losses", "n"],
                   [[n, fmt_score(w), f"{w.wins} / {w.ties} / {w.losses}", w.n] for n, w in found])]


def _comparisons(rec: RunRecord) -> list[str]:
    if not rec.comparisons:
        return []
    rows = [[c.metric, c.a, c.b, fmt_score(c, signed=True), adjusted_interval(c), c.n, c.test,
             wording.p_resolution(c).removeprefix("p").removeprefix("="), fmt_p(c.p_holm),
             fmt_number(c.effect_size, 2), f"{c.better} better" if c.better else "inside the noise"]
            for c in rec.comparisons]
    return ["", "## Paired comparisons", "", "A − B on the examples both scored. The verdict column, the Holm p and "
            "the Holm-adjusted interval come from one test (the paired sign-flip test, exact McNemar on 0/1 scores): "
            "the adjusted interval inverts it at the level Holm holds that pair to within its metric, so it excludes "
            "0 exactly when the pair is outside the noise. The bootstrap 95% CI is unadjusted and descriptive only.",
            "", *table(["metric", "A", "B", "A − B [bootstrap 95% CI, unadjusted]", "Holm-adjusted CI (level)", "n",
                        "test", "p", "Holm p", "d_z", "verdict"], rows)]


def adjusted_interval(c) -> str:
    """The Holm-adjusted interval with its confidence level, "–" in records from before it."""
    if c.adj_ci_low is None or c.adj_ci_high is None or c.adj_confidence is None:
        return "–"
    return (f"[{fmt_number(c.adj_ci_low, signed=True)}, {fmt_number(c.adj_ci_high, signed=True)}] "
            f"({wording.confidence(c.adj_confidence)})")


def _costs(rec: RunRecord, names: list[str]) -> list[str]:
    """The cost ledger and the break-even volumes between strategies."""
    ledger = rec.cost_ledger
    if ledger is None or not ledger.strategies:
        return []
    rows = [[n, c.device, fmt_number(c.setup_seconds, 1) + (" (reused)" if c.setup_source == "reused" else ""),
             fmt_dollars(c.setup_dollars), fmt_number(c.peak_memory_mb, 0),
             fmt_count(c.trainable_params), fmt_number(c.seconds_per_query), _request_latency(c), _single(c),
             f"{fmt_number(c.tokens_in_per_query, 0)} / {fmt_number(c.tokens_out_per_query, 0)}",
             fmt_dollars(c.dollars_per_query), fmt_dollars(c.dollars_per_month)]
            for n in names if (c := ledger.strategies.get(n))]
    lines = ["", "## Cost", "", "Throughput (s/query under the run's batching) is what $/query bills; request latency "
             "is what one request waits, submission to last token, at the batch or concurrency shown "
             "(max_latency_p95 applies to it); single request: a few test prompts sent alone, medians.", "",
             *table(["strategy", "device", "setup s", "setup $", "peak MB", "trainable", "throughput s/query",
                     "request latency p50 / p95 s", "single request first token / total s", "tokens in / out",
                     "$/query", "$/month"], rows)]
    if found := wording.estimates(rec):
        lines += ["", "### Estimated or reused figures", "", *[f"- {inline(x)}" for x in found]]
    if ledger.break_even:
        lines += ["", "### Break-even", "", *[f"- {inline(wording.break_even(b))}" for b in ledger.break_even]]
    return lines


def _request_latency(c) -> str:
    if c.request_latency_p95 is None:
        return "–"
    at = f" at {c.requests_in_flight} in flight" if c.requests_in_flight else ""
    return f"{fmt_number(c.request_latency_p50, 2)} / {fmt_number(c.request_latency_p95, 2)}{at}"


def _single(c) -> str:
    if not c.single_requests:
        return "–"
    return (f"{fmt_number(c.single_request_first_token_s, 2)} / {fmt_number(c.single_request_s, 2)} "
            f"(n={c.single_requests}{', measured earlier' if c.single_request_cached else ''})")


def _overfitting(rec: RunRecord, names: list[str]) -> list[str]:
    """Train-sample minus test and test minus ood on the first metric, and fine-tuning's validation curve."""
    found = [n for n in names if rec.strategies[n].overfitting]
    notes = [f"- {inline(s)}" for s in wording.checkpoint_notes(rec, names)]
    if not found or not rec.task or not rec.task.metrics:
        return ["", "## Fine-tuning", "", *notes] if notes else []
    m = rec.task.metrics[0]
    rows = []
    for name in found:
        res = rec.strategies[name]
        curve = "; ".join(f"{p.step}: {fmt_number(p.val_loss)} / {fmt_number(p.val_metric)}"
                          for p in res.learning_curve) or "–"
        if res.training and res.training.monitor_metric and res.learning_curve:
            curve = f"({inline(res.training.monitor_metric)}) {curve}"
        rows.append([name, fmt_score(res.overfitting.train_minus_test.get(m), signed=True),
                     fmt_score(res.overfitting.test_minus_ood.get(m), signed=True), curve])
    return ["", f"## Overfitting ({m})", "", "Difference of means with a 95% bootstrap CI; a train − test gap above "
            "0 means the strategy does better on examples it was built from.", "",
            *table(["strategy", "train − test", "test − ood", "validation curve (step: val loss / val metric)"],
                   rows), *([""] + notes if notes else [])]


def _retrieval(rec: RunRecord, names: list[str]) -> list[str]:
    """Retrieval quality (where examples name gold documents) and the leakage check."""
    out: list[str] = []
    found = [(n, r) for n in names if (r := rec.strategies[n].retrieval.get("test"))]
    if found:
        ks = sorted({k for _, r in found for k in r.recall})
        rows = []
        for name, r in found:
            for label, g in [("all", r), *[(f"{h}-hop", g) for h, g in r.by_hops.items()]]:
                wrong = r.wrong_answers if label == "all" else None
                split = f"{wrong.retrieval_miss} / {wrong.generation_error} (of {wrong.wrong})" if wrong else ""
                rows.append([f"{name} ({label})", g.examples, *[fmt_score(g.recall.get(k)) for k in ks],
                             fmt_score(g.mrr), split])
        out += ["", "## Retrieval on the test split", "",
                "recall@k: the share of an example's gold documents among the top k retrieved (a two-hop question "
                "with one of two found scores 0.5), averaged over examples; MRR: mean 1/rank of the first gold "
                "document. Wrong answers split by whether every gold document was among the passages the model got.",
                "", *table(["strategy", "questions", *[f"recall@{k}" for k in ks], "MRR",
                            "wrong answers: retrieval miss / generation error"], rows)]
    if rec.leakage:
        out += ["", inline(wording.leakage(rec.leakage))]
    return out


def _samples(store: RunStore, names: list[str], metric: str) -> list[str]:
    samples = side_by_side(store, names, metric)
    out = ["", "## Outputs side by side", ""]
    if not samples:
        return out + ["(no predictions)"]
    out += [f"The test examples where the strategies disagree most on {inline(metric)}.", ""]
    for s in samples:
        reference = s.references[0] if s.references else "–"
        outputs = [[o.strategy, fmt_number(o.score, 2), "–" if o.output is None else o.output] for o in s.outputs]
        out += [f"**{inline(s.id, TEXT_LIMIT)}** · reference: {inline(reference, TEXT_LIMIT)}", "",
                *table(["strategy", metric, "output"], outputs, TEXT_LIMIT), ""]
    return out

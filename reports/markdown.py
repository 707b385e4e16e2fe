"""report.md: the verdict, strategies x metrics with CIs, what each costs, the probes, and a few outputs side by
side. It lays out the sections of reports.view (formatted there, as in report.html) as Markdown."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.decide.recommend import read_run
from harness.record.run_record import RunRecord
from harness.record.store import RunStore
from harness.redact import redact
from harness.units import fmt_count, fmt_number
from reports import adaptive_section, judge_section, probes_section, search_section, view
from reports.samples import display_metric, side_by_side
from reports.tables import TEXT_LIMIT, inline, table


def render(store: RunStore, rec: RunRecord | None = None) -> str:
    """The report of `rec`, the record in hand (by default run.json's, as harness.decide.recommend.read_run
    reads it); the predictions come from `store`."""
    rec = rec or read_run(store)
    names = rec.names()
    lines = [
        *_header(rec),
        *_verdict(view.verdict(rec)),
        *_accuracy(view.accuracy(rec, names)),
        *_models(view.models(rec, names)),
        *_win_rates(*view.win_rates(rec, names)),
        *judge_section.markdown(judge_section.view(rec, names)),
        *_comparisons(rec),
        *adaptive_section.markdown(adaptive_section.view(rec, names)),
        *_costs(view.costs(rec, names)),
        *probes_section.render(rec, names),
        *_overfitting(view.overfitting(rec, names), rec.task.metrics if rec.task else []),
        *search_section.markdown(rec, names),
        *_retrieval(view.retrieval(rec, names)),
        *_samples(store, names, display_metric(rec)),
        "", "## Run", "", "```yaml",
        yaml.safe_dump({"config": rec.config.model_dump(mode="json"),
                        "environment": rec.environment.model_dump(mode="json", exclude_none=True)},
                       sort_keys=False).rstrip(),
        "```", "",
    ]
    return "\n".join(lines)


def write_report(run_dir: Path, rec: RunRecord | None = None) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.md"
    path.write_text(redact(render(store, rec)), encoding="utf-8")
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


def _verdict(v: view.Verdict) -> list[str]:
    """The verdict, its reasons, the ranking it comes from and what would change it."""
    if v.verdict is None:
        return ["## Verdict", "", v.headline, ""]
    ranking = [f"{i}. {x.strategy} · utility {x.utility}" + (" · **recommended**" if x.recommended else "")
               + (f" ({x.note})" if x.note else "") for i, x in enumerate(v.ranking, 1)]
    note = [inline(v.note), ""] if v.note else []
    return ["## Verdict", "", f"**{inline(v.headline)}**", "", *note, inline(v.basis), "",
            "Why:", "", *[f"- {inline(x)}" for x in v.reasons],
            *[f"- vetoed {name}: {inline(text)}" for name, text in v.vetoes],
            *[f"- {inline(x)}" for x in v.unmeasured], "", "Ranking:", "", *ranking, "",
            "What would change the decision:", "", *[f"- {inline(x)}" for x in v.what_ifs], ""]


def _accuracy(a: view.Accuracy) -> list[str]:
    rows = [[r.strategy, *[r.scores[("test", m)].text if ("test", m) in r.scores else "–" for m in a.metrics],
             r.examples_per_second, r.setup_seconds] for r in a.rows]
    return ["## Accuracy on the test split", "", "Mean with its 95% bootstrap confidence interval.", "",
            *table(["strategy", *a.metrics, "examples/s", "setup s"], rows)]


def _models(rows: list[view.ModelRow]) -> list[str]:
    return ["", "## Models", "", *table(["strategy", "model", "backend", "id", "served from", "device", "priced"],
                                        [[r.strategy, r.model, r.backend, r.id, r.where, r.device, r.priced]
                                         for r in rows])]


def _win_rates(metric: str, rows: list[view.WinRateRow]) -> list[str]:
    """Preference win rate against the base model, and against other strategies where measured (dpo against
    lora: harness.measure.win_rate)."""
    if not rows:
        return []
    return ["", f"## Preference win rate against {view.opponents(rows)}", "",
            f"Per test example, the strategy's output against the other's (`against`) on the same prompt, judged by "
            f"`{metric}`: win 1, tie 0.5, loss 0; mean with a 95% bootstrap CI (0.5 = no better).", "",
            *table(["strategy", "against", "win rate [95% CI]", "wins / ties / losses", "n"],
                   [[r.strategy, r.against, r.rate.text, r.tally, r.n] for r in rows])]


def _comparisons(rec: RunRecord) -> list[str]:
    if not (found := view.comparisons(rec)):
        return []
    rows = [[c.metric, c.a, c.b, c.diff.text, c.adjusted, c.n, c.test, c.p, c.p_holm, c.effect_size, c.verdict]
            for c in found]
    return ["", "## Paired comparisons", "", "A − B on the examples both scored. The verdict column, the Holm p and "
            "the Holm-adjusted interval come from one test (the paired sign-flip test, exact McNemar on 0/1 scores): "
            "the adjusted interval inverts it at the level Holm holds that pair to within its metric, so it excludes "
            "0 exactly when the pair is outside the noise. The bootstrap 95% CI is unadjusted and descriptive only.",
            "", *table(["metric", "A", "B", "A − B [bootstrap 95% CI, unadjusted]", "Holm-adjusted CI (level)", "n",
                        "test", "p", "Holm p", "d_z", "verdict"], rows)]


def _costs(c: view.Costs | None) -> list[str]:
    """The cost ledger and the break-even volumes between strategies."""
    if c is None:
        return []
    rows = [[r.strategy, r.device, r.setup_seconds + (" (reused)" if r.reused else ""), r.setup_dollars, r.peak_mb,
             r.trainable, r.seconds_per_query, f"{r.latency}{r.in_flight}" if r.latency else "–",
             f"{r.single} ({r.single_note})" if r.single else "–", r.tokens, r.dollars_per_query,
             r.dollars_per_month] for r in c.rows]
    lines = ["", "## Cost", "", "Throughput (s/query under the run's batching) is what $/query bills; request latency "
             "is what one request waits, submission to last token, at the batch or concurrency shown "
             "(max_latency_p95 applies to it); single request: a few test prompts sent alone, medians.", "",
             *table(["strategy", "device", "setup s", "setup $", "peak MB", "trainable", "throughput s/query",
                     "request latency p50 / p95 s", "single request first token / total s", "tokens in / out",
                     "$/query", "$/month"], rows)]
    if c.estimates:
        lines += ["", "### Estimated or reused figures", "", *[f"- {inline(x)}" for x in c.estimates]]
    if c.break_even:
        lines += ["", "### Break-even", "", *[f"- {inline(x)}" for x in c.break_even]]
    return lines


def _overfitting(o: view.Overfitting, metrics: list[str]) -> list[str]:
    """Train-sample minus test and test minus ood on the first metric, and fine-tuning's validation curve."""
    notes = [f"- {inline(s)}" for s in o.notes]
    if not o.curves or not metrics:
        return ["", "## Fine-tuning", "", *notes] if notes else []
    m = metrics[0]
    gaps = {(g.strategy, g.gap): g.diff for g in o.gaps if g.metric == m}
    rows = [[n, gaps.get((n, "train − test"), view.Cell()).text, gaps.get((n, "test − ood"), view.Cell()).text,
             curve] for n, curve in o.curves.items()]
    return ["", f"## Overfitting ({m})", "", "Difference of means with a 95% bootstrap CI; a train − test gap above "
            "0 means the strategy does better on examples it was built from.", "",
            *table(["strategy", "train − test", "test − ood", "validation curve (step: val loss / val metric)"],
                   rows), *([""] + notes if notes else [])]


def _retrieval(r: view.Retrieval) -> list[str]:
    """Retrieval quality on the test split (where examples name gold documents) and the leakage check."""
    out: list[str] = []
    found = [row for row in r.rows if row.split == "test"]
    if found:
        ks = sorted({k for row in found if row.group == "all" for k in row.recall})
        rows = [[f"{row.strategy} ({row.group})", row.questions, *[row.recall.get(k, view.Cell()).text for k in ks],
                 row.mrr.text, row.wrong] for row in found]
        out += ["", "## Retrieval on the test split", "",
                "recall@k: the share of an example's gold documents among the top k retrieved (a two-hop question "
                "with one of two found scores 0.5), averaged over examples; MRR: mean 1/rank of the first gold "
                "document. Wrong answers split by whether every gold document was among the passages the model got.",
                "", *table(["strategy", "questions", *[f"recall@{k}" for k in ks], "MRR",
                            "wrong answers: retrieval miss / generation error"], rows)]
    if r.leakage:
        out += ["", inline(r.leakage)]
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

"""What report.md and report.html show, section by section: plain dataclasses of figures already chosen and
formatted from the RunRecord (the sentences come from reports.wording). Both renderers lay these out and format
nothing themselves, so a figure reads the same in both."""

from __future__ import annotations

from dataclasses import dataclass

from harness.record.run_record import RunRecord
from harness.units import fmt_count, fmt_dollars, fmt_number, fmt_p
from reports import wording


@dataclass(frozen=True)
class Cell:
    """A figure with its 95% CI, "0.412" and "[0.350, 0.470]"; "–" and "" when there is none."""

    value: str = "–"
    ci: str = ""
    n: str = ""

    @property
    def text(self) -> str:
        """Both in one, "0.412 [0.350, 0.470]" (the Markdown cell)."""
        return f"{self.value} {self.ci}" if self.ci else self.value


def cell(s, signed: bool = False) -> Cell:
    """A Score, Difference, Gap or win rate (anything with value, ci_low, ci_high) as a Cell."""
    if s is None:
        return Cell()
    return Cell(fmt_number(s.value, signed=signed),
                f"[{fmt_number(s.ci_low, signed=signed)}, {fmt_number(s.ci_high, signed=signed)}]",
                str(getattr(s, "n", "")))


@dataclass(frozen=True)
class Ranked:
    strategy: str
    utility: str
    recommended: bool
    note: str | None  # beside the recommended strategy only: why it is first


@dataclass(frozen=True)
class Verdict:
    headline: str
    verdict: str | None = None  # the recommendation's ("winner", "tie", ...); None without one
    note: str | None = None  # the caveat of constraints not checked
    basis: str = ""
    reasons: tuple[str, ...] = ()
    ranking: tuple[Ranked, ...] = ()
    vetoes: tuple[tuple[str, str], ...] = ()  # (strategy, the constraint it breaks)
    unmeasured: tuple[str, ...] = ()
    what_ifs: tuple[str, ...] = ()


def verdict(rec: RunRecord) -> Verdict:
    r = rec.recommendation
    if r is None:
        return Verdict(wording.no_recommendation(rec.status))
    note = wording.ranking_note(r)
    return Verdict(
        wording.headline(r), r.verdict, wording.unmeasured_note(r),
        " ".join(x for x in (wording.basis(r), rec.adaptive and wording.adaptive_basis(rec.adaptive),
                             wording.judge_basis(rec)) if x),
        tuple(wording.reasons(rec)),
        tuple(Ranked(x.strategy, f"{x.utility:.3f}", x.strategy == r.recommended,
                     note if x.strategy == r.recommended else None) for x in r.ranking),
        tuple((n, wording.veto(v)) for n, found in r.vetoed.items() for v in found),
        tuple(wording.not_measured(n, found) for n, found in r.unmeasured.items()), tuple(wording.what_ifs(r)))


@dataclass(frozen=True)
class AccuracyRow:
    strategy: str
    chosen: bool  # the recommended strategy
    scores: dict[tuple[str, str], Cell]  # (split, metric) -> score
    examples_per_second: str  # on test; "cached" when nothing was timed
    setup_seconds: str


@dataclass(frozen=True)
class Accuracy:
    metrics: list[str]
    splits: list[str]  # test first
    rows: list[AccuracyRow]


def accuracy(rec: RunRecord, names: list[str]) -> Accuracy:
    """The metrics (the task's, else those scored on test) by split, test first."""
    results = rec.strategies
    metrics = ((rec.task.metrics if rec.task else [])
               or sorted({m for r in results.values() for m in r.metrics.get("test", {})}))
    splits = sorted({s for r in results.values() for s in r.metrics}, key=lambda s: (s != "test", s))
    chosen = rec.recommendation.recommended if rec.recommendation else None
    rows = []
    for n in names:
        res, timing = results[n], results[n].timings.get("test")
        eps = timing.examples_per_second if timing else None
        rows.append(AccuracyRow(n, n == chosen, {(s, m): cell(res.score(m, s)) for s in splits for m in metrics},
                                fmt_number(eps, 2) if eps else "cached", fmt_number(res.cost.setup_seconds, 1)))
    return Accuracy(metrics, splits, rows)


@dataclass(frozen=True)
class ModelRow:
    """The model a strategy ran on, its backend, what it is and how it is priced."""

    strategy: str
    model: str
    backend: str
    id: str
    where: str
    device: str
    priced: str


def _priced(prices) -> str:
    if prices.input_per_mtok is not None or prices.output_per_mtok is not None:
        return (f"{fmt_dollars(prices.input_per_mtok or 0)} / {fmt_dollars(prices.output_per_mtok or 0)}"
                " per 1M tokens in / out")
    if prices.per_hour is not None:
        return f"{fmt_dollars(prices.per_hour)} per hour"
    return "per hour of its device (decision.prices)"


def models(rec: RunRecord, names: list[str]) -> list[ModelRow]:
    known = rec.models or ({"base": rec.model} if rec.model else {})
    rows = []
    for n in names:
        res = rec.strategies[n]
        m = known.get(res.model) or known.get(f"{res.model}:{n}")
        rows.append(ModelRow(n, res.model, res.backend or (m.backend if m else "hf"), m.name if m else "?",
                             (m.base_url or m.path or "") if m else "", (m.device or "?") if m else "?",
                             _priced(res.prices)))
    return rows


@dataclass(frozen=True)
class WinRateRow:
    strategy: str
    against: str  # "base" or another strategy of the run (dpo against lora)
    rate: Cell
    tally: str  # "wins / ties / losses"
    n: int


def win_rates(rec: RunRecord, names: list[str]) -> tuple[str, list[WinRateRow]]:
    """The judge's metric and a row per strategy and opponent with a win rate: against the base model, then
    against the strategies it is measured against (dpo: lora); none: "", []."""
    found = [(n, w) for n in names for w in [rec.strategies[n].win_rate, *rec.strategies[n].win_rate_against.values()]
             if w]
    return (found[0][1].metric if found else "",
            [WinRateRow(n, w.against, cell(w), f"{w.wins} / {w.ties} / {w.losses}", w.n) for n, w in found])


def opponents(rows: list[WinRateRow]) -> str:
    """"the base model", or "the base model and lora": what the win rates are against, for a heading."""
    others = list(dict.fromkeys(r.against for r in rows if r.against != "base"))
    return " and ".join(["the base model", *others])


@dataclass(frozen=True)
class ComparisonRow:
    metric: str
    a: str
    b: str
    diff: Cell  # A − B with its bootstrap CI (unadjusted)
    adjusted: str  # the Holm-adjusted interval with its level
    n: int
    test: str
    p: str
    p_holm: str
    effect_size: str
    verdict: str
    significant: bool


def _adjusted(c) -> str:
    """The Holm-adjusted interval with its confidence level, "–" in records from before it."""
    if c.adj_ci_low is None or c.adj_ci_high is None or c.adj_confidence is None:
        return "–"
    return (f"[{fmt_number(c.adj_ci_low, signed=True)}, {fmt_number(c.adj_ci_high, signed=True)}] "
            f"({wording.confidence(c.adj_confidence)})")


def comparisons(rec: RunRecord) -> list[ComparisonRow]:
    return [ComparisonRow(c.metric, c.a, c.b, cell(c, signed=True), _adjusted(c), c.n, c.test,
                          wording.p_resolution(c).removeprefix("p").removeprefix("="), fmt_p(c.p_holm),
                          fmt_number(c.effect_size, 2), f"{c.better} better" if c.better else "inside the noise",
                          c.significant)
            for c in rec.comparisons]


@dataclass(frozen=True)
class CostRow:
    strategy: str
    device: str
    setup_seconds: str
    reused: bool  # the setup is an earlier run's
    setup_dollars: str
    peak_mb: str  # the number alone
    peak_memory: str  # with its unit, and CUDA's peak beside it
    trainable: str
    artifacts: str
    seconds_per_query: str
    latency: str | None  # "p50 / p95"; None when not measured
    in_flight: str  # " at 4 in flight", or ""
    single: str | None  # "first token / total"; None when not measured
    single_note: str  # "n=3, measured earlier"
    tokens: str  # "in / out"
    dollars_per_query: str
    dollars_per_month: str


@dataclass(frozen=True)
class Costs:
    rows: list[CostRow]
    prices: dict[str, str | None]  # cpu, gpu per hour; api_in, api_out per 1M tokens (None without an API price)
    estimates: list[str]
    break_even: list[str]


def _mb(x: float | None) -> str:
    return "–" if not x else f"{x:,.0f} MB"


def _bytes(x: int | None) -> str:
    return "–" if not x else f"{x / 2**20:,.1f} MiB" if x >= 2**20 else f"{x / 1024:,.1f} KiB"


def _cost_row(n: str, c) -> CostRow:
    return CostRow(
        n, c.device, fmt_number(c.setup_seconds, 1), c.setup_source == "reused", fmt_dollars(c.setup_dollars),
        fmt_number(c.peak_memory_mb, 0), _mb(c.peak_memory_mb) + (f" · CUDA {_mb(c.cuda_peak_mb)}" if c.cuda_peak_mb
                                                                 else ""),
        fmt_count(c.trainable_params), _bytes(c.artifact_bytes), fmt_number(c.seconds_per_query),
        None if c.request_latency_p95 is None else
        f"{fmt_number(c.request_latency_p50, 2)} / {fmt_number(c.request_latency_p95, 2)}",
        f" at {c.requests_in_flight} in flight" if c.requests_in_flight else "",
        f"{fmt_number(c.single_request_first_token_s, 2)} / {fmt_number(c.single_request_s, 2)}"
        if c.single_requests else None,
        f"n={c.single_requests}{', measured earlier' if c.single_request_cached else ''}",
        f"{fmt_number(c.tokens_in_per_query, 0)} / {fmt_number(c.tokens_out_per_query, 0)}",
        fmt_dollars(c.dollars_per_query), fmt_dollars(c.dollars_per_month))


def costs(rec: RunRecord, names: list[str]) -> Costs | None:
    """The cost ledger, the figures that are estimates or reused and the break-even volumes; None without a ledger."""
    ledger = rec.cost_ledger
    if ledger is None or not ledger.strategies:
        return None
    p = ledger.prices
    api = p.api_input_per_mtok is not None
    return Costs([_cost_row(n, c) for n in names if (c := ledger.strategies.get(n))],
                 {"cpu": fmt_dollars(p.cpu_per_hour), "gpu": fmt_dollars(p.gpu_per_hour),
                  "api_in": fmt_dollars(p.api_input_per_mtok) if api else None,
                  "api_out": fmt_dollars(p.api_output_per_mtok) if api else None},
                 wording.estimates(rec), [wording.break_even(b) for b in ledger.break_even])


@dataclass(frozen=True)
class GapRow:
    strategy: str
    gap: str  # "train − test" or "test − ood"
    metric: str
    diff: Cell


@dataclass(frozen=True)
class Overfitting:
    gaps: list[GapRow]
    curves: dict[str, str]  # strategy -> its validation curve, "step: val loss / val metric; ..."
    notes: list[str]  # fine-tuned strategies whose checkpoint was chosen by loss


def _curve(res) -> str:
    curve = "; ".join(f"{p.step}: {fmt_number(p.val_loss)} / {fmt_number(p.val_metric)}"
                      for p in res.learning_curve) or "–"
    if res.training and res.training.monitor_metric and res.learning_curve:
        curve = f"({res.training.monitor_metric}) {curve}"
    return curve


def overfitting(rec: RunRecord, names: list[str]) -> Overfitting:
    """Train-sample minus test and test minus ood per metric, with each such strategy's validation curve."""
    found = [n for n in names if rec.strategies[n].overfitting]
    return Overfitting([GapRow(n, label, m, cell(gap, signed=True)) for n in found
                        for label, by_metric in (("train − test", rec.strategies[n].overfitting.train_minus_test),
                                                 ("test − ood", rec.strategies[n].overfitting.test_minus_ood))
                        for m, gap in by_metric.items()],
                       {n: _curve(rec.strategies[n]) for n in found}, wording.checkpoint_notes(rec, names))


@dataclass(frozen=True)
class RetrievalRow:
    strategy: str
    split: str
    group: str  # "all", or "2-hop" for the questions of that many hops
    questions: int
    recall: dict[int, Cell]  # k -> recall@k
    mrr: Cell
    wrong: str  # "retrieval miss / generation error (of wrong)", on the "all" row only

    @property
    def figures(self) -> list[tuple[str, Cell]]:
        """("recall@k", score) for each k, then ("MRR", score)."""
        return [*((f"recall@{k}", c) for k, c in self.recall.items()), ("MRR", self.mrr)]


@dataclass(frozen=True)
class Retrieval:
    rows: list[RetrievalRow]
    leakage: str | None


def _retrieval_rows(n: str, split: str, r) -> list[RetrievalRow]:
    wrong = r.wrong_answers
    rows = [RetrievalRow(n, split, "all", r.examples, {k: cell(s) for k, s in sorted(r.recall.items())}, cell(r.mrr),
                         f"{wrong.retrieval_miss} / {wrong.generation_error} (of {wrong.wrong})" if wrong else "")]
    return rows + [RetrievalRow(n, split, f"{h}-hop", g.examples, {k: cell(s) for k, s in sorted(g.recall.items())},
                                cell(g.mrr), "") for h, g in r.by_hops.items()]


def retrieval(rec: RunRecord, names: list[str]) -> Retrieval:
    """Retrieval quality on every split a strategy retrieved on (where examples name gold documents), and the
    leakage check."""
    return Retrieval([row for n in names for split, r in rec.strategies[n].retrieval.items()
                      for row in _retrieval_rows(n, split, r)],
                     wording.leakage(rec.leakage) if rec.leakage else None)

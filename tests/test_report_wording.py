"""reports/wording.py: the sentences the record no longer holds, written from the Recommendation's numbers."""

import pytest

from harness.config import ConstraintsConfig
from harness.record.recommendation import (BreakEven, Comparison, ConstraintChange, MoreExamples, PriorityChange, Ranked,
                                    Recommendation, Stable, Veto, VolumeChange, Weights)
from reports import wording


def _comparison(a="rag", b="prompt", value=0.2, low=0.1, high=0.3, p_holm=0.0004, better="rag", adjusted=True):
    adj = {"adj_ci_low": low - 0.01, "adj_ci_high": high + 0.01, "adj_confidence": 0.95, "family_size": 1}
    return Comparison(metric="em", a=a, b=b, value=value, ci_low=low, ci_high=high, n=50, p_value=p_holm,
                      test="exact McNemar", effect_size=0.6, p_holm=p_holm, significant=better is not None,
                      better=better, **(adj if adjusted else {}))


def _recommendation(**fields):
    base = dict(priority="balanced", weights=Weights(quality=0.6, cost=0.3, latency=0.1), monthly_queries=100_000,
                horizon_months=12, alpha=0.05, constraints=ConstraintsConfig(), metric="em", verdict="winner",
                recommended="rag", runner_up="prompt", comparison=_comparison())
    return Recommendation(**(base | fields))


def test_headlines_name_the_verdict_with_its_numbers():
    assert wording.headline(_recommendation()) == (
        "Recommend rag: it beats prompt on em outside the noise (+0.200, Holm-adjusted 95% CI 0.090 to 0.310, Holm "
        "p<0.001).")
    old = _recommendation(comparison=_comparison(adjusted=False))  # a run.json from before the adjusted interval
    assert "(+0.200, unadjusted 95% CI 0.100 to 0.300, Holm p<0.001)" in wording.headline(old)
    behind = _comparison(value=-0.2, low=-0.3, high=-0.1, better="prompt")
    trade = _recommendation(verdict="trade-off", comparison=behind)
    assert wording.headline(trade) == (
        "Recommend rag for its cost: prompt is better on em (+0.200, Holm-adjusted 95% CI 0.090 to 0.310, Holm "
        "p<0.001) but does not repay its extra cost under these priorities.")
    level = _comparison(value=0.0, low=-0.04, high=0.0, p_holm=0.54, better=None)
    tie = _recommendation(verdict="tie", comparison=level)
    text = wording.headline(tie)
    assert text == ("rag and prompt tie on em (difference +0.000, Holm-adjusted 95% CI -0.050 to 0.010; paired test: "
                    "Holm p=0.54, not significant); recommend rag, the cheaper.")
    assert wording.headline(_recommendation(verdict="tie", comparison=None)).startswith("rag and prompt cannot be told")
    assert wording.headline(_recommendation(verdict="only")) == (
        "Recommend rag: the only strategy that meets the constraints.")
    assert wording.headline(_recommendation(verdict="none", recommended=None)).startswith("No strategy meets")


def test_a_flipped_zero_never_reads_minus_zero():
    c = _comparison(value=0.0, low=0.0, high=0.2, better=None, adjusted=False).oriented("prompt", "rag")
    assert (c.value, c.ci_high) == (0.0, 0.0) and str(c.ci_high) == "-0.0"  # flipping 0.0 gives -0.0
    text = wording.headline(_recommendation(verdict="tie", recommended="prompt", runner_up="rag", comparison=c))
    assert "-0.000" not in text and "(difference +0.000, unadjusted 95% CI -0.200 to 0.000;" in text


def test_basis_ranking_note_and_vetoes():
    ranking = [Ranked(strategy="rag", utility=0.9, horizon_dollars=1),
               Ranked(strategy="prompt", utility=0.96, horizon_dollars=9)]
    r = _recommendation(verdict="tie", tie_break=True, ranking=ranking)
    assert wording.basis(r) == ("Decided on em (test split) with priority balanced (weights: quality 0.60, cost 0.30, "
                                "latency 0.10), 100k queries a month over 12 months; a difference counts when its "
                                "Holm-adjusted paired test has p < 0.05, which is when its Holm-adjusted interval (the "
                                "same test inverted) excludes 0.")
    assert wording.ranking_note(r) == "first: it ties with prompt on em and costs less"
    assert wording.ranking_note(_recommendation()) is None
    assert wording.veto(Veto(constraint="max_setup_dollars", limit=0.5, value=3.5e-08 + 1)) == (
        "setup cost $1.00 exceeds max_setup_dollars $0.50")
    assert wording.veto(Veto(constraint="max_forgetting_drop", limit=0.02, value=0.05, where="mmlu")) == (
        "forgetting drop on mmlu 0.05 exceeds max_forgetting_drop 0.02")
    assert wording.veto(Veto(constraint="max_latency_p95", limit=1, value=2.5)) == (
        "p95 request latency 2.5 s exceeds max_latency_p95 1 s")


@pytest.mark.parametrize("what_if, text", [
    (VolumeChange(direction="above", at=31_622.8, recommended="lora"),
     "At more than about 31.6k queries a month, lora would be recommended instead of rag."),
    (VolumeChange(direction="below", at=3.2, recommended=None),
     "At fewer than about 3 queries a month, no strategy would be recommended instead of rag."),
    (ConstraintChange(constraint="max_bias_increase", limit=0.02, value=0.05, strategy="lora", recommended="lora"),
     "Relaxing max_bias_increase from 0.02 to 0.05 (lora's value) would make lora the recommendation."),
    (PriorityChange(priority="cost", recommended="prompt"), "With --priority cost, prompt would be recommended."),
    (MoreExamples(needed=593, effect_size=-0.12, n=50),
     "If the observed difference is real (d_z=0.12), about 593 paired test examples would detect it (80% power); "
     "this run has 50."),
    (Stable(), "Nothing in the range checked changes it: query volumes from 1 to 10^10 a month, lifting any "
               "constraint, or another priority profile."),
])
def test_what_would_change_the_decision(what_if, text):
    assert wording.what_ifs(_recommendation(what_ifs=[what_if])) == [text]


@pytest.mark.parametrize("queries, months, text", [
    (3.11e-05, 3.11e-10, "lora costs more to set up than prompt and less per query: it pays off from the first query."),
    (36.03, 36.03e-5, "lora costs more to set up than prompt and less per query: it pays off after 37 queries "
                      "(under a day at the expected volume)."),
    (1_234_567.2, 12.3, "lora costs more to set up than prompt and less per query: it pays off after 1.23M queries "
                        "(12.3 months at the expected volume)."),
    (5e7, 500, "lora costs more to set up than prompt and less per query: it pays off after 50M queries "
               "(41.7 years at the expected volume)."),
])
def test_break_even_in_whole_queries(queries, months, text):
    b = BreakEven(pair=("prompt", "lora"), upfront="lora", cheaper_per_query="lora", other="prompt", queries=queries,
                  months=months)
    assert wording.break_even(b) == text


def test_no_break_even_names_the_cheaper_on_both_counts():
    b = BreakEven(pair=("prompt", "lora"), upfront="lora", cheaper_per_query="prompt", other="prompt",
                  dominant="prompt")
    assert wording.break_even(b) == "prompt is at least as cheap as lora to set up and per query: no break-even."


@pytest.mark.parametrize("months, text", [(0.01, "under a day"), (0.4, "13 days"), (3.46, "3.5 months"),
                                          (30, "2.5 years")])
def test_periods_read_in_the_unit_a_reader_uses(months, text):
    assert wording.period(months) == text

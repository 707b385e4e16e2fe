"""report.md and suite.md: one table helper, the same examples as report.html, and numbers people can read."""

import re

import numpy as np
import pytest

from harness.record.figures import Score
from harness.record.suite import SuiteRecord, SuiteRow, SuiteTask
from reports.html import write_html
from reports.markdown import write_report
from reports.suite import render_html, render_markdown
from reports.tables import table
from runfixtures import analysed, assert_tables_rectangular, make_run


def test_table_keeps_one_row_per_line_and_one_cell_per_column():
    lines = table(["name", "text"], [["a|b", "line one\nline two"], ["<script>x</script>", "p <0.001"]])
    assert lines[:2] == ["| name | text |", "|---|---|"]
    assert lines[2] == "| a\\|b | line one line two |"
    assert lines[3] == "| &lt;script>x&lt;/script> | p <0.001 |"
    assert_tables_rectangular("\n".join(lines))
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        table(["a", "b"], [[1, 2, 3]])


def _disagreeing_run(tmp_path):
    """Three strategies that agree on every example but ex-001, ex-005, ex-007 and ex-009 (by 1, 1, 0.5 and 1)."""
    base = np.zeros(12)
    scores = {"prompt": base.copy(), "few-shot": base.copy(), "lora": base.copy()}
    scores["lora"][[1, 5, 9]] = 1.0
    scores["few-shot"][7] = 0.5
    store = make_run(tmp_path, {n: {"scores": s.tolist()} for n, s in scores.items()}, metric="rougeL",
                     references={"ex-005": "a | pipe\nand a newline"})
    analysed(store)
    return store


def test_both_reports_show_the_same_examples_where_strategies_disagree_most(tmp_path):
    store = _disagreeing_run(tmp_path)
    md = write_report(store.path).read_text()
    html = write_html(store.path).read_text()
    in_md = re.findall(r"^\*\*(ex-\d+)\*\* · reference", md, flags=re.M)
    in_html = re.findall(r'<div class="example">\s*<h3>([^<]+)</h3>', html)
    assert in_md == in_html == ["ex-001", "ex-005", "ex-009", "ex-007"]
    assert "reference: a | pipe and a newline" in md
    assert_tables_rectangular(md)


def test_a_difference_that_rounds_to_zero_never_prints_as_minus_zero(tmp_path):
    store = _disagreeing_run(tmp_path)
    record = store.read()
    record.comparisons[0] = record.comparisons[0].model_copy(update={"value": -0.0001, "ci_low": -0.0004,
                                                                     "ci_high": 0.0002})
    record.strategies["prompt"].metrics["test"]["rougeL"] = Score(metric="rougeL", value=-0.0002, ci_low=-0.0004,
                                                                  ci_high=0.001, n=12)
    store.write(record)
    md = write_report(store.path).read_text()
    assert "| rougeL | prompt | few-shot | +0.000 [+0.000, +0.000] |" in md
    assert "| prompt | 0.000 [0.000, 0.001] |" in md and "-0.000" not in md
    assert "-0.000" not in write_html(store.path).read_text()
    SuiteRecord(suite="s", status="complete", config=record.config,
                tasks=[SuiteTask(task="t", run=store.path.name, status="complete")],
                summary=[SuiteRow(task="t", kind="generation", run=store.path.name, metric="rougeL")]).write(tmp_path)
    page = render_markdown(tmp_path)
    assert "| prompt | 0.000 [0.000, 0.001] | 0 of 1 |" in page and "| lora | 0.250 [" in page
    assert "-0.000" not in page and "-0.000" not in render_html(tmp_path)
    assert_tables_rectangular(page)


def test_the_ranking_shown_starts_with_the_recommended_strategy(tmp_path):
    """few-shot scores a little higher (inside the noise) and is slower: it has the higher utility, but the two tie
    and the cheaper prompt is recommended, so prompt is ranked first, with the reason."""
    rng = np.random.default_rng(3)
    prompt = (rng.random(50) < 0.6).astype(float)
    few_shot = prompt.copy()
    few_shot[np.flatnonzero(prompt == 0)[:2]] = 1.0
    store = make_run(tmp_path, {"few-shot": {"scores": few_shot.tolist(), "seconds_per_query": 0.55},
                                "prompt": {"scores": prompt.tolist(), "seconds_per_query": 0.5}})
    record = analysed(store)
    r = record.recommendation
    assert (r.verdict, r.recommended, r.tie_break) == ("tie", "prompt", True)
    md, html = write_report(store.path).read_text(), write_html(store.path).read_text()
    first_md = re.search(r"^Ranking:\n\n1\. (\S+) · utility .*$", md, flags=re.M)
    assert first_md.group(1) == "prompt" and "**recommended** (first: it ties with few-shot on exact_match and " \
                                                "costs less)" in first_md.group(0)
    first_html = re.search(r"<h3>Ranking</h3>\s*<ol><li><b>([^<]+)</b>", html)
    assert first_html.group(1) == "prompt" and "ties with few-shot on exact_match and costs less" in html
    assert "recommend prompt, the cheaper" in md and "recommend prompt, the cheaper" in html


def _cost_run(tmp_path, prompt_seconds_per_query):
    """lora: an hour of setup at $1/h and fast queries; prompt: no setup and slow queries."""
    strategies = {"prompt": {"scores": [1.0, 0.0] * 10, "seconds_per_query": prompt_seconds_per_query},
                  "lora": {"scores": [1.0, 1.0] * 10, "setup_seconds": 3600, "seconds_per_query": 0.1}}
    store = make_run(tmp_path, strategies, decision={"prices": {"cpu_per_hour": 1.0}})
    analysed(store)
    return write_report(store.path).read_text(), write_html(store.path).read_text()


def test_break_even_under_one_query_reads_from_the_first_query(tmp_path):
    md, html = _cost_run(tmp_path, 10_000)  # $2.78 a query against $1 of setup: repaid by query 0.36
    sentence = "lora costs more to set up than prompt and less per query: it pays off from the first query."
    assert f"- {sentence}" in md and sentence in html
    assert not re.search(r"\de-\d", md)


def test_break_even_counts_whole_queries_and_a_readable_period(tmp_path):
    md, html = _cost_run(tmp_path, 100)  # $1 / ($0.0278 - $0.0000278) = 36.03 queries: repaid after the 37th
    sentence = ("lora costs more to set up than prompt and less per query: it pays off after 37 queries "
                "(under a day at the expected volume).")
    assert f"- {sentence}" in md and sentence in html


def test_tiny_dollars_print_as_dollars(tmp_path):
    strategies = {"prompt": {"scores": [1.0, 0.0] * 10, "seconds_per_query": 0.0006}}  # $0.20/h: $3.3e-08 a query
    store = make_run(tmp_path, strategies)
    analysed(store)
    md, html = write_report(store.path).read_text(), write_html(store.path).read_text()
    row = next(line for line in md.splitlines() if line.startswith("| prompt | cpu |"))
    assert "$0.000000033" in row
    assert "$0.000000033" in html
    assert not re.search(r"\$-?\d(\.\d+)?e", md + html)


def test_reports_render_the_record_in_hand_as_they_render_run_json(tmp_path):
    from reports import html, markdown

    rng = np.random.default_rng(3)
    store = make_run(tmp_path, {"prompt": {"scores": rng.random(30).tolist()},
                                "lora": {"scores": rng.random(30).tolist(), "setup_seconds": 60}})
    record = analysed(store)
    assert markdown.render(store, record) == markdown.render(store)
    assert html.render(store, record) == html.render(store)
    record.recommendation = None  # the record in hand, not run.json, is what is rendered
    assert "No recommendation" in markdown.render(store, record) and "No recommendation" in html.render(store, record)
    assert "No recommendation" not in markdown.render(store)

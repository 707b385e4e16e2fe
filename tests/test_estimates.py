"""Fallback figures say so: an endpoint's context length nobody stated, token counts estimated from characters,
and an earlier run's setup charged again are marked in run.json and named in both reports."""

from __future__ import annotations

from harness.backends.openai import DEFAULT_CONTEXT, OpenAIBackend
from harness.record.run_record import ModelInfo
from reports.html import render as render_html
from reports.markdown import render
from runfixtures import make_run
from tests.servers import ScriptedServer


def test_an_endpoints_context_length_and_token_counts_say_where_they_come_from(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    server = ScriptedServer()  # its /v1/models gives no max_model_len, like most servers
    try:
        unsaid = OpenAIBackend("scripted", server.base_url, tokenizer=tok).describe()
        given = OpenAIBackend("scripted", server.base_url, tokenizer=tok, context_length=512).describe()
        hosted = OpenAIBackend("scripted", server.base_url, api="chat").describe()
    finally:
        server.stop()
    assert unsaid["context_length"] == DEFAULT_CONTEXT and unsaid["context_length_source"] == "default"
    assert given["context_length"] == 512 and given["context_length_source"] == "config"
    assert unsaid["token_count"] == "tokenizer" and hosted["token_count"].startswith("estimated: characters / 4")
    assert ModelInfo.model_validate(unsaid).context_length_source == "default"  # run.json keeps it


def test_both_reports_name_estimated_and_reused_figures(tmp_path):
    store = make_run(tmp_path, {"prompt@api": {"scores": [1, 0, 1, 1]}, "rag": {"scores": [1, 1, 0, 1]}})
    record = store.read()
    record.models = {"api": ModelInfo(name="gpt", backend="openai", context_length=4096,
                                      context_length_source="default", token_count="estimated: characters / 4")}
    cost = record.strategies["rag"].cost
    cost.setup_seconds, cost.setup_source, cost.setup_note = 3.2, "reused", "reused: index built in run r-1, 3.2 s"
    store.write(record)
    from runfixtures import analysed

    analysed(store)
    from html import unescape

    md, html = render(store), unescape(render_html(store))
    for page in (md, html):
        assert "Estimated or reused figures" in page
        assert "model 'api': context length 4096 is a default, not measured" in page
        assert "estimated: characters / 4" in page and "reused: index built in run r-1, 3.2 s" in page
    assert "| 3.2 (reused) |" in md

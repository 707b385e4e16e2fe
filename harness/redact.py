"""The one redaction step every string the harness writes or prints passes through.

Two things never leave the process: the API keys it read (the value of every `api_key_env` in use, registered
when read) and the credentials of a URL (`https://user:pass@host/v1`; the requests keep them, nothing that is
recorded or shown does). `redact` removes both from text, `redact_data` from a JSON-like value; run.json, the
predictions, the reports, `harness check`'s summary and JUnit files and the console all call one of them.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "[redacted]"
MIN_SECRET = 4  # shorter values would mask ordinary words; no real key is that short
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#\"'<>]*@")
_secrets: set[str] = set()
_lock = threading.Lock()


def register(secret: str | None) -> None:
    """Remember a value that must never be written or printed (an API key, as it is read)."""
    if not secret or len(secret.strip()) < MIN_SECRET:
        return
    variants = {secret, secret.strip(), html.escape(secret), json.dumps(secret)[1:-1]}
    with _lock:
        _secrets.update(v for v in variants if len(v) >= MIN_SECRET)


def clean_url(url: str) -> str:
    """The URL without `user:pass@` (what is recorded and shown; the password is also registered as a secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_USERINFO.sub(r"\1", url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    register(unquote(password or user))  # a lone `token@` is the secret itself
    register(base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode())  # as Basic auth sends it
    return urlunsplit(parts._replace(netloc=host))


def redact(text: str) -> str:
    """`text` without any registered secret and without credentials in any URL it holds."""
    if not isinstance(text, str):
        return text
    text = _URL_USERINFO.sub(r"\1", text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)  # the longest first: a key that contains another
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string, key or value, redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


def redacting_excepthook(kind, value, tb) -> None:
    """sys.excepthook: the traceback Python would print, redacted."""
    import sys
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def forget() -> None:
    """Drop every registered secret (tests)."""
    with _lock:
        _secrets.clear()

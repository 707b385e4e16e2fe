"""The `openai` backend: any OpenAI-compatible endpoint (a hosted API, a vLLM or llama.cpp server, Ollama) through
the `openai` client.

- `api: completions` (default) renders the chat with the model's own tokenizer (`tokenizer:`), exactly as the
  in-process backends do, and sends the text to `/v1/completions`; log-likelihoods come from the same endpoint with
  `echo` and `logprobs` where the server supports it (vLLM does). `api: chat` sends the messages to
  `/v1/chat/completions` and the server renders them (hosted APIs); it cannot score text.
- Requests run `concurrency` at a time. 429, 5xx, timeouts, dropped connections and malformed responses are
  retried with exponential backoff (honouring Retry-After); after `max_retries` the run stops with an error naming
  the endpoint. Every answer is cached as soon as it arrives, so `harness run --resume` loses nothing.
- Token counts come from the response's `usage`. Every reply is parsed from its raw bytes and validated
  (`harness.backends.replies`): one that breaks the protocol is retried as malformed, then an error names the
  endpoint, the field and the value. A reply from another model than the one asked for is an error.
- The cache key (`fingerprint`) holds what identifies the served weights where the server says: the `/v1/models`
  card, and the `model` and `system_fingerprint` of a one-token identity request made once per run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from harness.backends.base import Backend, Generation, LoglikUnsupported, fit_context, options_from_logprobs
from harness.backends.cache import (NoCache, cached_choices, cached_map, cached_perplexity, dump_generation, generation_key,
                           load_generation)
from harness.backends.replies import ChatCompletion, Completion, Echoed, Malformed, ModelCard, ModelList, parse
from harness.errors import HarnessError
from harness.model_spec import ModelSpec
from harness.redact import clean_url, register
from harness.registry import backends
from harness.section import ENV_NAME

DEFAULT_CONTEXT = 4096  # when neither the config nor the server says (recorded as context_length_source "default")
ESTIMATED_TOKENS = "estimated: characters / 4"  # token counts of a hosted chat model without a tokenizer


@backends.add
class OpenAISpec(ModelSpec):
    """A model behind an OpenAI-compatible endpoint (vLLM's server, a hosted API)."""

    name: ClassVar[str] = "openai"
    backend: Literal["openai"]
    id: str = Field(..., description="the model name the endpoint serves")
    base_url: str = Field(..., description="the endpoint, e.g. http://127.0.0.1:8000/v1")
    api_key_env: str | None = Field(None, description="the environment variable holding the API key (None: no "
                                    "key, for local servers)")
    api: Literal["completions", "chat"] = Field("completions", description="completions (the harness renders the "
                                                "chat with `tokenizer`; scores log-likelihoods where the server can) "
                                                "or chat (the server renders; no log-likelihoods)")
    tokenizer: str | None = Field(None, description="completions: HF id or directory of the served model's "
                                  "tokenizer (None: `id`, if it is one; 'default': the offline default model's)")
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight")
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    max_retries: int = Field(4, ge=0, le=20, description="retries on 429, 5xx, timeouts, malformed replies")

    @field_validator("api_key_env")
    @classmethod
    def _a_variable_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(ENV_NAME, v):  # a pasted key: never echo it
            raise ValueError(f"api_key_env must name an environment variable (letters, digits, _; it was {len(v)} "
                             "characters that are not one: a key pasted in place of a name?); put the key in a "
                             "variable (export MY_API_KEY=...) and give its name, api_key_env: MY_API_KEY")
        return v

    def check(self, where: str) -> None:
        """base_url must be an http(s) URL with a host, and api_key_env must be set (the key is registered for
        redaction as it is read)."""
        url = clean_url(self.base_url)
        try:
            parts = urlsplit(self.base_url)
            parts.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError as exc:
            raise HarnessError(f"{where}.base_url {url!r} is not a URL ({exc}).",
                               hint="Give the endpoint as http://HOST:PORT/v1 (or https://...).") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HarnessError(f"{where}.base_url {url!r} is not an http(s) URL with a host.",
                               hint="Give the endpoint as http://HOST:PORT/v1 (or https://...).")
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            register(key)
            if not key:
                raise HarnessError(f"{where}.api_key_env: the API key is to come from ${self.api_key_env}, which is "
                                   "not set.", hint=f"export {self.api_key_env}=... before the run (the key is read "
                                   "from the environment, never from the config file).")

    def load(self, config, *, label: str) -> "OpenAIBackend":
        tokenizer = self._tokenizer(config, label) if self.api == "completions" else None
        return OpenAIBackend(self.id, self.base_url, api=self.api, tokenizer=tokenizer, api_key_env=self.api_key_env,
                             concurrency=self.concurrency, timeout=self.timeout, max_retries=self.max_retries,
                             context_length=self.context_length, seed=config.seed)

    def packages(self) -> list[str]:
        return ["openai"]

    def _tokenizer(self, config, label: str):
        """The served model's tokenizer, to render its chat template exactly as an in-process backend would."""
        from transformers import AutoTokenizer

        from harness.backends.hf import resolve

        name = self.tokenizer or self.id
        try:
            resolved = resolve(name)
            return AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=config.trust_remote_code)
        except (HarnessError, OSError, ValueError) as exc:
            raise HarnessError(
                f"Model '{label}' (openai, api: completions) needs the served model's tokenizer to render prompts, "
                f"and '{name}' could not be loaded as one: {getattr(exc, 'message', exc)}",
                hint=f"Set models.{label}.tokenizer to an HF id or a local directory with the tokenizer files "
                     "('default' for the offline default model), or use api: chat to let the server render.",
            ) from exc


class EndpointError(HarnessError):
    """The endpoint failed in a way retrying did not mend."""


class MalformedReply(EndpointError):
    """The endpoint kept sending replies that break the protocol."""


class OpenAIBackend(Backend):
    backend = "openai"

    def __init__(self, model: str, base_url: str, *, api: str = "completions", tokenizer=None,
                 api_key_env: str | None = None, concurrency: int = 8, timeout: float = 60.0, max_retries: int = 4,
                 retry_wait: float = 1.0, context_length: int | None = None, seed: int | None = None):
        from openai import OpenAI

        url = base_url.rstrip("/")  # the requests keep its credentials; what is recorded or shown does not
        self.name, self.base_url, self.api = model, clean_url(url), api
        self.device = "remote"
        self.tokenizer = tokenizer
        self.concurrency, self.max_retries, self.retry_wait = concurrency, max_retries, retry_wait
        self.seed = seed  # sent with every completion: greedy already, and servers that sample in ties stay repeatable
        key = "EMPTY"  # local servers take any key
        if api_key_env:
            key = os.environ.get(api_key_env, "")
            register(key)
            if not key:
                raise HarnessError(f"The API key for model '{model}' is to come from ${api_key_env}, which is not set.",
                                   hint=f"export {api_key_env}=... (the key is read from the environment, never "
                                        "from the config file).")
        self.client = OpenAI(base_url=url, api_key=key, timeout=timeout, max_retries=0)
        self._fingerprint: str | None = None
        self.served: dict[str, Any] = {}  # what the server says identifies the weights (the record keeps it)
        self._card: ModelCard | None | bool = False  # False: not asked yet; None: the server lists no such card
        self._context_length = context_length
        self._context_source = "config" if context_length else None
        self._loglik: bool | None = None
        self.retries = 0  # retried requests, for the cost record

    # --- what the strategies ask ------------------------------------------------------------------------------

    @property
    def context_length(self) -> int:
        if self._context_length is None:
            card = self._model_card()
            said = card.max_model_len if card else None
            self._context_length = said or DEFAULT_CONTEXT
            self._context_source = "server" if said else "default"
        return self._context_length

    @property
    def fingerprint(self) -> str:  # type: ignore[override]
        """The cache key's model part: the endpoint, the name, the api and what the server says of its weights."""
        if self._fingerprint is None:
            card = self._model_card()
            hello = json.dumps([{"role": "user", "content": "Hello"}]) if self.api == "chat" else "Hello"
            reply = self._request(hello, 1)  # the identity request: which model answers, in which configuration
            self.served = {"card": card.identity() if card else None, "model": reply.model,
                           "system_fingerprint": reply.system_fingerprint}
            parts = json.dumps(["openai", self.base_url, self.name, self.api, self.served], sort_keys=True)
            self._fingerprint = hashlib.sha256(parts.encode()).hexdigest()[:16]
        return self._fingerprint

    def render(self, messages: list[dict[str, str]]) -> str:
        if self.api == "chat":  # the server renders: what we send is the messages themselves
            return json.dumps(messages, ensure_ascii=False)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            return max(1, len(text) // 4)  # no tokenizer for a hosted chat model: about 4 characters a token
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def in_flight(self, batch_size: int) -> int:
        return min(batch_size, self.concurrency)

    @property
    def supports_loglik(self) -> bool:  # type: ignore[override]
        if self._loglik is None:
            self._loglik = self.api == "completions" and self.tokenizer is not None and self._probe_loglik()
        return self._loglik

    def generate(self, prompts, *, max_new_tokens, batch_size=16, cache=None, adapter="", on_batch=None):
        keys = [generation_key(self.fingerprint, adapter, p, max_new_tokens) for p in prompts]
        cache = cache or NoCache()
        limit = max(8, self.context_length - max_new_tokens)

        def one(i: int) -> Generation:
            prompt, truncated = self._fit(prompts[i], limit)
            start = time.perf_counter()
            resp = self._request(prompt, max_new_tokens)
            choice = resp.choices[0]
            text = choice.message.content if self.api == "chat" else choice.text
            took = time.perf_counter() - start  # this request's own send-to-last-byte time (retries included)
            gen = Generation(text.strip(), resp.usage.prompt_tokens, resp.usage.completion_tokens, took, truncated,
                             latency=took)
            cache.put_many("generation", {keys[i]: dump_generation(gen)})  # kept even if a neighbour fails
            return gen

        def compute(batch: list[int]) -> list[Generation]:
            start = time.perf_counter()
            with ThreadPoolExecutor(self.concurrency) as pool:
                gens = list(pool.map(one, batch))
            share = (time.perf_counter() - start) / len(batch)  # like the other backends: the batch's wall time
            for gen in gens:  # shared out as the billed seconds; each keeps its own request latency
                gen.seconds = share
            return gens

        step = max(batch_size, self.concurrency)
        return cached_map(cache, "generation", keys, compute, load=load_generation, dump=dump_generation,
                          on_batch=on_batch, batches=lambda todo: [todo[s : s + step] for s in range(0, len(todo), step)])

    def score_choices(self, items, *, batch_size=16, cache=None, adapter="", on_batch=None):
        self._require_loglik()
        limit = self.context_length - 1
        return cached_choices(self.fingerprint, self.tokenizer, items,
                              lambda split: options_from_logprobs(split, limit, self._echo_logprobs),
                              batch_size=batch_size, cache=cache, adapter=adapter, on_batch=on_batch)

    def perplexity(self, texts, *, batch_size=8, cache=None, adapter=""):
        self._require_loglik()
        return cached_perplexity(self.fingerprint, self.tokenizer, texts,
                                 lambda ids: [float(sum(lp)) for lp in self._echo_logprobs(ids)],
                                 limit=self.context_length - 1, batch_size=batch_size, cache=cache, adapter=adapter)

    def _require_loglik(self) -> None:
        if not self.supports_loglik:
            raise LoglikUnsupported(f"Endpoint {self.base_url} (model {self.name}) gives no prompt log-probabilities")

    def describe(self) -> dict[str, Any]:
        described = super().describe()  # asks the server for its context length first, if the config did not say
        return described | {"base_url": self.base_url, "api": self.api, "concurrency": self.concurrency,
                            "loglik": self._loglik, "context_length_source": self._context_source,
                            "token_count": "tokenizer" if self.tokenizer is not None else ESTIMATED_TOKENS,
                            "served": self.served or None}

    def close(self) -> None:
        self.client.close()

    # --- the wire --------------------------------------------------------------------------------------------

    def _fit(self, prompt: str, limit: int) -> tuple[str, bool]:
        """Cut an overlong prompt's middle, as the other backends do (only where the tokenizer is known)."""
        if self.api == "chat" or self.tokenizer is None:
            return prompt, False
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if len(ids) <= limit:
            return prompt, False
        return self.tokenizer.decode(fit_context(ids, limit)), True

    def _request(self, prompt: str, max_new_tokens: int):
        """One greedy completion of a rendered prompt (chat: the messages as JSON), validated, from the model asked."""
        if self.api == "chat":
            resp = self._call(self.client.chat.completions.with_raw_response.create, ChatCompletion, model=self.name,
                              messages=json.loads(prompt), max_tokens=max_new_tokens, temperature=0, seed=self.seed)
        else:
            resp = self._call(self.client.completions.with_raw_response.create, Completion, model=self.name,
                              prompt=prompt, max_tokens=max_new_tokens, temperature=0, seed=self.seed)
        if not same_model(self.name, resp.model):
            raise EndpointError(f"Endpoint {self.base_url} answered with model '{resp.model}', not the '{self.name}' "
                                "asked for: its answers would be scored as that model's.",
                                hint="Check the model's `id` against what the server serves (GET /v1/models).")
        return resp

    def _echo_logprobs(self, token_lists: list[list[int]]) -> list[list[float]]:
        """Per sequence, the log-probability of each token after the first (one request for the batch)."""
        resp = self._call(self.client.completions.with_raw_response.create, Echoed, model=self.name,
                          prompt=token_lists, max_tokens=1, temperature=0, echo=True, logprobs=0)
        choices = sorted(resp.choices, key=lambda c: c.index)
        out = []
        for ids, choice in zip(token_lists, choices):
            lps = (choice.logprobs.token_logprobs if choice.logprobs else None) or []
            if len(lps) < len(ids):
                raise LoglikUnsupported(f"Endpoint {self.base_url} echoed {len(lps)} log-probabilities for a "
                                        f"{len(ids)}-token prompt")
            if any(x is None for x in lps[1 : len(ids)]):
                raise LoglikUnsupported(f"Endpoint {self.base_url} echoed a null log-probability")
            out.append([float(x) for x in lps[1 : len(ids)]])
        return out

    def _probe_loglik(self) -> bool:
        from openai import APIStatusError

        try:
            ids = self.tokenizer("Hello world", add_special_tokens=False)["input_ids"]
            return len(self._echo_logprobs([ids])[0]) == len(ids) - 1
        except (LoglikUnsupported, APIStatusError, EndpointError, AttributeError, TypeError):
            return False

    def _model_card(self) -> ModelCard | None:
        """This model's `/v1/models` entry (None where the server lists none, or has no such endpoint)."""
        if self._card is False:
            try:
                cards = self._call(self.client.models.with_raw_response.list, ModelList).data
            except MalformedReply:
                raise
            except HarnessError:
                cards = []
            self._card = next((card for card in cards if card.id == self.name), None)
        return self._card or None

    def _call(self, method, kind, **kwargs):
        """One request, its reply validated as `kind`, retried with exponential backoff on what a retry can mend."""
        import openai

        transient = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError, Malformed)
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            try:
                return parse(method(**kwargs).http_response.content, kind)
            except openai.APIStatusError as exc:
                if not isinstance(exc, transient) and exc.status_code < 500:
                    raise EndpointError(f"Endpoint {self.base_url} (model {self.name}) refused the request: "
                                        f"HTTP {exc.status_code} {_message(exc)}",
                                        hint=_hint(exc.status_code)) from exc
                last = exc
                wait = _retry_after(exc)
            except transient as exc:
                last, wait = exc, None
            if attempt < self.max_retries:
                self.retries += 1
                time.sleep(wait if wait is not None else self.retry_wait * 2**attempt * (0.5 + random.random()))
        where = f"Endpoint {self.base_url} (model {self.name})"
        if isinstance(last, Malformed):
            raise MalformedReply(f"{where} sent a reply that breaks the OpenAI protocol {self.max_retries + 1} "
                                 f"times: field '{last.field}' is {last.value}.",
                                 hint="The server is not answering as an OpenAI-compatible endpoint does: check "
                                      "base_url (it usually ends in /v1) and the server's version and logs.")
        raise EndpointError(
            f"{where} failed {self.max_retries + 1} times: {type(last).__name__}: {_message(last)}",
            hint="Check that the server is up and answering. Answers received so far are cached: once it is back, "
                 "`harness run --resume RUN_DIR` continues where this stopped.")


def same_model(asked: str, answered: str) -> bool:
    """The reply's `model` names the one asked for: the same name, or a dated snapshot of it (gpt-4o ->
    gpt-4o-2024-08-06, gpt-4-0613), or Ollama's default tag."""
    return re.fullmatch(re.escape(asked) + r"(-\d{4}(-\d{2}-\d{2})?|:latest)?", answered) is not None


def _message(exc: Exception | None) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text if len(text) < 300 else text[:300] + "..."


def _retry_after(exc) -> float | None:
    try:
        value = float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
    return min(max(value, 0.0), 60.0)


def _hint(status: int) -> str:
    if status in (401, 403):
        return "Check the API key (api_key_env) and that it may use this model."
    if status == 404:
        return "Check base_url (it usually ends in /v1) and the model name the server serves (GET /v1/models)."
    return "Check the model's settings in the run YAML (models:)."

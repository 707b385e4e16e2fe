"""What every model backend offers the strategies and probes: generate, score options, count tokens, render a chat,
and describe + fingerprint itself for the cache and the record.

Three implementations: `hf` (the in-process transformers model: `harness.backends.hf.ModelHandle`), `vllm` (vLLM's
offline engine, `harness.backends.vllm`) and `openai` (any OpenAI-compatible endpoint, `harness.backends.openai`).
Prompts reach a backend already rendered (`render`), so every backend sees the exact text the others see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Generation:
    text: str
    tokens_in: int  # prompt tokens actually sent (after any truncation)
    tokens_out: int
    seconds: float  # this example's share of its batch's wall time (what throughput and the ledger bill)
    truncated: bool = False
    cached: bool = False
    # request latency: seconds from submission to the last token. In a batch (hf, vllm) every request waits for
    # the whole batch, so it is the batch's wall time; on an endpoint, the request's own send-to-last-byte time.
    latency: float | None = None  # None: an entry cached before latencies were kept


@dataclass
class OptionScore:
    """Log-likelihood of one option's tokens given the context. `mean` is the length-normalised score that picks
    the answer: the mean log-probability per option token (acc_norm by tokens, not characters)."""

    logprob: float  # sum over the option's tokens, in nats
    tokens: int
    cached: bool = False
    seconds: float = 0.0  # this option's share of its batch's wall time (kept in the cache, as for generations)
    latency: float | None = None  # its batch's wall time: what a request scoring it waits
    tokens_in: int = 0  # tokens the backend processed for this option (a shared context counted once, on one option)
    tokens_out: int = 0  # tokens the backend generated for it (an endpoint's echo request generates one)

    @property
    def mean(self) -> float:
        return self.logprob / max(self.tokens, 1)


class LoglikUnsupported(RuntimeError):
    """The backend cannot score given text (an API without prompt log-probabilities)."""


class Backend:
    """A model the harness can prompt. Subclasses set the attributes and implement the methods below."""

    # Set by every subclass (no defaults here: ModelHandle is a dataclass whose fields these are).
    name: str  # the model's id as the user gave it
    fingerprint: str  # changes whenever the weights (or the endpoint's model) change: part of every cache key
    device: str  # where it runs ("remote" for an endpoint)
    backend = ""  # "hf", "vllm" or "openai"
    supports_loglik = True  # False: classification falls back to generation, probes do not apply

    @property
    def context_length(self) -> int:
        raise NotImplementedError

    def render(self, messages: list[dict[str, str]]) -> str:
        """Chat messages to the exact prompt text the model sees (the same at inference and in training)."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def in_flight(self, batch_size: int) -> int:
        """How many requests run together when the runner hands over `batch_size` prompts: the batch a request
        waits for (hf, vllm) or the endpoint's concurrency (openai). Request latencies are measured at this."""
        return batch_size

    def generate(self, prompts: list[str], *, max_new_tokens: int, batch_size: int = 16, cache=None,
                 adapter: str = "", on_batch: Callable[[int], None] | None = None) -> list[Generation]:
        """Greedy completions of already-rendered prompts, reusing cached ones."""
        raise NotImplementedError

    def score_choices(self, items: list[tuple[str, list[str]]], *, batch_size: int = 16, cache=None,
                      adapter: str = "", on_batch: Callable[[int], None] | None = None) -> list[list[OptionScore]]:
        """Log-likelihood of each option of each (context, options) item."""
        raise LoglikUnsupported(f"{self.backend} backend '{self.name}' cannot score options")

    def perplexity(self, texts: list[str], *, batch_size: int = 8, cache=None, adapter: str = "") -> list[OptionScore]:
        raise LoglikUnsupported(f"{self.backend} backend '{self.name}' cannot score text")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "name": self.name, "fingerprint": self.fingerprint, "device": self.device,
                "context_length": self.context_length, "context_length_source": "model", "token_count": "tokenizer"}

    def close(self) -> None:
        """Free what the backend holds (an engine's memory, a client's connections)."""


def fit_context(ids: list[int], limit: int) -> list[int]:
    """Cut an overlong prompt from the middle: the head keeps the instruction, the tail keeps the question and the
    generation prompt (what the model must see to answer at all)."""
    if len(ids) <= limit:
        return ids
    head = limit // 4
    return ids[:head] + ids[len(ids) - (limit - head):]


def split_option_tokens(tokenizer, context: str, options: list[str]) -> tuple[list[list[int]], list[int]]:
    """Token ids of context+option for each option, and where each option's scored tokens start.

    Options are tokenized together with the context (as the model reads them) and scored from the first token
    that differs from the context's own tokenization, so a merge at the boundary is charged to the option.
    An empty context starts from the end-of-text token, like lm-evaluation-harness."""
    tok = tokenizer
    start = [] if context else [tok.eos_token_id if tok.bos_token_id is None else tok.bos_token_id]
    ctx = start + tok(context, add_special_tokens=False)["input_ids"]
    wholes, starts = [], []
    for option in options:
        whole = start + tok(context + option, add_special_tokens=False)["input_ids"]
        n = 0
        while n < min(len(ctx), len(whole)) and ctx[n] == whole[n]:
            n += 1
        wholes.append(whole)
        starts.append(min(max(n, 1), len(whole) - 1) if len(whole) > 1 else 1)
    return wholes, starts


def options_from_logprobs(split, limit: int, prompt_logprobs) -> list[list[OptionScore]]:
    """Option scores from an engine that gives per-token prompt log-probabilities (`prompt_logprobs(sequences) ->
    per sequence, the log-probability of each token after the first`). Each context+option sequence is cut from
    the left to `limit` tokens (an over-long context loses its start, never the option) and all go in one call."""
    seqs, spans = [], []
    for wholes, starts in split:
        for whole, s in zip(wholes, starts):
            cut = max(0, len(whole) - limit)
            seqs.append(whole[cut:])
            spans.append(max(s - cut, 1))
    flat = iter(zip(prompt_logprobs(seqs), spans))
    out = []
    for wholes, _ in split:
        scores = []
        for _ in wholes:
            lp, s = next(flat)
            option = lp[s - 1 :]  # lp[j] is the log-probability of token j + 1
            # each sequence is sent whole (context + option) and the engine generates one token after it
            scores.append(OptionScore(float(sum(option)), len(option), tokens_in=len(lp) + 1, tokens_out=1))
        out.append(scores)
    return out

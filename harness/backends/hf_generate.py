"""Batched generation: left-padded, sorted by length, greedy by default, under inference mode, cached by content.

Every generation is keyed by (model fingerprint, adapter fingerprint, exact prompt, settings), so nothing is
computed twice, across strategies or across runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from harness.backends.base import Generation, OptionScore, fit_context, split_option_tokens
from harness.backends.cache import (Cache, cached_choices, cached_map, cached_perplexity, dump_generation, generation_key,
                           load_generation)

if TYPE_CHECKING:  # annotations only: models.py calls into this module
    from harness.backends.hf import ModelHandle

__all__ = ["Generation", "OptionScore", "fit_context", "generate", "score_choices", "perplexity"]


def generate(
    handle: ModelHandle,
    prompts: list[str],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    cache: Cache | None = None,
    adapter: str = "",
    on_batch: Callable[[int], None] | None = None,
) -> list[Generation]:
    """Generate a completion for every prompt (already chat-rendered), reusing cached ones."""
    keys = [generation_key(handle.fingerprint, adapter, p, max_new_tokens) for p in prompts]
    encoded: dict[int, list[int]] = {}
    limit = max(8, handle.context_length - max_new_tokens)
    prefixes = PrefixCache(handle)  # the instruction (and fixed demonstrations) are encoded once, not per prompt

    def batches(todo: list[int]):
        encoded.update((i, handle.tokenizer(prompts[i], add_special_tokens=False)["input_ids"]) for i in todo)
        ordered = sorted(todo, key=lambda i: -len(encoded[i]))  # longest first: OOM shows early
        return [ordered[s : s + batch_size] for s in range(0, len(ordered), batch_size)]

    def compute(batch: list[int]) -> list[Generation]:
        ids = [fit_context(encoded[i], limit) for i in batch]
        outs = _generate_batch(handle, ids, max_new_tokens, prefixes)
        return [Generation(text, len(x), n_out, secs, len(encoded[i]) > limit, latency=wall)
                for i, x, (text, n_out, secs, wall) in zip(batch, ids, outs)]

    return cached_map(cache, "generation", keys, compute, batches=batches, load=load_generation,
                      dump=dump_generation, on_batch=on_batch)


MIN_SHARED_PREFIX = 16  # tokens; below this, sharing the prefix saves less than it costs


class PrefixCache:
    """The key/value cache of a token prefix, computed once and reused by every batch that starts with it.

    Prompts of one task share their start (the system instruction, and with fixed demonstrations, the demos too);
    prefilling it once per call instead of once per prompt is most of what a batch can save on a CPU, where the
    prefill is compute bound. The last `_cached` prefix is kept: batches of one call share the same one."""

    def __init__(self, handle: ModelHandle):
        self.handle = handle
        self._ids: list[int] = []
        self._kv = None

    def get(self, prefix: list[int]):
        import copy

        import torch

        if prefix != self._ids:
            with torch.inference_mode():
                out = self.handle.model(input_ids=torch.tensor([prefix], device=self.handle.device), use_cache=True)
            self._ids, self._kv = list(prefix), out.past_key_values
        return copy.deepcopy(self._kv)  # generate() appends to the cache it is given


def common_prefix(ids: list[list[int]]) -> int:
    n = min(len(x) for x in ids) - 1  # at least one token of every prompt goes through generate()
    first = ids[0]
    for x in ids[1:]:
        i = 0
        while i < n and x[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)


def _generate_batch(handle: ModelHandle, ids: list[list[int]], max_new_tokens: int,
                    prefixes: PrefixCache | None = None) -> list[tuple[str, int, float, float]]:
    """Per prompt: text, tokens generated, its share of the batch's wall time, and the batch's wall time (what each
    request of the batch waits for its answer)."""
    import torch

    tok = handle.tokenizer
    width = max(len(x) for x in ids)
    pad = tok.pad_token_id
    shared = common_prefix(ids) if prefixes is not None and len(ids) > 1 else 0
    start = time.perf_counter()
    kwargs = {}
    kv = prefixes.get(ids[0][:shared]) if shared >= MIN_SHARED_PREFIX else None
    if hasattr(kv, "batch_repeat_interleave"):  # a transformers Cache; older tuple caches take the plain path
        # [shared prefix][padding][rest]: the prefix's cache is one row repeated; positions come from the mask.
        rest = [x[shared:] for x in ids]
        w = max(len(r) for r in rest)
        rows = [ids[0][:shared] + [pad] * (w - len(r)) + r for r in rest]
        mask = [[1] * shared + [0] * (w - len(r)) + [1] * len(r) for r in rest]
        kv.batch_repeat_interleave(len(ids))
        kwargs["past_key_values"] = kv
        width = shared + w
    else:
        rows = [[pad] * (width - len(x)) + x for x in ids]
        mask = [[0] * (width - len(x)) + [1] * len(x) for x in ids]
    input_ids = torch.tensor(rows, device=handle.device)
    attention = torch.tensor(mask, device=handle.device)
    with torch.inference_mode():
        out = handle.model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=pad,
            eos_token_id=tok.eos_token_id,
            **kwargs,
        )
    wall = time.perf_counter() - start
    seconds = wall / len(ids)
    results = []
    for row in out[:, width:].tolist():
        n = len(row)
        for i, t in enumerate(row):
            if t == tok.eos_token_id:
                n = i
                break
        text = tok.decode(row[:n], skip_special_tokens=True).strip()
        results.append((text, n, seconds, wall))
    return results


# ---------------------------------------------------------------------------------------------------------------
# Log-likelihood scoring: multiple-choice options and held-out perplexity (no generation, no parsing).
# ---------------------------------------------------------------------------------------------------------------


def _split_tokens(handle: ModelHandle, context: str, options: list[str]) -> tuple[list[list[int]], list[int]]:
    return split_option_tokens(handle.tokenizer, context, options)


def score_choices(
    handle: ModelHandle,
    items: list[tuple[str, list[str]]],
    *,
    batch_size: int = 16,
    cache: Cache | None = None,
    adapter: str = "",
    on_batch: Callable[[int], None] | None = None,
) -> list[list[OptionScore]]:
    """Score every option of every (context, options) item by its log-likelihood, reusing cached scores.

    Batched: `batch_size` items per step. The shared context of an item is computed once: one left-padded forward
    over the contexts of the batch fills a KV cache, which is then copied to each option's row and the options
    (right-padded) are run on top of it. The result equals scoring each option in its own forward pass."""
    return cached_choices(handle.fingerprint, handle.tokenizer, items, lambda split: _score_batch(handle, split),
                          batch_size=batch_size, cache=cache, adapter=adapter, on_batch=on_batch)


def _score_batch(handle: ModelHandle, split: list[tuple[list[list[int]], list[int]]]) -> list[list[OptionScore]]:
    import torch

    pad, dev, model = handle.tokenizer.pad_token_id, handle.device, handle.model
    limit = handle.context_length
    prefixes, suffixes, owners, offsets = [], [], [], []
    for i, (wholes, starts) in enumerate(split):
        m = min(starts)  # tokens every option shares with the context: computed once
        longest = max(len(w) for w in wholes) - m
        keep = max(1, min(m, limit - longest))  # an over-long context loses its start, never the options
        prefixes.append(wholes[0][m - keep : m])
        for whole, s in zip(wholes, starts):
            suffixes.append(whole[m:])
            owners.append(i)
            offsets.append(s - m)
    width = max(len(p) for p in prefixes)
    p_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prefixes], device=dev)
    p_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prefixes], device=dev)
    s_width = max(len(s) for s in suffixes)
    s_ids = torch.tensor([s + [pad] * (s_width - len(s)) for s in suffixes], device=dev)
    s_mask = torch.tensor([[1] * len(s) + [0] * (s_width - len(s)) for s in suffixes], device=dev)
    idx = torch.tensor(owners, device=dev)
    with torch.inference_mode():
        out = model(input_ids=p_ids, attention_mask=p_mask, position_ids=(p_mask.cumsum(-1) - 1).clamp(min=0),
                    use_cache=True)
        first = out.logits[:, -1].float().log_softmax(-1)[idx]  # predicts each option's first suffix token
        kv = out.past_key_values
        kv.batch_select_indices(idx)  # one copy of the context's cache per option
        positions = p_mask.sum(-1)[idx, None] + torch.arange(s_width, device=dev)[None]
        out2 = model(input_ids=s_ids, attention_mask=torch.cat([p_mask[idx], s_mask], dim=1),
                     position_ids=positions, past_key_values=kv, use_cache=False)
        logp = torch.cat([first[:, None], out2.logits[:, :-1].float().log_softmax(-1)], dim=1)
        token_lp = logp.gather(-1, s_ids[:, :, None]).squeeze(-1).cpu()
    results: list[list[OptionScore]] = [[] for _ in split]
    for row, (i, off, suffix) in enumerate(zip(owners, offsets, suffixes)):
        lp = token_lp[row, off : len(suffix)]
        shared = len(prefixes[i]) if not results[i] else 0  # the context ran once: counted on the first option
        results[i].append(OptionScore(float(lp.sum()), int(lp.numel()), tokens_in=shared + len(suffix)))
    return results


def score_choices_naive(handle: ModelHandle, items: list[tuple[str, list[str]]]) -> list[list[OptionScore]]:
    """The reference: one forward pass per option, no batching, no shared context (tests and benchmarks)."""
    import torch

    results = []
    for context, options in items:
        wholes, starts = _split_tokens(handle, context, options)
        scores = []
        for whole, s in zip(wholes, starts):
            ids = torch.tensor([whole], device=handle.device)
            with torch.inference_mode():
                logp = handle.model(input_ids=ids).logits[0, :-1].float().log_softmax(-1)
            lp = logp.gather(-1, ids[0, 1:, None]).squeeze(-1)[s - 1 :]
            scores.append(OptionScore(float(lp.sum()), int(lp.numel())))
        results.append(scores)
    return results


def perplexity(
    handle: ModelHandle,
    texts: list[str],
    *,
    batch_size: int = 8,
    cache: Cache | None = None,
    adapter: str = "",
) -> list[OptionScore]:
    """Per text: the summed log-likelihood of its tokens (after the first) and their count; a text's perplexity
    is exp(-logprob / tokens). Texts longer than the context window keep their start."""
    return cached_perplexity(handle.fingerprint, handle.tokenizer, texts, lambda ids: _perplexity_batch(handle, ids),
                             limit=handle.context_length, batch_size=batch_size, cache=cache, adapter=adapter)


def _perplexity_batch(handle: ModelHandle, ids: list[list[int]]) -> list[float]:
    import torch

    pad = handle.tokenizer.pad_token_id
    width = max(len(x) for x in ids)
    inp = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=handle.device)
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=handle.device)
    with torch.inference_mode():
        logp = handle.model(input_ids=inp, attention_mask=mask).logits[:, :-1].float().log_softmax(-1)
        token_lp = (logp.gather(-1, inp[:, 1:, None]).squeeze(-1) * mask[:, 1:]).sum(-1).cpu()
    return token_lp.tolist()

"""Batched generation: left-padded, sorted by length, greedy by default, under inference mode, cached by content.

Every generation is keyed by (model fingerprint, adapter fingerprint, exact prompt, settings), so nothing is
computed twice, across strategies or across runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from harness.cache import Cache, NoCache, key
from harness.models import ModelHandle


@dataclass
class Generation:
    text: str
    tokens_in: int
    tokens_out: int
    seconds: float  # this example's share of its batch's wall time
    truncated: bool = False
    cached: bool = False


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
    cache = cache or NoCache()
    settings = {"max_new_tokens": max_new_tokens, "greedy": True}
    keys = [key("gen", handle.fingerprint, adapter, p, settings) for p in prompts]
    hits = cache.get_many("generation", keys)
    results: list[Generation | None] = [
        Generation(**hits[k], cached=True) if k in hits else None for k in keys
    ]
    todo = [i for i, r in enumerate(results) if r is None]
    if on_batch and len(todo) < len(prompts):
        on_batch(len(prompts) - len(todo))
    if todo:
        encoded = [handle.tokenizer(prompts[i], add_special_tokens=False)["input_ids"] for i in todo]
        limit = max(8, handle.context_length - max_new_tokens)
        todo_sorted = sorted(range(len(todo)), key=lambda j: -len(encoded[j]))  # longest first: OOM shows early
        prefixes = PrefixCache(handle)  # the instruction (and fixed demonstrations) are encoded once, not per prompt
        for start in range(0, len(todo_sorted), batch_size):
            batch = todo_sorted[start : start + batch_size]
            ids = [encoded[j] for j in batch]
            truncated = [len(x) > limit for x in ids]
            ids = [fit_context(x, limit) for x in ids]
            outs = _generate_batch(handle, ids, max_new_tokens, prefixes)
            fresh = {}
            for j, (text, n_out, secs), trunc in zip(batch, outs, truncated):
                gen = Generation(text, len(encoded[j]), n_out, secs, trunc)
                results[todo[j]] = gen
                fresh[keys[todo[j]]] = {k: v for k, v in vars(gen).items() if k != "cached"}
            cache.put_many("generation", fresh)
            if on_batch:
                on_batch(len(batch))
    return results  # type: ignore[return-value]


def fit_context(ids: list[int], limit: int) -> list[int]:
    """Cut an overlong prompt from the middle: the head keeps the instruction, the tail keeps the question and the
    generation prompt (what the model must see to answer at all)."""
    if len(ids) <= limit:
        return ids
    head = limit // 4
    return ids[:head] + ids[len(ids) - (limit - head):]


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
                    prefixes: PrefixCache | None = None) -> list[tuple[str, int, float]]:
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
    seconds = (time.perf_counter() - start) / len(ids)
    results = []
    for row in out[:, width:].tolist():
        n = len(row)
        for i, t in enumerate(row):
            if t == tok.eos_token_id:
                n = i
                break
        text = tok.decode(row[:n], skip_special_tokens=True).strip()
        results.append((text, n, seconds))
    return results

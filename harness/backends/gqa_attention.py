"""Grouped-query attention that reads each key/value head in place instead of copying it once per query head.

With a padding mask (every batched, left-padded prompt has one), transformers' `sdpa` attention repeats every
key/value head for each query head of its group before calling SDPA. On a CPU decoding is memory bound, and with
a long prompt that copy is most of a step: SmolLM2-135M (9 query heads over 3 key/value heads), batch 32, a
1,050-token few-shot prompt, one decode step took 1.19 s with `sdpa` and 0.51 s without the copy (0.39 s and
0.23 s at 300 tokens; benchmarks/README.md).

Folding a group's query heads into the query axis gives the same dot products against the shared head:
query [b, kv_heads * g, q, d] -> [b, kv_heads, g * q, d], the mask tiled g times along q. The outputs equal
`sdpa`'s to float rounding (tests/test_gqa_attention.py).
"""

from __future__ import annotations

NAME = "harness_sdpa"


def folded_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
                is_causal: bool | None = None, **kwargs):
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = getattr(module, "num_key_value_groups", 1)
    special = kwargs.get("position_bias") is not None or kwargs.get("cache") is not None
    if groups == 1 or attention_mask is None or special:
        # nothing is copied without a mask (SDPA's own GQA), or this is a case left to transformers
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    b, heads, q, d = query.shape
    kv_heads = key.shape[1]
    folded = query.reshape(b, kv_heads, groups * q, d)  # query head h = kv_head * groups + r
    mask = attention_mask[:, :, :, : key.shape[-2]]
    if mask.shape[2] != 1:
        mask = mask.repeat(1, 1, groups, 1)  # folded row r * q + i is query row i
    out = torch.nn.functional.scaled_dot_product_attention(
        folded, key, value, attn_mask=mask, dropout_p=dropout if module.training else 0.0, scale=scaling)
    return out.reshape(b, heads, q, d).transpose(1, 2).contiguous(), None


def use_folded_attention(model) -> None:
    """Register the folded attention and switch a model on transformers' `sdpa` to it (other implementations, such
    as eager or flash attention, are left as they are)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) != "sdpa":
        return
    AttentionInterface.register(NAME, folded_sdpa)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # without a mask function of its own, padding is not masked
    model.set_attn_implementation(NAME)

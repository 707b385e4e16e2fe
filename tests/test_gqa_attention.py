"""The folded grouped-query attention (harness.backends.gqa_attention) computes what transformers' sdpa computes, on
the tiny Llama (4 query heads over 2 key/value heads): the same logits on a left-padded batch, the same decode steps
and greedy generations, and padding still masked."""

from __future__ import annotations

import copy

import pytest
import torch

from harness.backends.gqa_attention import NAME, use_folded_attention
from tests.conftest import tiny_model


@pytest.fixture()
def models():
    reference = tiny_model(200)
    assert reference.config._attn_implementation == "sdpa" and reference.config.num_key_value_heads == 2
    folded = copy.deepcopy(reference)
    use_folded_attention(folded)
    assert folded.config._attn_implementation == NAME
    return reference, folded


def _batch():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 200, (3, 12), generator=gen)
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[0, :4] = mask[1, :2] = 0  # left padding: the rows need a mask
    return ids, mask


def test_logits_and_greedy_generation_match_sdpa(models):
    reference, folded = models
    ids, mask = _batch()
    with torch.inference_mode():
        a, b = reference(input_ids=ids, attention_mask=mask).logits, folded(input_ids=ids, attention_mask=mask).logits
        kw = {"input_ids": ids, "attention_mask": mask, "max_new_tokens": 8, "do_sample": False, "pad_token_id": 3}
        gen_a, gen_b = reference.generate(**kw), folded.generate(**kw)
    assert torch.allclose(a[mask.bool()], b[mask.bool()], atol=1e-5)
    assert torch.equal(gen_a, gen_b)


def test_padding_stays_masked(models):
    """A padded position's token must not reach the row (the mask function is registered with the attention)."""
    _, folded = models
    ids, mask = _batch()
    changed = ids.clone()
    changed[0, :4] = 7  # only row 0's padded positions
    with torch.inference_mode():
        a = folded(input_ids=ids, attention_mask=mask).logits[0, 4:]
        b = folded(input_ids=changed, attention_mask=mask).logits[0, 4:]
    assert torch.allclose(a, b, atol=1e-6)


def test_cpu_models_get_it_and_others_keep_theirs(tiny_handle):
    assert tiny_handle.model.config._attn_implementation == NAME  # harness.backends.hf.wrap on the CPU
    eager = tiny_model(200)
    eager.set_attn_implementation("eager")
    use_folded_attention(eager)
    assert eager.config._attn_implementation == "eager"

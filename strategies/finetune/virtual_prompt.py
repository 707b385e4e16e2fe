"""A prompt-tuned model as it is served: the frozen base model with the trained virtual tokens' keys and values
prefilled before every batch. Callers never see the virtual tokens: they pass ids, masks and positions for their
own tokens (and caches this module returned), exactly as to a plain causal LM, so `harness.backends.hf_generate`'s batched
generation, shared-prefix cache and log-likelihood scoring work unchanged.

Training goes through peft's PromptTuning model (virtual tokens first, positions 0..n-1, then the prompt); this
gives the same positions: the virtual tokens take 0..n-1 and every real token is shifted by n.
"""

from __future__ import annotations

from functools import lru_cache


def VirtualPromptLM(base, prompt):  # noqa: N802  (a factory: torch is imported only when one is built)
    return _class()(base, prompt)


@lru_cache(maxsize=1)
def _class():
    import torch

    class VirtualPromptLM(torch.nn.Module):
        def __init__(self, base, prompt):
            super().__init__()
            self.base = base
            weight = base.get_input_embeddings().weight
            self.virtual = torch.nn.Parameter(prompt.detach().to(weight.device, weight.dtype).clone(), requires_grad=False)
            self.config = base.config
            self.generation_config = base.generation_config

        @property
        def n_virtual(self) -> int:
            return self.virtual.shape[0]

        def prefill(self, batch: int):
            """The virtual tokens' key/value cache for `batch` rows."""
            out = self.base(inputs_embeds=self.virtual[None].expand(batch, -1, -1), use_cache=True)
            return out.past_key_values

        def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, **kwargs):
            """A plain causal LM's forward; a cache this module returned already holds the virtual tokens."""
            b, length = input_ids.shape
            n = self.n_virtual
            if past_key_values is None:
                past_key_values, seen = self.prefill(b), 0
            else:
                seen = past_key_values.get_seq_length() - n  # the caller's own tokens already in the cache
            if attention_mask is None:
                attention_mask = torch.ones(b, seen + length, dtype=torch.long, device=input_ids.device)
            mask = torch.cat([attention_mask.new_ones(b, n), attention_mask], dim=1)
            if position_ids is None:
                position_ids = (mask.cumsum(-1) - 1).clamp(min=0)[:, -length:]
            else:
                position_ids = position_ids + n
            return self.base(input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                             past_key_values=past_key_values, **kwargs)

        def generate(self, input_ids, attention_mask, past_key_values=None, pad_token_id=None, **kwargs):
            """The base model's generate() after the virtual tokens (placeholder ids stand for them; their cache
            is given, so they are never embedded). Returns the ids without the placeholders."""
            b, n = input_ids.shape[0], self.n_virtual
            if past_key_values is None:
                past_key_values = self.prefill(b)
            filler = torch.full((b, n), pad_token_id if pad_token_id is not None else 0, dtype=input_ids.dtype,
                                device=input_ids.device)
            out = self.base.generate(input_ids=torch.cat([filler, input_ids], dim=1),
                                     attention_mask=torch.cat([attention_mask.new_ones(b, n), attention_mask], dim=1),
                                     past_key_values=past_key_values, pad_token_id=pad_token_id, **kwargs)
            return out[:, n:]

    return VirtualPromptLM

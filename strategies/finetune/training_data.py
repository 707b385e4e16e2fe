"""What fine-tuning trains on: token items (supervised examples or corpus blocks), their batches, and the order the
training reads them in."""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.backends.hf import ModelHandle
from harness.types import Example


@dataclass
class Item:
    input_ids: list[int]
    labels: list[int]  # -100 where no loss is taken (prompt, padding)


def supervised_items(handle: ModelHandle, task, examples: list[Example], max_len: int,
                     messages: list[list[dict[str, str]]] | None = None) -> list[Item]:
    """Prompt exactly as at inference + reference + end-of-turn; loss on the answer tokens only. `messages`: each
    example's chat prompt (default: the task's own; a composed strategy's carry what its prompting side adds)."""
    tok = handle.tokenizer
    items = []
    for i, ex in enumerate(examples):
        prompt = tok(handle.render(messages[i] if messages else task.messages(ex)), add_special_tokens=False)["input_ids"]
        answer = tok(ex.references[0], add_special_tokens=False)["input_ids"][: max_len // 2] + [tok.eos_token_id]
        prompt = prompt[-(max_len - len(answer)):]  # like generation: keep the end of an overlong prompt
        items.append(Item(prompt + answer, [-100] * len(prompt) + answer))
    return items


def corpus_items(handle: ModelHandle, documents, max_len: int) -> list[Item]:
    """Continued pretraining: the corpus as plain text in blocks of max_len tokens, loss on every token."""
    tok = handle.tokenizer
    items = []
    for doc in documents:
        ids = tok((f"{doc.title}\n" if doc.title else "") + doc.text, add_special_tokens=False)["input_ids"]
        ids = ids + [tok.eos_token_id]
        for start in range(0, len(ids), max_len):
            block = ids[start : start + max_len]
            if len(block) > 1:
                items.append(Item(block, list(block)))
    return items


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def collate(items: list[Item], pad: int):
    import torch

    width = max(len(it.input_ids) for it in items)
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, it in enumerate(items):
        n = len(it.input_ids)
        ids[i, :n] = torch.tensor(it.input_ids)
        labels[i, :n] = torch.tensor(it.labels)
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def epoch_order(n: int, epochs: int, seed: int) -> list[int]:
    """Every epoch's shuffled indices, concatenated: one deterministic stream the dataloader reads in order, the
    same for one process or many (accelerate gives each rank every world_size-th batch)."""
    order: list[int] = []
    for epoch in range(epochs):
        idx = list(range(n))
        random.Random(f"{seed}-{epoch}").shuffle(idx)
        order += idx
    return order


def training_stream(items: list[Item], epochs: int, seed: int, shuffle: bool = True) -> list[Item]:
    """The items of every epoch in the order training reads them (`shuffle=False`: as given, epoch after epoch)."""
    order = epoch_order(len(items), epochs, seed) if shuffle else list(range(len(items))) * epochs
    return [items[i] for i in order]

"""Shared fixtures: a tiny Llama built in-process from a config, with a word-level tokenizer (no downloads)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test session gets its own harness cache, so tests never see a user's cache (or each other's runs)."""
    from harness.backends.hf import models_root

    # The converted default model is shared with the user's cache (converting it again costs ~30 s).
    monkeypatch.setenv("HARNESS_MODELS", str(models_root()))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path_factory.getbasetemp() / "harness-cache"))
    monkeypatch.setenv("HARNESS_OFFLINE", "1")  # no hub lookups in tests


def tiny_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<pad>"]
    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t)})
    ordered = list(dict.fromkeys(specials + ["user", "assistant", "system"] + words))
    vocab = {tok: i for i, tok in enumerate(ordered)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split("\n", "isolated"), pre_tokenizers.Whitespace()])
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                   pad_token="<pad>", additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHATML
    fast.model_max_length = 512
    return fast


def tiny_model(vocab_size: int, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, pad_token_id=3, eos_token_id=2, bos_token_id=1)
    return LlamaForCausalLM(config).eval()


def _task_texts() -> list[str]:
    texts = []
    for split in ("train", "validation", "test", "ood"):
        for line in (ROOT / "benchmarks" / "summarization" / f"{split}.jsonl").read_text().splitlines():
            rec = json.loads(line)
            texts += [rec["input"], rec["reference"]]
    texts.append((ROOT / "benchmarks" / "summarization" / "task.yaml").read_text())
    return texts


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A tiny Llama and its tokenizer saved as a local model folder (safetensors), usable as --model."""
    tok = tiny_tokenizer(_task_texts() + ["Report : Context Question"])
    model = tiny_model(len(tok))
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return path


@pytest.fixture()
def tiny_handle(tiny_dir):
    from harness.backends.hf import load_generator

    return load_generator(str(tiny_dir), device="cpu")


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path

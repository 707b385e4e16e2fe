"""Checks of every input before a run spends anything: before the run folder exists and before a model loads.

`check_inputs` looks at the config alone (strategies, data files and split names, a local model folder, a served
model's URL and key),
`check_task` at the loaded task (references), `check_generation_length` at the loaded model's
context window. Each failure is a HarnessError naming the field, file or example and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.config import RunConfig, split_spec
from harness.errors import HarnessError, unknown_name

KNOWN_SPLITS = ["train", "validation", "test", "ood"]  # `all`: one file the harness splits with the seed
REMOTE_PREFIXES = ("hf:",)  # dataset sources that are not local paths (checked where they load)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")


def check_inputs(config: RunConfig) -> None:
    """What the config names must exist: at least one strategy, readable data files under known split names, a
    local model folder holding a model."""
    _check_strategies(config.strategies)
    if config.data is not None:
        _check_data_files(config.data.files)
    if config.model and Path(config.model).expanduser().is_dir():
        check_model_folder(Path(config.model).expanduser())
    for name in _models_in_use(config):
        config.models[name].check(f"models.{name}")  # an endpoint's URL and key, before any request


def _models_in_use(config: RunConfig) -> list[str]:
    named = {split_spec(spec)[1] for spec in config.strategies or []} | {"base"}
    return sorted(n for n in named if n in config.models)


def _check_strategies(names: list[str] | None) -> None:
    if names is not None and not names:
        from harness.registry import strategies

        raise HarnessError("No strategy given (--strategies is empty).",
                           hint=f"Name at least one of: {', '.join(strategies.items())}; or leave --strategies out "
                           "for the task's default set.")


def _check_data_files(files: dict[str, Path]) -> None:
    if not files:
        raise HarnessError("--data names no file.", hint="Pass --data FILE, or --data split=FILE per split.")
    for split, path in files.items():
        if split != "all" and split not in KNOWN_SPLITS:
            raise unknown_name("split", split, KNOWN_SPLITS)
        text = str(path)
        if text.startswith(REMOTE_PREFIXES):
            continue
        if not text or text == ".":
            raise HarnessError(f"--data {split}= names no file.", hint=f"Pass --data {split}=FILE.")
        from harness.tasks.datasource import parse_source

        path = parse_source(text).path  # FOLDER@SPLIT names a split of a save_to_disk folder
        if not Path(path).exists():
            raise HarnessError(f"--data {split}: file not found: {text}.", hint="Check the path (relative to where you run harness).")
        if not os.access(path, os.R_OK):
            raise HarnessError(f"--data {split}: cannot read {path} (permission denied).", hint="Fix its permissions.")
    if "all" not in files and "test" not in files:
        raise HarnessError(f"--data gives no test split (it gives: {', '.join(files)}).",
                           hint="Add --data test=FILE: every strategy is scored on the test split.")


def check_model_folder(folder: Path) -> None:
    """A local model folder must hold config.json, a tokenizer and weights: say which are missing."""
    weights = [p for pattern in ("*.safetensors", "*.bin", "*.pt") for p in folder.glob(pattern)]
    missing = [what for what, ok in (
        ("config.json", (folder / "config.json").is_file()),
        (f"tokenizer files ({' or '.join(TOKENIZER_FILES)})", any((folder / f).is_file() for f in TOKENIZER_FILES)),
        ("weights (*.safetensors)", bool(weights)),  # pickled only: refused when it loads unless --allow-pickle
    ) if not ok]
    if missing:
        raise HarnessError(f"Model folder {folder} has no {', no '.join(missing)}.",
                           hint="A local model folder must hold config.json, tokenizer files and *.safetensors "
                           "(what `save_pretrained` writes for the model and its tokenizer).")


def check_task(task) -> None:
    """Every example has a reference to score against. (What a strategy needs of the task, it checks itself:
    `Strategy.check_config`.)"""
    for split, examples in task.splits.items():
        for ex in examples:
            if not any(isinstance(r, str) and r.strip() for r in ex.references):
                raise HarnessError(
                    f"Task '{task.name}', split '{split}': example '{ex.id}' has no reference "
                    f"(got {ex.reference!r}); every example needs at least one non-empty reference to be scored.",
                    hint="Give it a reference in the data, or remove it.")


def check_generation_length(max_new_tokens: int, context_length: int) -> None:
    """The answer must leave room for the prompt in the model's context window."""
    if max_new_tokens >= context_length:
        raise HarnessError(
            f"--max-new-tokens {max_new_tokens} does not fit the model's context window ({context_length} tokens): "
            "the answer alone would fill it, leaving no room for the prompt.",
            hint=f"Use --max-new-tokens well below {context_length} (the prompt needs the rest of the window).")

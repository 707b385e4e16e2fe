"""Command-line values both command modules parse (`harness run` and `harness check`)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError


def parse_data(values: list[str] | None) -> dict[str, Path] | None:
    """`FILE` (one file, split with the seed) or `split=FILE` (one per split)."""
    if not values:
        return None
    files: dict[str, Path] = {}
    for value in values:
        split, sep, path = value.partition("=")
        if not sep:
            split, path = "all", value
        if split in files:
            raise HarnessError(f"--data gives split '{split}' twice.", hint="Give each split one file.")
        files[split] = Path(path)
    if "all" in files and len(files) > 1:
        raise HarnessError("--data mixes a plain FILE with split=FILE.", hint="Use one file, or name every split.")
    return files

"""Several processes (`accelerate launch`, torchrun): every rank runs the harness, because training needs all of
them in its collectives, but only rank 0 keeps a run folder and prints. The hf model's generation, option scoring
and perplexity are split across the ranks (harness.backends.shard) and gathered on each; the other ranks write
their copy of the run to a scratch folder that is removed when they finish, so the user gets one run folder and
one console."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.backends.shard import rank
from harness.config import RunConfig
from harness.console import console


@contextmanager
def scratch_unless_main(config: RunConfig, resume: Path | None) -> Iterator[tuple[RunConfig, Path | None]]:
    """(config, resume) as given on rank 0; on other ranks, pointed at a scratch folder (a resumed run is copied
    there, so two processes never write the same run.json), with the console silenced."""
    if rank() == 0:
        yield config, resume
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"harness-rank{rank()}-"))
    quiet, console.quiet = console.quiet, True
    try:
        if resume:
            resume = Path(shutil.copytree(resume, scratch / Path(resume).name))
        yield config.model_copy(update={"out": scratch}), resume
    finally:
        console.quiet = quiet
        shutil.rmtree(scratch, ignore_errors=True)

"""A graceful stop: SIGINT or SIGTERM asks the run to stop after the batch in progress, so nothing is lost.

The runner installs the handlers for the duration of a run (`graceful_stop()`); the prediction loop calls
`check()` between batches. The first signal sets a flag and says so; a second SIGINT stops at once (the batch in
progress is lost, everything saved before it is kept). `RunInterrupted` is a KeyboardInterrupt, so code that
already cleans up on Ctrl-C cleans up here too.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

_requested: int | None = None  # the signal number that asked to stop


class RunInterrupted(KeyboardInterrupt):
    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def requested() -> int | None:
    return _requested


def request(signum: int = signal.SIGINT) -> None:
    """Ask the run to stop after the current batch (what the signal handlers do; also usable from code)."""
    global _requested
    _requested = signum


def check() -> None:
    """Raise RunInterrupted if a stop was asked for. Call it where stopping loses nothing (between batches)."""
    if _requested is not None:
        raise RunInterrupted(_requested)


def _handle(signum, frame) -> None:  # noqa: ARG001 - the signal module's signature
    from harness.console import console

    if _requested is not None and signum == signal.SIGINT:
        raise RunInterrupted(signum)  # a second Ctrl-C: stop now
    request(signum)
    console.print(f"[yellow]{signal.Signals(signum).name} received: finishing the current batch, then saving. "
                  "Press Ctrl-C again to stop at once.[/]")


@contextmanager
def graceful_stop() -> Iterator[None]:
    """Install the SIGINT/SIGTERM handlers (main thread only; elsewhere this does nothing) and restore them after."""
    global _requested
    _requested = None
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _requested = None

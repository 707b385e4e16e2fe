"""pyflakes' checks (through ruff) over the whole tree: an undefined name or an unused import is a bug no other test
reaches when it sits on a path the tests do not run (a benchmark, an error branch)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    return [exe, "check", "--no-cache", "--select", "F", "--output-format", "concise"]


def test_no_undefined_names_or_unused_imports():
    done = subprocess.run(_ruff() + ["harness", "strategies", "reports", "benchmarks", "tests"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_catches_an_undefined_name(tmp_path):
    (tmp_path / "bad.py").write_text("def f():\n    raise HarnessError('x')\n")
    done = subprocess.run(_ruff() + [str(tmp_path / "bad.py")], capture_output=True, text=True)
    assert done.returncode == 1 and "F821" in done.stdout

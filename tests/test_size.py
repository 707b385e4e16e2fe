"""Size limits that keep the code readable: no module over 400 lines, no function over 60 (def line to last line).

Data generators (benchmarks/<suite>/generate.py) are exempt: they are long lists of templates, not logic.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE, MAX_FUNCTION = 400, 60


def checked_files() -> list[Path]:
    files = [p for pkg in ("harness", "strategies", "reports", "benchmarks") for p in (ROOT / pkg).rglob("*.py")]
    return [p for p in files if not (p.name == "generate.py" and p.parent.parent.name == "benchmarks")]


def oversized(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT)
    found = [f"{where}: {n} lines" for n in [len(source.splitlines())] if n > MAX_MODULE]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION:
                found.append(f"{where}:{node.lineno}: {node.name} is {length} lines")
    return found


def test_no_module_or_function_over_the_limits():
    found = [line for path in checked_files() for line in oversized(path)]
    assert not found, f"over {MAX_MODULE} lines per module or {MAX_FUNCTION} per function:\n" + "\n".join(found)


def test_the_check_counts_what_it_claims(tmp_path, monkeypatch):
    monkeypatch.setattr("test_size.ROOT", tmp_path)
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))  # def + 60 lines: 61
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n")
    assert oversized(tmp_path / "long.py") == ["long.py:1: f is 61 lines"]
    (tmp_path / "ok.py").write_text("def g():\n" + "\n".join(f"    y = {i}" for i in range(MAX_FUNCTION - 1)) + "\n")
    assert oversized(tmp_path / "ok.py") == []

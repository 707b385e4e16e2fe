"""The import graph's floors: an import only goes down. From the bottom:

  ground     harness/*.py: errors, console, redact, config, registry, types, ...
  tasks      examples, tasks and where their data comes from
  backends   the models: hf, vllm, openai, and the cache of what they computed
  record     run.json's parts (pydantic), its store and migrations
  strategy   the contract every strategy meets, PromptedModel, RunContext
  measure    metrics, statistics, overfitting, win rate, latency
  probes     forgetting, bias, refusal
  judge      a model judge: judged quality and its calibration
  decide     the recommendation and the cost ledger
  strategies, reports   the concrete strategies; the reports (neither imports the other)
  runs       the run loop, suite, dry run, preflight
  guard      baselines, the regression check, drift
  cli        the commands
  api        `harness` itself: `from harness import run, RunConfig`
  benchmarks

Every import counts, including those inside functions (they are real dependencies, only deferred for start-up time);
imports under `if TYPE_CHECKING:` do not (they never run). A violation names the importing module and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "strategies", "reports", "benchmarks")
FLOORS = [["ground"], ["tasks"], ["backends"], ["record"], ["strategy"], ["measure"], ["probes"], ["judge"], ["decide"],
          ["strategies", "reports"], ["runs"], ["guard"], ["cli"], ["api"], ["benchmarks"]]
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}
MAX_MODULES_PER_ROOM = 12


def layer(module: str) -> str:
    """The room a module is in: its core folder, `ground` for a file of harness/ itself, or its top package."""
    parts = module.split(".")
    if parts[0] != "harness":
        return parts[0]
    if module == "harness":
        return "api"
    if module == "harness.__main__":
        return "cli"
    sub = ROOT.joinpath(*parts[:2])
    return parts[1] if sub.is_dir() else "ground"


def allowed(importer: str, target: str) -> bool:
    a, b = layer(importer), layer(target)
    return a == b or FLOOR[b] < FLOOR[a]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for each project import in a file; `from pkg import mod` resolves to pkg.mod when
    that is a module of the project."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if MODULES.get(f"{base}.{a.name}") else base for a in node.names]
        found += [(name, node.lineno) for name in names if name.split(".")[0] in PACKAGES]
    return found


MODULES = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def graph() -> dict[str, dict[str, int]]:
    edges: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges[module] = {}
        for name, line in imports(path):
            while name not in MODULES and "." in name:  # `from harness.x import Class` -> harness.x
                name = name.rpartition(".")[0]
            if name in MODULES and name != module:
                edges[module].setdefault(name, line)
    return edges


def test_no_import_climbs_a_floor():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line}: {m} ({layer(m)}) imports {target} ({layer(target)})"
           for m, targets in graph().items() for target, line in targets.items() if not allowed(m, target)]
    assert not bad, "imports that climb a floor (or cross to a room beside it):\n" + "\n".join(bad)


def test_every_module_is_in_a_known_room_and_no_room_is_a_hall():
    rooms: dict[str, list[str]] = {}
    for module in MODULES:
        rooms.setdefault(layer(module), []).append(module)
    assert set(rooms) <= set(FLOOR), f"rooms without a floor: {set(rooms) - set(FLOOR)}"
    crowded = {room: len(mods) for room, mods in rooms.items()
               if room not in ("benchmarks", "strategies", "reports") and len(mods) > MAX_MODULES_PER_ROOM + 1}
    assert not crowded, f"rooms over {MAX_MODULES_PER_ROOM} modules (besides __init__): {crowded}"


def find_cycle(edges: dict[str, dict[str, int]]) -> list[str] | None:
    """One import circle (as a path a -> b -> ... -> a), or None. Package `__init__` edges to their own submodules
    count like any other import."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, stack.append(node)
        for nxt in edges.get(node, {}):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, stack.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_circle():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_look_for():
    """The checks fail on a made-up circle and a made-up upward edge (so a passing run means something)."""
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None
    assert layer("harness.runs.runner") == "runs" and layer("harness.errors") == "ground"
    assert not allowed("harness.tasks.load", "harness.runs.runner")  # up
    assert not allowed("strategies.rag.strategy", "reports.html")  # beside
    assert allowed("harness.runs.runner", "reports.html") and allowed("harness.tasks.load", "harness.errors")


@pytest.mark.parametrize("module", ["harness.runs.runner", "harness.tasks.load"])
def test_the_graph_sees_imports_inside_functions(module):
    # runner imports reports inside a function; tasks imports squad inside one
    expected = {"harness.runs.runner": "reports.html", "harness.tasks.load": "harness.tasks.squad"}[module]
    assert expected in graph()[module]


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def test_no_module_over_400_lines_and_no_function_over_60():
    """Small modules and functions that fit on a screen (tests and generated benchmark data aside)."""
    long_modules, long_functions = [], []
    for module, path in MODULES.items():
        if layer(module) == "benchmarks":
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} ({length} lines)")
    assert not long_modules, "modules over 400 lines:\n" + "\n".join(long_modules)
    assert not long_functions, "functions over 60 lines:\n" + "\n".join(long_functions)

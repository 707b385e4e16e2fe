"""The bad-input matrix (docs/bad-input.md): the rows not covered in test_tasks/test_config/test_models.

Each error must name the file, line or field and say what to do; through the CLI it exits with status 2.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import write_jsonl
from harness.cli.main import app, main
from harness.config import DataConfig
from harness.errors import HarnessError
from harness.record.store import RunStore, safe_name
from harness.tasks.load import load_task, task_from_files

ROOT = Path(__file__).resolve().parent.parent


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run `harness ARGS` as the console script does (errors -> exit 2); return (status, all output, unwrapped)."""
    monkeypatch.setattr(sys, "argv", ["harness", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, " ".join((out.out + out.err).split())


def flat(text: str) -> str:
    return "".join(text.split())  # rich wraps long lines, even inside paths


def task_folder(tmp_path: Path, *, test_rows=None, metrics=None, corpus_rows=None) -> Path:
    rows = [{"id": f"e{i}", "input": f"word {i} text", "reference": f"ref {i}"} for i in range(4)]
    write_jsonl(tmp_path / "train.jsonl", rows[:2])
    write_jsonl(tmp_path / "test.jsonl", rows[2:] if test_rows is None else test_rows)
    spec = {"name": "mytask", "instruction": "Summarize.", "splits": {"train": "train.jsonl", "test": "test.jsonl"}}
    if metrics:
        spec["metrics"] = metrics
    if corpus_rows is not None:
        write_jsonl(tmp_path / "corpus.jsonl", corpus_rows)
        spec["corpus"] = "corpus.jsonl"
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "task.yaml"


# -------------------------------------------------------------------------------------------------- data rows


def test_empty_split_file_names_the_file(tmp_path):
    path = task_folder(tmp_path, test_rows=[])
    with pytest.raises(HarnessError) as err:
        load_task(str(path))
    assert "test.jsonl" in err.value.message and "no examples" in err.value.message and err.value.hint


def test_split_left_empty_by_the_fractions_names_the_split(tmp_path):
    path = write_jsonl(tmp_path / "two.jsonl", [{"id": str(i), "input": "x", "reference": "y"} for i in range(2)])
    with pytest.raises(HarnessError) as err:
        task_from_files(DataConfig(files={"all": path}))
    assert "Split 'validation' is empty" in err.value.message and "larger file" in err.value.hint


def test_empty_corpus_named_in_task_yaml(tmp_path):
    path = task_folder(tmp_path, corpus_rows=[])
    with pytest.raises(HarnessError) as err:
        load_task(str(path))
    assert "corpus.jsonl" in err.value.message and "empty" in err.value.message and "document" in err.value.hint


def test_unknown_metric_in_task_yaml_names_file_and_field_and_suggests(tmp_path):
    path = task_folder(tmp_path, metrics=["rougel", "rouge1"])
    with pytest.raises(HarnessError) as err:
        load_task(str(path))
    assert str(path) in err.value.message and "'metrics'" in err.value.message and "'rougel'" in err.value.message
    assert "'rougeL'" in err.value.hint


def test_unknown_strategy_suggests_close_names_and_exits_2(monkeypatch, capsys, tiny_dir):
    code, out = cli(monkeypatch, capsys, "run", "--model", str(tiny_dir), "--strategies", "promt", "--limit", "2")
    assert code == 2 and "Unknown strategy 'promt'" in out and "Did you mean 'prompt'" in out


def test_unknown_task_exits_2_with_a_suggestion(monkeypatch, capsys):
    code, out = cli(monkeypatch, capsys, "run", "--task", "sumarization")
    assert code == 2 and "Did you mean 'summarization'" in out


# -------------------------------------------------------------------------------------------------- model rows


def test_model_not_found_offline_exits_2_and_says_what_to_do(monkeypatch, capsys):
    from harness.backends import hf as models

    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    models.hub_reachable.cache_clear()
    code, out = cli(monkeypatch, capsys, "run", "--model", "nobody/no-such-model-xyz", "--limit", "2")
    assert code == 2 and "'nobody/no-such-model-xyz'" in out and "unreachable" in out
    assert "Pass --model with a local directory" in out


def test_pickled_weights_refused_by_the_cli_unless_allowed(monkeypatch, capsys, tmp_path, tiny_dir):
    import torch

    for f in tiny_dir.iterdir():
        if f.suffix != ".safetensors":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    torch.save({}, tmp_path / "pytorch_model.bin")
    code, out = cli(monkeypatch, capsys, "run", "--model", str(tmp_path), "--limit", "2", "--out", str(tmp_path / "r"))
    assert code == 2 and "pytorch_model.bin" in out and "--allow-pickle" in out


def test_trust_remote_code_is_off_unless_asked(monkeypatch, tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.config import build_config
    from harness.backends.hf import load_generator

    seen: list[bool] = []
    for cls in (AutoModelForCausalLM, AutoTokenizer):
        real = cls.from_pretrained.__func__

        def spy(klass, *a, _real=real, **k):
            seen.append(k.get("trust_remote_code"))
            return _real(klass, *a, **k)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    assert build_config({"trust_remote_code": None}).trust_remote_code is False  # the CLI passes None unless flagged
    assert build_config({"trust_remote_code": True}).trust_remote_code is True
    load_generator(str(tiny_dir), device="cpu")
    assert seen and all(v is False for v in seen)  # passed explicitly, as False
    load_generator(str(tiny_dir), device="cpu", trust_remote_code=True)
    assert seen[-1] is True


# -------------------------------------------------------------------------------------------------- output rows


def test_output_folder_not_writable_exits_2(monkeypatch, capsys, tmp_path, tiny_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, out = cli(monkeypatch, capsys, "run", "--model", str(tiny_dir), "--limit", "2", "--out", str(blocker / "runs"))
    assert code == 2 and "Cannot write the run folder" in out and "--out" in out and flat(str(blocker)) in flat(out)


def _unwritable(tmp_path: Path, how: str) -> Path:
    """A folder RunStore cannot write under, for any user, root included (CI runs as root, which writes through
    permission bits): a path under a regular file (not a directory, for anyone), or a read-only folder, made by
    permission bits for a regular user and, for root, sysfs (/sys: no new entries, even for root)."""
    if how == "under-a-file":
        (tmp_path / "a-file").write_text("not a folder")
        return tmp_path / "a-file" / "runs"
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        return ro
    assert Path("/sys").is_dir(), "root without /sys: no read-only folder to test with"
    return Path("/sys")


@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_unwritable_output_folder(tmp_path, how):
    out = _unwritable(tmp_path, how)
    try:
        with pytest.raises(HarnessError, match="Cannot write the run folder") as err:
            RunStore.create(out, "summarization")
        assert str(out) in str(err.value) and "--out" in (err.value.hint or "")
    finally:
        if (tmp_path / "ro").exists():
            (tmp_path / "ro").chmod(0o700)


def test_run_folder_names_are_sanitized(tmp_path):
    store = RunStore.create(tmp_path / "out", "../../etc/evil name; rm -rf ~")
    assert store.path.parent == tmp_path / "out" and store.path.is_dir()
    assert " " not in store.path.name and "/" not in store.path.name and ".." not in store.path.name
    assert safe_name("../..") == "run" and safe_name(".hidden") == "hidden"


def test_task_name_with_dotdot_and_spaces_stays_under_out(tmp_path, tiny_dir):
    folder = tmp_path / "my tasks"
    folder.mkdir()
    spec = task_folder(folder)
    evil = folder / "../my tasks/../my tasks/my evil task.yaml"  # the run folder is named after this file's stem
    spec.rename(folder / "my evil task.yaml")
    result = CliRunner().invoke(app, ["run", "--task", str(evil), "--model", str(tiny_dir), "--strategies", "prompt",
                                      "--limit", "2", "--max-new-tokens", "2", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert "_my-evil-task_" in run_dir.name and (run_dir / "run.json").exists()


def package_dirs(root: Path) -> list[Path]:
    """Every package of the tree: the ones pyproject ships and every folder below them with an __init__.py."""
    import tomllib

    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = setuptools.get("packages", [])
    if isinstance(shipped, dict):  # packages.find: its include patterns name the top packages
        shipped = [name.rstrip("*").rstrip(".") for name in shipped["find"]["include"]]
    tops = {root / name.split(".")[0] for name in shipped}
    found = {init.parent for top in tops for init in top.rglob("__init__.py")}
    return sorted(found | {root / name.replace(".", "/") for name in shipped})


def shell_audit(root: Path) -> tuple[list[Path], list[str]]:
    """The files scanned and what is wrong in them: no shell=True, os.system or os.popen anywhere; in the product
    (not benchmarks/, whose commands are the benchmark's own fixed ones) subprocess only with a literal list."""
    files = sorted({py for pkg in package_dirs(root) for py in pkg.glob("*.py")})
    problems = []
    for py in files:
        where = py.relative_to(root)
        for node in ast.walk(ast.parse(py.read_text(), str(py))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name in {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"}:
                problems.append(f"{where}:{node.lineno}: {name}")
            if name.startswith("subprocess."):
                if any(k.arg == "shell" for k in node.keywords):
                    problems.append(f"{where}:{node.lineno}: shell=")
                if where.parts[0] != "benchmarks" and not (
                        node.args and isinstance(node.args[0], ast.List)
                        and all(isinstance(e, ast.Constant) for e in node.args[0].elts)):
                    problems.append(f"{where}:{node.lineno}: {name} with a non-literal command")
    return files, problems


def test_no_shell_commands_built_from_user_strings():
    """Audit of every package, the nested ones (harness/runs, strategies/rag) included."""
    files, problems = shell_audit(ROOT)
    scanned = {str(f.relative_to(ROOT)) for f in files}
    assert {"harness/cli/main.py", "harness/runs/runner.py", "harness/backends/openai.py", "harness/backends/vllm.py",
            "strategies/rag/strategy.py", "reports/html.py", "benchmarks/perf/__main__.py"} <= scanned
    assert not problems, problems


def test_the_shell_audit_reaches_nested_packages(tmp_path):
    """A shell command planted in a sub-package (or a new package listed in pyproject) is found."""
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools.packages.find]\ninclude = ["harness*", "extra*"]\n')
    for pkg in ("harness", "harness/runs", "harness/backends", "extra", "extra/deep"):
        (tmp_path / pkg).mkdir(parents=True)
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "harness/runs/bad.py").write_text("import os\nos.system('ls ' + name)\n")
    (tmp_path / "harness/backends/bad.py").write_text("import subprocess\nsubprocess.run(cmd, shell=True)\n")
    (tmp_path / "extra/deep/bad.py").write_text("import subprocess\nsubprocess.run(['git', name])\n")
    _, problems = shell_audit(tmp_path)
    assert problems == ["extra/deep/bad.py:2: subprocess.run with a non-literal command",
                        "harness/backends/bad.py:2: shell=",
                        "harness/backends/bad.py:2: subprocess.run with a non-literal command",
                        "harness/runs/bad.py:2: os.system"]


# -------------------------------------------------------------------------------------------------- long inputs


def test_inputs_longer_than_the_context_are_truncated_warned_and_counted(tmp_path, tiny_dir, capsys):
    long_text = " ".join(["the report"] * 400)  # ~800 words: past the tiny model's 512-token window
    rows = [{"id": f"e{i}", "input": long_text if i == 0 else f"short report {i}", "reference": "the report"}
            for i in range(3)]
    test = write_jsonl(tmp_path / "test.jsonl", rows)
    train = write_jsonl(tmp_path / "train.jsonl", [{"id": "t", "input": "x", "reference": "y"}])
    result = CliRunner().invoke(app, ["run", "--data", f"train={train}", "--data", f"test={test}", "--model",
                                      str(tiny_dir), "--strategies", "prompt", "--max-new-tokens", "3",
                                      "--out", str(tmp_path / "runs"), "--no-cache"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["strategies"]["prompt"]["counts"]["test"]["truncated"] == 1
    rows = [json.loads(line) for line in (run_dir / "predictions" / "prompt.jsonl").read_text().splitlines()]
    assert [r["example_id"] for r in rows if r["truncated"]] == ["e0"]
    warning = " ".join((result.output + capsys.readouterr().err).split())
    assert "1 of 3 prompts were longer than the model's context window (512 tokens)" in warning

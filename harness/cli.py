"""The `harness` command line (typer). Heavy libraries are imported inside commands so help starts at once."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harness.console import console
from harness.errors import HarnessError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Should you prompt, retrieve, or fine-tune? Run every strategy on the same task and model, "
                       "measure accuracy, overfitting, forgetting, bias and cost, and get a recommendation.")


def _parse_data(values: list[str] | None) -> dict[str, Path] | None:
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


@app.command()
def run(
    task: Optional[str] = typer.Option(None, "--task", "-t", help="built-in task name, a task.yaml path, or a SQuAD-format .json"),
    data: Optional[list[str]] = typer.Option(None, "--data", help="FILE.jsonl|csv (split with the seed) or split=FILE; repeat per split"),
    input_field: Optional[str] = typer.Option(None, help="field holding the input (with --data)"),
    reference_field: Optional[str] = typer.Option(None, help="field(s) holding references, comma-separated (with --data)"),
    instruction: Optional[str] = typer.Option(None, help="the task instruction (with --data)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="HF id or local directory (default: SmolLM2-135M-Instruct)"),
    embedder: Optional[str] = typer.Option(None, help="sentence-transformers id or directory (default: all-MiniLM-L6-v2)"),
    strategies: Optional[str] = typer.Option(None, "--strategies", "-s", help="comma-separated, e.g. prompt,few-shot"),
    limit: Optional[int] = typer.Option(None, help="at most N examples per split"),
    seed: Optional[int] = typer.Option(None, help="random seed (default 0)"),
    out: Optional[Path] = typer.Option(None, help="folder for run folders (default runs/)"),
    batch_size: Optional[int] = typer.Option(None, help="generation batch size (default 16)"),
    max_new_tokens: Optional[int] = typer.Option(None, help="override the task's generation length"),
    device: Optional[str] = typer.Option(None, help="auto, cpu or cuda"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="run.yaml; CLI flags override it"),
    no_cache: bool = typer.Option(False, "--no-cache", help="recompute everything, store nothing"),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="allow model repos to run their own code"),
    allow_pickle: bool = typer.Option(False, "--allow-pickle", help="allow pickled (.bin/.pt) weights"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue an interrupted run folder"),
) -> None:
    """Run every strategy on a task and write run.json, predictions and report.md."""
    from harness.config import build_config

    data_files = _parse_data(data)
    data_section = None
    if data_files:
        data_section = {"files": data_files}
        if input_field:
            data_section["input_field"] = input_field
        if reference_field:
            data_section["reference_fields"] = [f.strip() for f in reference_field.split(",") if f.strip()]
        if instruction:
            data_section["instruction"] = instruction
    cli = {
        "task": task, "data": data_section, "model": model, "embedder": embedder, "strategies": strategies,
        "limit": limit, "seed": seed, "out": out, "batch_size": batch_size, "device": device, "max_new_tokens": max_new_tokens,
        "use_cache": False if no_cache else None, "trust_remote_code": trust_remote_code or None,
        "allow_pickle": allow_pickle or None,
    }
    cfg = build_config(cli, config)
    from harness.runner import run as run_harness

    path = run_harness(cfg, resume=resume)
    _print_summary(path)


def _print_summary(path: Path) -> None:
    from rich.table import Table

    from harness.store import RunStore

    rec = RunStore.open(path).read()
    metrics = rec["task"]["metrics"]
    table = Table(title=f"{rec['task']['name']} · test split · mean [95% CI]")
    table.add_column("strategy")
    for m in metrics:
        table.add_column(m, justify="right")
    for name, res in rec["strategies"].items():
        test = res.get("metrics", {}).get("test", {})
        table.add_row(name, *[f"{test[m]['value']:.3f} [{test[m]['ci_low']:.3f}, {test[m]['ci_high']:.3f}]"
                              if m in test else "–" for m in metrics])
    console.print(table)
    console.print(f"Run folder: [bold]{path}[/]  (report.md, run.json, predictions/)")
    print(path)


@app.command()
def tasks() -> None:
    """List the built-in tasks."""
    from rich.table import Table

    from harness.config import read_yaml
    from harness.tasks import builtin_tasks

    table = Table("task", "kind", "description")
    for name, path in builtin_tasks().items():
        spec = read_yaml(path)
        table.add_row(name, spec.get("kind", "generation"), spec.get("description", ""))
    console.print(table)


@app.command("strategies")
def list_strategies() -> None:
    """List the adaptation strategies."""
    from rich.table import Table

    from harness.registry import strategies as registry

    table = Table("strategy", "default", "description")
    for name, cls in registry.items().items():
        table.add_row(name, "yes" if getattr(cls, "default", False) else "", cls.description)
    console.print(table)


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a run folder")) -> None:
    """Re-render a run's reports from its run.json alone."""
    from reports.markdown import write_report

    console.print(f"Wrote {write_report(run_dir)}")


def main() -> None:
    try:
        app()
    except HarnessError as exc:
        console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            console.print(f"  [yellow]->[/] {exc.hint}")
        raise SystemExit(2)
    except KeyboardInterrupt:
        raise SystemExit(130)


if __name__ == "__main__":
    main()

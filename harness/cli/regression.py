"""CLI commands for guarding a chosen approach: `harness baseline save|list`, `harness check`, `harness drift`.

`check` owns its exit codes (0 no regression, 1 regression, 2 could not check): every failure to check, whatever
raised it, ends as 2, so a CI job can tell a real regression from a broken job.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Optional

import typer

from harness.console import console, error, escape
from harness.errors import HarnessError
from harness.redact import redact

baseline_app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                           help="Save and list baselines (plain files to commit) for `harness check` and `harness drift`.")

DIR_HELP = "baselines folder (default $HARNESS_BASELINES or ./baselines)"


@baseline_app.command("save")
def baseline_save(
    run_dir: Path = typer.Argument(..., help="a complete run folder"),
    name: str = typer.Option(..., "--name", "-n", help="baseline name (a folder name)"),
    folder: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP),
    force: bool = typer.Option(False, "--force", help="replace an existing baseline of that name"),
) -> None:
    """Freeze a run as a baseline: config, fingerprints, per-example scores, metric summaries, test inputs."""
    from harness.guard.baseline import load_baseline, save_baseline

    path = save_baseline(run_dir, name, folder, overwrite=force)
    b = load_baseline(name, folder)
    console.print(f"Saved baseline [bold]{name}[/] at {escape(str(path))}: {len(b.inputs)} test examples, "
                  f"strategies {', '.join(b.strategies)}, metrics {', '.join(b.metrics)}. Commit the folder.")
    print(path)


@baseline_app.command("list")
def baseline_list(folder: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP)) -> None:
    """List the saved baselines."""
    from rich.table import Table

    from harness.guard.baseline import baselines_root, scan_baselines

    found, broken = scan_baselines(folder)
    if not found and not broken:
        console.print(f"No baselines under {escape(str(baselines_root(folder)))}.")
        return
    table = Table("name", "task", "model", "examples", "strategies", "created", title=escape(str(baselines_root(folder))))
    for b in found:
        m = b.record.model
        table.add_row(*(escape(str(cell)) for cell in (
            b.name, b.record.task.name, f"{m.name} ({m.fingerprint})", len(b.inputs), ", ".join(b.strategies),
            b.record.created or "")))
    console.print(table)
    for path, problem in broken.items():  # the others are listed; each broken one is named with what is wrong
        error(problem, "Fix or remove that baseline folder, or save it again.", label=f"Unreadable baseline '{path.name}'")


def check(
    baseline: str = typer.Option(..., "--baseline", "-b", help="baseline name (or folder)"),
    folder: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="the model to check: HF id or local dir (default: the baseline's)"),
    data: Optional[list[str]] = typer.Option(None, "--data", help="new data: FILE or split=FILE (default: the baseline's)"),
    seed: Optional[int] = typer.Option(None, help="random seed (default: the baseline's)"),
    strategies: Optional[str] = typer.Option(None, "--strategies", "-s", help="check only these (default: all the baseline's)"),
    threshold: str = typer.Option("significant", "--threshold", help="significant | abs:X (metric units) | rel:X% (percent of the baseline's mean, e.g. rel:5%)"),
    alpha: float = typer.Option(0.05, help="significance level, after Holm correction (rule 'significant'), strictly between 0 and 1"),
    margin: float = typer.Option(0.01, help="smallest drop that counts, in metric units (rule 'significant')"),
    run_dir: Optional[Path] = typer.Option(None, "--run", help="compare this finished run instead of running one"),
    summary: Optional[Path] = typer.Option(None, "--summary", help="write the Markdown summary here (for a PR comment)"),
    junit: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML here (one testcase per strategy x metric)"),
    out: Optional[Path] = typer.Option(None, help="folder for the check's run folder (default: ./runs; never the baseline's config.out)"),
    device: Optional[str] = typer.Option(None, help="auto, cpu or cuda"),
    batch_size: Optional[int] = typer.Option(None, help="generation batch size"),
    no_cache: bool = typer.Option(False, "--no-cache", help="recompute everything"),
) -> None:
    """Re-run a baseline's config with a new model or data and fail (exit 1) only on a real regression.

    Exit 0: no regression; 1: regression; 2: could not check."""
    from harness.guard import check as chk

    try:
        from harness.guard.baseline import load_baseline
        from harness.cli.options import parse_data

        rule = chk.Rule.parse(threshold, alpha=alpha, margin=margin)
        b = load_baseline(baseline, folder)
        if run_dir is not None:
            result = chk.result_from_run(b, run_dir, rule)
        else:
            names = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else None
            unknown = [s for s in names or [] if s not in b.strategies]
            if unknown:
                raise HarnessError(f"Strategy '{unknown[0]}' is not in baseline '{b.name}' ({', '.join(b.strategies)}).",
                                   hint="Check only strategies the baseline has.")
            result = chk.run_check(b, rule, model=model, data=parse_data(data), seed=seed, out=out, strategies=names,
                                   use_cache=False if no_cache else None, device=device, batch_size=batch_size)
            if names:
                result.rows = [r for r in result.rows if r.strategy in names]
    except HarnessError as exc:
        _cannot_check(baseline, exc.message, exc.hint, junit, summary)
    except Exception as exc:  # a crashed run is "could not check", never a pass or a regression
        console.print(traceback.format_exc(), style="dim")
        _cannot_check(baseline, f"{type(exc).__name__}: {exc}", "", junit, summary)
    chk.print_table(result)
    if summary:
        _write(summary, chk.to_markdown(result))
        console.print(f"Summary: {escape(str(summary))}")
    if junit:
        _write(junit, chk.to_junit(result))
        console.print(f"JUnit: {escape(str(junit))}")
    raise typer.Exit(result.exit_code)


def _cannot_check(baseline: str, message: str, hint: str, junit: Path | None, summary: Path | None) -> None:
    from harness.guard.check import CANNOT_CHECK, error_junit

    error(message, hint, label="Could not check")
    if junit:
        _write(junit, error_junit(baseline, message))
    if summary:
        _write(summary, f"### harness check against baseline `{baseline}`: ⚠️ could not check\n\n{message}\n"
                        + (f"\n{hint}\n" if hint else ""))
    raise typer.Exit(CANNOT_CHECK)


def drift(
    baseline: str = typer.Option(..., "--baseline", "-b", help="baseline name (or folder)"),
    data: Path = typer.Option(..., "--data", help="new inputs: a JSONL or CSV file"),
    input_field: Optional[str] = typer.Option(None, help="field holding the input (default: the baseline's, else 'input')"),
    folder: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP),
    limit: Optional[int] = typer.Option(None, help="at most N new inputs (a seeded sample)"),
    alpha: float = typer.Option(0.05, help="significance level, after Holm correction across the three tests"),
    permutations: int = typer.Option(1000, help="permutations for the p-values"),
    seed: int = typer.Option(0),
    summary: Optional[Path] = typer.Option(None, "--summary", help="write a Markdown summary here"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the numbers as JSON here"),
) -> None:
    """Did the inputs change? Embedding MMD, length KS and vocabulary shift of new inputs vs the baseline's."""
    import random

    from harness.guard import drift as dr
    from harness.guard.baseline import load_baseline
    from harness.tasks.load import read_records

    b = load_baseline(baseline, folder)
    config = b.config
    field = input_field or (config.data.input_field if config.data else "input")
    new = []
    for where, rec in read_records(data):
        if rec.get(field) in (None, ""):
            raise HarnessError(f"{where}: missing field '{field}' (fields present: {', '.join(rec)}).",
                               hint="Name the input field with --input-field.")
        new.append(str(rec[field]))
    if limit and len(new) > limit:
        new = [new[i] for i in sorted(random.Random(seed).sample(range(len(new)), limit))]
    old = [row["input"] for row in b.inputs]
    report = dr.drift_report(old, new, dr.embedder_fn(config), alpha=alpha, n_perm=permutations, seed=seed)
    dr.print_table(report, b.name, str(data))
    if summary:
        _write(summary, dr.to_markdown(report, b.name, str(data)))
    if json_out:
        _write(json_out, json.dumps(report.to_dict(), indent=2) + "\n")
    print(json.dumps({"drifted": report.drifted, **{k: t["p_holm"] for k, t in report.tests.items()}}))


def _write(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(text), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.add_typer(baseline_app, name="baseline")
    app.command()(check)
    app.command()(drift)

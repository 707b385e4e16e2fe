"""The `harness` command line (typer). Heavy libraries are imported inside commands so help starts at once."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harness.console import console, error, escape
from harness.errors import HarnessError
from harness.cli.options import parse_data

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Should you prompt, retrieve, or fine-tune? Run every strategy on the same task and model, "
                       "measure accuracy, overfitting, forgetting, bias and cost, and get a recommendation.")


@app.command()
def run(
    task: Optional[str] = typer.Option(None, "--task", "-t", help="built-in task name, a task.yaml path, or a SQuAD-format .json"),
    data: Optional[list[str]] = typer.Option(None, "--data", help="SOURCE (its own splits, or one table split with the seed) or split=SOURCE; repeat per split. "
                                                "SOURCE: a .jsonl/.json/.csv/.tsv/.parquet/.arrow file, a save_to_disk folder "
                                                "(FOLDER@SPLIT for one split), or hf:OWNER/NAME[:CONFIG][@SPLIT]"),
    input_field: Optional[str] = typer.Option(None, help="field holding the input (with --data)"),
    reference_field: Optional[str] = typer.Option(None, help="field(s) holding references, comma-separated (with --data)"),
    instruction: Optional[str] = typer.Option(None, help="the task instruction (with --data)"),
    data_format: Optional[str] = typer.Option(None, help="auto (by suffix: jsonl, csv), or label-text: `label sentence` lines (with --data)"),
    labels: Optional[str] = typer.Option(None, help="label set with verbalizers, e.g. 0=negative,1=positive (or ham,spam): makes a classification task (with --data)"),
    suite: Optional[str] = typer.Option(None, "--suite", help="run every task of a named suite (benchmarks/suites.yaml)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="HF id or local directory (default: SmolLM2-135M-Instruct)"),
    embedder: Optional[str] = typer.Option(None, help="sentence-transformers id or directory (default: all-MiniLM-L6-v2)"),
    strategies: Optional[str] = typer.Option(None, "--strategies", "-s", help="comma-separated, e.g. prompt,few-shot"),
    limit: Optional[int] = typer.Option(None, help="a quick run: at most N examples per split, and side measurements (overfitting samples, probe items, counterfactual pairs) at most N/2"),
    seed: Optional[int] = typer.Option(None, help="random seed (default 0)"),
    out: Optional[Path] = typer.Option(None, help="folder for run folders (default runs/)"),
    batch_size: Optional[int] = typer.Option(None, help="generation batch size (default 16)"),
    max_new_tokens: Optional[int] = typer.Option(None, help="override the task's generation length"),
    device: Optional[str] = typer.Option(None, help="auto, cpu or cuda"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="run.yaml; CLI flags override it"),
    no_cache: bool = typer.Option(False, "--no-cache", help="ignore earlier runs' cached results and keep none (results are still shared within this run)"),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="allow model repos to run their own code"),
    allow_pickle: bool = typer.Option(False, "--allow-pickle", help="allow pickled (.bin/.pt) weights"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue an interrupted run folder"),
    priority: Optional[str] = typer.Option(None, "--priority", help="quality, balanced (default) or cost: how the recommendation weighs quality against cost"),
    monthly_queries: Optional[float] = typer.Option(None, "--monthly-queries", help="expected production queries a month (default 100000)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="estimate time and cost from a short calibration; run nothing"),
    forgetting_probe: Optional[list[str]] = typer.Option(None, "--forgetting-probe", help="ARC JSONL, MMLU CSV or probe JSONL (file or folder), or a datasets source with question/choices/answer columns (hf:OWNER/NAME[:CONFIG]@SPLIT, save_to_disk folder, parquet); repeatable; instead of the built-in suite"),
    no_probes: bool = typer.Option(False, "--no-probes", help="skip the forgetting, bias and refusal probes"),
    overfit_sample: Optional[int] = typer.Option(None, "--overfit-sample", help="train (and ood) examples every strategy is also scored on (default 24; at most half of --limit; 0 = off)"),
    keep_checkpoints: bool = typer.Option(False, "--keep-checkpoints", help="save full/freeze fine-tuned weights in the run folder"),
    learning_curve: bool = typer.Option(False, "--learning-curve", help="fine-tuning: also train on 25%/50% of the data and project 2x/4x"),
    search: Optional[str] = typer.Option(None, "--search", help="hyperparameter search, e.g. lora:lr,r,epochs (optuna; validation split only)"),
    trials: Optional[int] = typer.Option(None, "--trials", help="trials of --search (default 6)"),
    judge: Optional[str] = typer.Option(None, "--judge", help="a model of `models:` (or `base`) that grades outputs: judge-reference, judge-pairwise (against prompt), RAG faithfulness, with its calibration (see judge: in run.yaml)"),
    adaptive: Optional[bool] = typer.Option(None, "--adaptive/--full", help="evaluate the test split in rounds and stop once an anytime-valid sequence settles the verdict, or evaluate all of it (default: adaptive.enabled in run.yaml, else --full)"),
) -> None:
    """Run every strategy on a task and write run.json, predictions and report.md."""
    from harness.config import build_config

    cli = _config_from_flags(locals())
    cli["data"] = _data_section(parse_data(data), input_field=input_field, reference_field=reference_field,
                                instruction=instruction, data_format=data_format, labels=labels)
    if search or trials:
        from strategies.finetune.hpsearch import parse_search_flag

        cli["search"] = parse_search_flag(search, trials)
    _run_config(build_config(cli, config), suite=suite, resume=resume, dry_run=dry_run)


# Where each `harness run` flag goes in the run config. A flag named as its config key passes under that name; these
# go elsewhere (a dotted key is a section's); a NEGATED switch sets its key false; READ_APART flags are not config
# keys, or are read into one by hand (--data and the flags describing its fields, --search and --trials).
FLAG_KEYS = {"priority": "decision.priority", "monthly_queries": "decision.monthly_queries",
             "keep_checkpoints": "finetune.keep_checkpoints", "learning_curve": "finetune.learning_curve",
             "adaptive": "adaptive.enabled", "forgetting_probe": "probes.forgetting", "no_probes": "probes.enabled",
             "no_cache": "use_cache", "judge": "judge.model"}
NEGATED = {"no_probes", "no_cache"}
READ_APART = {"data", "input_field", "reference_field", "instruction", "data_format", "labels", "search", "trials",
              "suite", "config", "resume", "dry_run"}


def _config_from_flags(flags: dict) -> dict:
    """The run config the flags given set (nested by section). A flag at its default (None, or an unset switch)
    was not given: the config file or the default decides."""
    import inspect

    cli: dict = {}
    for flag, param in inspect.signature(run).parameters.items():
        value = flags[flag]
        if flag in READ_APART or value is None or value is param.default.default:
            continue
        *sections, key = FLAG_KEYS.get(flag, flag).split(".")
        node = cli
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = False if flag in NEGATED else value
    return cli


def _data_section(files: dict[str, Path] | None, **flags: str | None) -> dict | None:
    """The run config's `data:` section from --data and the flags that describe its fields."""
    if not files:
        return None
    section: dict = {"files": files}
    if flags["input_field"]:
        section["input_field"] = flags["input_field"]
    if flags["reference_field"]:
        section["reference_fields"] = [f.strip() for f in flags["reference_field"].split(",") if f.strip()]
    if flags["instruction"]:
        section["instruction"] = flags["instruction"]
    if flags["data_format"]:
        section["format"] = flags["data_format"]
    if flags["labels"]:
        from harness.tasks.spec import parse_labels

        section["labels"] = parse_labels(flags["labels"])
    return section


def _run_config(cfg, *, suite: str | None, resume: Path | None, dry_run: bool) -> None:
    """Check, then estimate (--dry-run), run one task, or run a suite."""
    if not resume:  # a resumed run checks the config it started with
        from harness.runs.preflight import check_inputs

        check_inputs(cfg)
    if dry_run:
        from harness.runs.dryrun import estimate, print_estimate

        print_estimate(estimate(cfg), cfg)
        return
    from harness.interrupt import RunInterrupted
    from harness.runs.ranks import scratch_unless_main
    from harness.runs.runner import run as run_harness
    from harness.runs.suite import is_suite, run_suite

    with scratch_unless_main(cfg, resume) as (cfg, resume):
        if suite or (resume and is_suite(resume)):
            suite_dir = run_suite(cfg, suite, resume=resume)
            console.print(f"Suite folder: [bold]{escape(str(suite_dir))}[/]  (suite.html, suite.md, one run folder per task)")
            _print_path(suite_dir)
            return
        try:
            path = run_harness(cfg, resume=resume)
        except RunInterrupted as exc:  # saved and told how to resume; exit as the shell expects (130, 143)
            raise typer.Exit(exc.exit_code) from None
        _print_summary(path)


def _print_path(path: Path) -> None:
    """The folder's path alone on the last line of stdout, for scripts (rank 0's only: the others are scratch)."""
    from harness.runs.ranks import rank

    if rank() == 0:
        print(path)


def _print_verdict(record) -> None:
    from reports.wording import headline

    if record.recommendation:
        console.print(f"[bold]Verdict:[/] {escape(headline(record.recommendation))}")


def _print_summary(path: Path) -> None:
    from rich.table import Table

    from harness.record.store import RunStore

    rec = RunStore.open(path).read()
    metrics = rec.task.metrics
    table = Table(title=f"{escape(rec.task.name)} · test split · mean [95% CI]")
    table.add_column("strategy")
    for m in metrics:
        table.add_column(m, justify="right")
    for name, res in rec.strategies.items():
        table.add_row(name, *[f"{s.value:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]" if (s := res.score(m)) else "–"
                              for m in metrics])
    console.print(table)
    _print_verdict(rec)
    console.print(f"Run folder: [bold]{escape(str(path))}[/]  (report.html, report.md, run.json, predictions/)")
    _print_path(path)


@app.command()
def tasks() -> None:
    """List the built-in tasks."""
    from rich.table import Table

    from harness.yamlfile import read_yaml
    from harness.tasks.load import builtin_tasks

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

    from strategies.composed import sides

    table = Table("strategy", "default", "description")
    for name, cls in registry.items().items():
        table.add_row(name, "with a corpus" if callable(cls.default) else "yes" if cls.default else "", cls.description)
    table.add_row("PROMPT+WEIGHTS", "", "composed: the fine-tuning strategy trained on the prompting strategy's prompts "
                  "(rag: with distractor passages, as RAFT), then prompted the same way: rag+lora, few-shot+lora, rag+full")
    console.print(table)
    console.print(escape(sides()))


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="a run folder"),
    priority: Optional[str] = typer.Option(None, "--priority", help="recompute the recommendation with quality, balanced or cost"),
    monthly_queries: Optional[float] = typer.Option(None, "--monthly-queries", help="recompute it for this monthly query volume"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="a YAML whose `decision:` section replaces the run's"),
) -> None:
    """Re-render a run's reports (report.md, report.html) from its run folder; a complete run's comparisons, cost
    ledger and recommendation are recomputed, with any new priorities, volume or constraints given here. Without
    the predictions/ folder the report comes from run.json alone, as recorded."""
    from harness.config import validate
    from harness.yamlfile import read_yaml
    from harness.record.store import RunStore
    from reports.html import write_html
    from reports.markdown import write_report

    store = RunStore.open(run_dir)
    record = read_run(store)
    if record.task is None:
        raise HarnessError(f"{store.record_path} has no 'task' field (the run stopped before its task loaded), so it "
                           "cannot be reported.", hint=f"Resume it: harness run --resume {run_dir}")
    recompute = priority is not None or monthly_queries is not None or config is not None
    missing = [n for n in record.strategies if not store.predictions_path(n).exists()]
    if missing and recompute:
        raise HarnessError(f"Cannot recompute the recommendation: {store.path / 'predictions'} has no predictions of "
                           f"{', '.join(missing)} (the paired tests need them).",
                           hint="Without --priority, --monthly-queries and --config the report is rendered from "
                                "run.json as it stands.")
    if record.status == "complete" and not missing:  # without the rows, run.json's own comparisons stand
        from harness.decide.recommend import analyse

        stored = record.config.model_dump(mode="json")
        decision = stored["decision"]
        if config:
            decision = read_yaml(config).get("decision", decision)
        decision |= {k: v for k, v in {"priority": priority, "monthly_queries": monthly_queries}.items() if v is not None}
        record.config = validate(stored | {"decision": decision}, source=str(config or run_dir / "run.json"))
        analyse(store, record, record.config.decision)
        store.write(record)
        _print_verdict(record)
    console.print(f"Wrote {escape(str(write_report(run_dir, record)))} and {escape(str(write_html(run_dir, record)))}")


@app.command()
def compare(
    run_a: Path = typer.Argument(..., help="a run folder (A)"),
    run_b: Path = typer.Argument(..., help="another run folder (B)"),
) -> None:
    """Two runs side by side, with paired tests (B − A) where their test examples match."""
    from harness.decide.compare import compare_runs, print_comparison

    print_comparison(compare_runs(run_a, run_b))


from harness.cli import regression as regression_cli  # noqa: E402  baseline save|list, check, drift
from harness.decide.recommend import read_run

regression_cli.register(app)


cache_app = typer.Typer(no_args_is_help=True, help="Inspect or empty the generation and embedding cache.")
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info() -> None:
    """Where the cache is, its size, and entries per kind (generation, embedding, ...)."""
    from rich.table import Table

    from harness.backends.cache import Cache

    cache = Cache()
    info = cache.info()
    cache.close()
    table = Table("kind", "entries", "MB of values", title=f"{info['path']} · {info['bytes'] / 1e6:.1f} MB on disk")
    for ns, row in sorted(info["namespaces"].items()):
        table.add_row(ns, str(row["entries"]), f"{row['value_bytes'] / 1e6:.2f}")
    if not info["namespaces"]:
        table.add_row("(empty)", "0", "0")
    for folder in sorted(p for p in cache.path.parent.iterdir() if p.is_dir()):  # converted models, indexes
        files = [f for f in folder.rglob("*") if f.is_file()]
        table.add_row(f"{folder.name}/ (files)", str(len(files)), f"{sum(f.stat().st_size for f in files) / 1e6:.2f}")
    console.print(table)


@cache_app.command("clear")
def cache_clear(kind: Optional[str] = typer.Option(None, "--kind", help="only this kind, e.g. generation"),
                yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Delete cached entries (all, or one kind). Converted models are kept."""
    from harness.backends.cache import Cache

    cache = Cache()
    known = sorted(cache.info()["namespaces"])
    if kind and kind not in known:
        from harness.errors import unknown_name

        cache.close()
        raise unknown_name("cache kind", kind, known)
    if not yes and not typer.confirm(f"Delete {kind or 'all'} cache entries in {cache.path}?"):
        cache.close()
        raise typer.Abort()
    removed = cache.clear(kind)
    cache.close()
    console.print(f"Removed {removed} entries from {cache.path}.")


def main() -> None:
    import sys

    from harness.redact import redacting_excepthook

    sys.excepthook = redacting_excepthook  # a bug's traceback, as Python prints it, through the redaction step
    try:
        app()
    except HarnessError as exc:
        error(exc.message, exc.hint)
        raise SystemExit(2)
    except KeyboardInterrupt as exc:
        raise SystemExit(getattr(exc, "exit_code", 130))  # 130 after SIGINT, 143 after SIGTERM


if __name__ == "__main__":
    main()

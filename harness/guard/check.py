"""Regression check: a new run against a baseline, metric by metric, paired on the examples both scored.

The rule (`Rule`, `--threshold`):
  significant (default)  a drop is a regression only if the paired test says it is real after Holm correction
                         across every strategy x metric checked (adjusted p < alpha, default 0.05) AND the mean drop
                         is larger than a practical margin (default 0.01 in the metric's units, one ROUGE point).
  abs:X                  a regression when the mean drop exceeds X (metric units), significant or not.
  rel:X%                 a regression when the mean drop exceeds X percent of the baseline's mean (e.g. rel:5%);
                         the percent sign is required (a bare rel:5 could mean 5% or 500%, so it is refused).
"Drop" is in the metric's bad direction (lower for higher-is-better metrics). Every row still carries the paired
difference (new - baseline) with its 95% bootstrap CI, p-value and test, whatever the rule.

Exit codes: 0 no regression, 1 at least one regression, 2 could not check (nothing shared, baseline missing, the
run failed, a strategy or metric absent from the new run and no regression elsewhere).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from harness.guard.baseline import Baseline, example_sha
from harness.errors import HarnessError
from harness.measure.stats import holm, paired_difference
from harness.record.figures import Difference
from harness.decide.recommend import read_run

OK, REGRESSION, CANNOT_CHECK = 0, 1, 2


@dataclass(frozen=True)
class Rule:
    kind: str = "significant"  # significant | abs | rel
    threshold: float = 0.0  # abs / rel only
    alpha: float = 0.05
    margin: float = 0.01  # significant only: the smallest drop that matters

    @classmethod
    def parse(cls, text: str | None, *, alpha: float = 0.05, margin: float = 0.01) -> "Rule":
        if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
            raise HarnessError(f"--alpha {alpha} is not a significance level: it must lie strictly between 0 and 1.",
                               hint="Use e.g. --alpha 0.05 (at 1 or above every drop is significant, at 0 or below "
                               "none is, so the gate could never fail).")
        if not (isinstance(margin, (int, float)) and 0 <= margin < math.inf):
            raise HarnessError(f"--margin {margin} is not a drop size: it must be a finite number, 0 or more.",
                               hint="Use e.g. --margin 0.01 (in the metric's units).")
        text = (text or "significant").strip().lower()
        if text in {"significant", "sig"}:
            return cls("significant", 0.0, alpha, margin)
        hint = "Use 'significant' (default), 'abs:0.02' (an absolute drop, metric units) or 'rel:5%' (a relative drop)."
        m = re.fullmatch(r"(abs|rel):\s*([0-9]*\.?[0-9]+)\s*(%?)", text)
        if not m:
            raise HarnessError(f"--threshold '{text}' is not a rule.", hint=hint)
        kind, number, percent = m.groups()
        if kind == "rel" and not percent:
            raise HarnessError(f"--threshold '{text}' is ambiguous: a relative threshold is written in percent.",
                               hint=f"Write rel:{number}% for {number} percent of the baseline's mean.")
        if kind == "abs" and percent:
            raise HarnessError(f"--threshold '{text}': an absolute threshold is in the metric's units, not percent.",
                               hint=f"Write abs:{float(number) / 100:g} for a drop of that size, or rel:{number}% for a "
                               "drop relative to the baseline's mean.")
        return cls(kind, float(number) / (100 if percent else 1), alpha, margin)

    def describe(self) -> str:
        if self.kind == "abs":
            return f"regression when the mean drop exceeds {self.threshold:g} (absolute, metric units)"
        if self.kind == "rel":
            return f"regression when the mean drop exceeds {self.threshold:.1%} of the baseline's mean"
        return (f"regression when the drop is significant after Holm correction across all checks "
                f"(adjusted p < {self.alpha:g}) and larger than {self.margin:g} (metric units)")


@dataclass
class Row:
    strategy: str
    metric: str
    higher_is_better: bool = True
    n: int = 0
    baseline: float = math.nan  # means over the shared examples
    new: float = math.nan
    diff: Difference | None = None  # paired_difference(new, baseline); None: not compared
    p_holm: float = math.nan
    status: str = "pass"  # pass | regression | error
    reason: str = ""

    @property
    def drop(self) -> float:
        """How much worse, in the metric's bad direction (negative: better)."""
        value = self.diff.value if self.diff else math.nan
        return -value if self.higher_is_better else value


@dataclass
class CheckResult:
    baseline: str
    rule: Rule
    rows: list[Row]
    run_dir: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # fingerprints, shared / changed example counts

    @property
    def exit_code(self) -> int:
        if any(r.status == "regression" for r in self.rows):
            return REGRESSION
        if not self.rows or any(r.status == "error" for r in self.rows):
            return CANNOT_CHECK
        return OK

    @property
    def verdict(self) -> str:
        return {OK: "no regression", REGRESSION: "regression", CANNOT_CHECK: "could not check"}[self.exit_code]


def compare(baseline: Baseline, new_scores: dict[str, dict[str, dict[str, float]]], rule: Rule, *,
            changed_ids: set[str] = frozenset(), seed: int = 0) -> list[Row]:
    """Every baseline strategy x metric against the new per-example scores (strategy -> id -> metric -> value),
    paired on shared example ids (examples whose content changed are left out). Holm across the rows checked."""
    from harness.measure.metrics import get as get_metric

    rows: list[Row] = []
    for strategy in baseline.strategies:
        old = baseline.scores[strategy]
        new = new_scores.get(strategy)
        for metric in baseline.metrics:
            row = Row(strategy, metric, get_metric(metric).higher_is_better)
            rows.append(row)
            if new is None:
                row.status, row.reason = "error", f"strategy '{strategy}' is not in the new run"
                continue
            shared = [i for i in old if i in new and i not in changed_ids and metric in new[i] and metric in old[i]]
            if not shared:
                row.status, row.reason = "error", "no shared examples to compare"
                continue
            a = [new[i][metric] for i in shared]
            b = [old[i][metric] for i in shared]
            bad = next((i for i, v in zip(shared, a) if not _finite(v)), None)
            if bad is not None:
                row.status, row.reason = "error", f"the new run's {metric} of example {bad} is {new[bad][metric]!r}, not a number"
                continue
            row.n, row.new, row.baseline = len(shared), sum(a) / len(a), sum(b) / len(b)
            row.diff = paired_difference(a, b, seed=seed)
    checked = [r for r in rows if r.status != "error"]
    for row, p in zip(checked, holm([r.diff.p_value for r in checked])):
        row.p_holm = p
        row.status, row.reason = _judge(row, rule)
    return rows


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _judge(row: Row, rule: Rule) -> tuple[str, str]:
    drop = row.drop
    if rule.kind == "abs":
        bad = drop > rule.threshold
        why = f"drop {drop:+.4f} {'>' if bad else '<='} {rule.threshold:g}"
    elif rule.kind == "rel":
        scale = abs(row.baseline)
        rel = drop / scale if scale > 0 else (math.inf if drop > 0 else 0.0)
        bad = rel > rule.threshold
        why = f"relative drop {rel:+.1%} {'>' if bad else '<='} {rule.threshold:.1%}"
    else:
        significant = row.p_holm < rule.alpha
        big = drop > rule.margin
        bad = significant and big
        why = (f"drop {drop:+.4f} ({'>' if big else '<='} margin {rule.margin:g}), "
               f"Holm p {row.p_holm:.3g} ({'<' if significant else '>='} {rule.alpha:g})")
    return ("regression" if bad else "pass"), why


# ------------------------------------------------------------------------------------------------- running a check


def check_config(baseline: Baseline, *, model: str | None = None, data: dict[str, Path] | None = None,
                 seed: int | None = None, out: Path | None = None, strategies: list[str] | None = None,
                 use_cache: bool | None = None, device: str | None = None, batch_size: int | None = None):
    """The baseline's config with what is given swapped in, its test split pinned to the baseline's examples. The
    run folder goes under `out` (default ./runs), never where the baseline's config.out points: a committed
    baseline.json does not decide where a check writes."""
    from harness.config import validate

    cfg = baseline.config.model_dump(mode="json")
    cfg["out"] = str(out if out is not None else Path("runs"))
    if model is not None:
        cfg["model"] = model
    if data:
        cfg["data"] = {**(cfg.get("data") or {}), "files": {k: str(v) for k, v in data.items()}}
    for key, value in {"seed": seed, "strategies": strategies, "use_cache": use_cache, "device": device,
                       "batch_size": batch_size}.items():
        if value is not None:
            cfg[key] = value
    cfg["test_ids"] = baseline.test_ids()
    return validate(cfg, source=f"{baseline.path / 'baseline.json'}: config")


def run_check(baseline: Baseline, rule: Rule, **overrides) -> CheckResult:
    """Re-run the baseline's config with the overrides, then compare. Raises HarnessError when it cannot run."""
    from harness.runs.runner import run
    from harness.tasks.load import load_task

    config = check_config(baseline, **overrides)
    run_dir = run(config)
    return result_from_run(baseline, run_dir, rule, task=load_task(config.task, config.data, limit=config.limit,
                                                                      seed=config.seed, test_ids=config.test_ids))


def result_from_run(baseline: Baseline, run_dir: Path, rule: Rule, *, task=None) -> CheckResult:
    from harness.record.store import RunStore

    store = RunStore.open(run_dir)
    rec = read_run(store)
    new_scores = {s: {r["example_id"]: r["scores"] for r in store.read_predictions(s)} for s in rec.complete()}
    changed: set[str] = set()
    if task is not None:
        now = {ex.id: example_sha(ex.input, ex.reference) for ex in task.split("test")}
        changed = {row["id"] for row in baseline.inputs if row["id"] in now and now[row["id"]] != row["sha"]}
    rows = compare(baseline, new_scores, rule, changed_ids=changed)
    old = baseline.record
    context = {
        "baseline_model": old.model.name, "baseline_model_fp": old.model.fingerprint,
        "new_model": rec.model.name if rec.model else None, "new_model_fp": rec.model.fingerprint if rec.model else None,
        "baseline_data_fp": old.task.fingerprint, "new_data_fp": rec.task.fingerprint if rec.task else None,
        "baseline_examples": len(baseline.inputs), "changed_examples": len(changed),
        "seed": rec.config.seed, "baseline_seed": baseline.config.seed,
    }
    return CheckResult(baseline.name, rule, rows, str(run_dir), context)


# ------------------------------------------------------------------------------------------------------ rendering


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _delta(row: Row) -> str:
    if not row.diff:
        return "–"
    d = row.diff
    return f"{d.value:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]"


def to_markdown(result: CheckResult) -> str:
    icon = {OK: "✅", REGRESSION: "❌", CANNOT_CHECK: "⚠️"}[result.exit_code]
    c = result.context
    lines = [
        f"### harness check against baseline `{result.baseline}`: {icon} {result.verdict}",
        "",
        f"Rule: {result.rule.describe()}.",
        "",
        f"Model: `{c.get('baseline_model')}` ({c.get('baseline_model_fp')}) → `{c.get('new_model')}` ({c.get('new_model_fp')}). "
        f"Data: {c.get('baseline_data_fp')} → {c.get('new_data_fp')}. Seed: {c.get('baseline_seed')} → {c.get('seed')}.",
        "",
        "| strategy | metric | n | baseline | new | Δ new − baseline [95% CI] | test | p (Holm) | verdict |",
        "|---|---|---:|---:|---:|---|---|---:|---|",
    ]
    for r in result.rows:
        verdict = {"pass": "pass", "regression": "**regression**", "error": "could not check"}[r.status]
        lines.append(f"| {r.strategy} | {r.metric} | {r.n} | {_fmt(r.baseline)} | {_fmt(r.new)} | {_delta(r)} | "
                     f"{r.diff.test if r.diff else '–'} | {_fmt(r.p_holm)} | {verdict}: {r.reason} |")
    lines += ["", f"Means are over the examples both runs scored ({c.get('baseline_examples')} in the baseline"
              + (f"; {c['changed_examples']} changed content and were left out" if c.get("changed_examples") else "")
              + "). Differences are paired per example; the CI is a paired bootstrap."]
    if result.run_dir:
        lines.append(f"New run: `{result.run_dir}`.")
    return "\n".join(lines) + "\n"


def to_junit(result: CheckResult) -> str:
    failures = sum(r.status == "regression" for r in result.rows)
    errors = sum(r.status == "error" for r in result.rows)
    suites = ET.Element("testsuites", name="harness check", tests=str(len(result.rows)), failures=str(failures),
                        errors=str(errors))
    suite = ET.SubElement(suites, "testsuite", name=f"harness check: {result.baseline}", tests=str(len(result.rows)),
                          failures=str(failures), errors=str(errors), skipped="0", time="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="rule", value=result.rule.describe())
    for k, v in result.context.items():
        ET.SubElement(props, "property", name=k, value=str(v))
    for r in result.rows:
        case = ET.SubElement(suite, "testcase", classname=f"harness.guard.check.{r.strategy}", name=r.metric, time="0")
        detail = (f"{r.strategy} {r.metric}: baseline {_fmt(r.baseline, 4)}, new {_fmt(r.new, 4)}, "
                  f"diff {_delta(r)}, n {r.n}, {r.diff.test if r.diff else ''} p {_fmt(r.diff.p_value if r.diff else math.nan, 4)}, "
                  f"Holm p {_fmt(r.p_holm, 4)}; {r.reason}")
        if r.status == "regression":
            ET.SubElement(case, "failure", message=f"regression: {r.reason}", type="regression").text = detail
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.reason, type="could-not-check").text = detail
        else:
            ET.SubElement(case, "system-out").text = detail
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def error_junit(baseline: str, message: str) -> str:
    """The JUnit file when the check could not run at all: one errored testcase, so CI shows why."""
    suites = ET.Element("testsuites", name="harness check", tests="1", failures="0", errors="1")
    suite = ET.SubElement(suites, "testsuite", name=f"harness check: {baseline}", tests="1", failures="0", errors="1")
    case = ET.SubElement(suite, "testcase", classname="harness.guard.check", name="run")
    ET.SubElement(case, "error", message=message, type="could-not-check").text = message
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def print_table(result: CheckResult) -> None:
    from rich.table import Table

    from harness.console import console

    colour = {OK: "green", REGRESSION: "red", CANNOT_CHECK: "yellow"}[result.exit_code]
    table = Table(title=f"harness check vs baseline '{result.baseline}': [{colour}]{result.verdict}[/]",
                  caption=f"Rule: {result.rule.describe()}")
    for col in ("strategy", "metric", "n", "baseline", "new", "Δ [95% CI]", "p (Holm)", "verdict"):
        table.add_column(col, justify="right" if col in {"n", "baseline", "new", "p (Holm)"} else "left")
    style = {"pass": "green", "regression": "bold red", "error": "yellow"}
    for r in result.rows:
        table.add_row(r.strategy, r.metric, str(r.n), _fmt(r.baseline), _fmt(r.new), _delta(r), _fmt(r.p_holm),
                      f"[{style[r.status]}]{r.status}[/] {r.reason}")
    console.print(table)

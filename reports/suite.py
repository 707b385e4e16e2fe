"""The suite page: each task's verdict and an overall strategies x tasks table (suite.md and suite.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports import multitask_section
from reports.html import environment
from reports.tables import fmt_score, table


def _load(suite_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[str], dict[str, int]]:
    rec = json.loads((Path(suite_dir) / "suite.json").read_text(encoding="utf-8"))
    rows = rec.get("summary") or []
    strategies = list(dict.fromkeys(n for row in rows for n in row["scores"]))
    wins: dict[str, int] = {}
    for row in rows:
        if row.get("recommended"):
            wins[row["recommended"]] = wins.get(row["recommended"], 0) + 1
    return rec, rows, strategies, wins


def render_markdown(suite_dir: Path) -> str:
    rec, rows, strategies, wins = _load(suite_dir)
    verdicts = [[f"[{r['task']}]({r['run']}/report.md)", r["kind"], r["recommended"] or "–", r["verdict"] or "–",
                 r["headline"]] for r in rows]
    overall = [[name, *[fmt_score(r["scores"].get(name)) for r in rows], f"{wins.get(name, 0)} of {len(rows)}"]
               for name in strategies]
    lines = [f"# Suite `{rec['suite']}`: prompt, retrieve or fine-tune, task by task", "",
             "## Verdict per task", "", *table(["task", "kind", "recommended", "verdict", "why"], verdicts),
             "", "## Overall", "", "Each strategy's primary metric on each task: mean on the test split [95% CI].", "",
             *table(["strategy", *[f"{r['task']} · {r['metric']}" for r in rows], "recommended on"], overall)]
    return "\n".join(lines + multitask_section.markdown(suite_dir, rows)) + "\n"


def render_html(suite_dir: Path) -> str:
    rec, rows, strategies, wins = _load(suite_dir)
    return environment().get_template("suite.html.j2").render(
        rec=rec, rows=rows, strategies=strategies, wins=wins, multitask=multitask_section.rows(suite_dir, rows),
        verdict=multitask_section.verdict)


def write_suite_reports(suite_dir: Path) -> None:
    suite_dir = Path(suite_dir)
    (suite_dir / "suite.md").write_text(render_markdown(suite_dir), encoding="utf-8")
    (suite_dir / "suite.html").write_text(render_html(suite_dir), encoding="utf-8")

"""The suite page: each task's verdict and an overall strategies x tasks table (suite.md and suite.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports.markdown import fmt_score


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
    lines = [f"# Suite `{rec['suite']}`: prompt, retrieve or fine-tune, task by task", "",
             "## Verdict per task", "", "| task | kind | recommended | verdict | why |", "|---|---|---|---|---|"]
    for row in rows:
        why = row["headline"].replace("|", "\\|")
        lines.append(f"| [{row['task']}]({row['run']}/report.md) | {row['kind']} | {row['recommended'] or '–'} | "
                     f"{row['verdict'] or '–'} | {why} |")
    lines += ["", "## Overall", "", "Each strategy's primary metric on each task: mean on the test split [95% CI].", "",
              "| strategy | " + " | ".join(f"{r['task']} · {r['metric']}" for r in rows) + " | recommended on |",
              "|---|" + "---|" * (len(rows) + 1)]
    for name in strategies:
        cells = [fmt_score(r["scores"][name]) if r["scores"].get(name) else "–" for r in rows]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {wins.get(name, 0)} of {len(rows)} |")
    from reports.multitask_section import markdown as multitask_lines

    lines += multitask_lines(suite_dir, rows)
    return "\n".join(lines) + "\n"


def render_html(suite_dir: Path) -> str:
    from reports.html import _env

    rec, rows, strategies, wins = _load(suite_dir)
    from reports.multitask_section import rows as multitask_rows
    from reports.multitask_section import verdict

    return _env().get_template("suite.html.j2").render(rec=rec, rows=rows, strategies=strategies, wins=wins,
                                                       multitask=multitask_rows(suite_dir, rows), verdict=verdict)


def write_suite_reports(suite_dir: Path) -> None:
    suite_dir = Path(suite_dir)
    (suite_dir / "suite.md").write_text(render_markdown(suite_dir), encoding="utf-8")
    (suite_dir / "suite.html").write_text(render_html(suite_dir), encoding="utf-8")

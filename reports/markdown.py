"""report.md from run.json alone: strategies x metrics with CIs, then a few outputs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.store import RunStore

SAMPLES = 3


def fmt_score(s: dict[str, Any]) -> str:
    return f"{s['value']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"


def _cell(text: str, width: int = 300) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _overfitting(rec: dict[str, Any], names: list[str], metrics: list[str]) -> list[str]:
    """Train-sample minus test and test minus ood on the first metric, and fine-tuning's validation curve."""
    rows = [n for n in names if rec["strategies"][n].get("overfitting")]
    if not rows or not metrics:
        return []
    m = metrics[0]
    lines = ["", f"## Overfitting ({m})", "", "Difference of means with a 95% bootstrap CI; a train − test gap above 0 "
             "means the strategy does better on examples it was built from.", "",
             "| strategy | train − test | test − ood | validation curve (step: val loss / val metric) |", "|---|---|---|---|"]
    for name in rows:
        res = rec["strategies"][name]
        gap = res["overfitting"]
        cells = [fmt_score(gap[k][m]) if m in gap.get(k, {}) else "–" for k in ("train_minus_test", "test_minus_ood")]
        curve = "; ".join(f"{p['step']}: {p['val_loss']:.3f} / {p.get('val_metric', float('nan')):.3f}"
                          for p in res.get("learning_curve", [])) or "–"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {curve} |")
    return lines


def render(store: RunStore) -> str:
    rec = store.read()
    task = rec.get("task", {})
    model = rec.get("model", {})
    names = [n for n in rec.get("strategy_order", rec["strategies"]) if n in rec["strategies"]]
    metrics = task.get("metrics", [])
    lines = [
        f"# {task.get('name', '?')}: which adaptation strategy?",
        "",
        f"Run `{rec['run_id']}` · status **{rec['status']}** · model `{model.get('name', '?')}` "
        f"({model.get('parameters', 0) / 1e6:.0f}M parameters, {model.get('device', '?')}) · "
        f"test examples: {task.get('sizes', {}).get('test', '?')}",
        "",
        "## Accuracy on the test split",
        "",
        "Mean with its 95% bootstrap confidence interval.",
        "",
        "| strategy | " + " | ".join(metrics) + " | examples/s | setup s |",
        "|---|" + "---|" * (len(metrics) + 2),
    ]
    for name in names:
        res = rec["strategies"][name]
        test = res.get("metrics", {}).get("test", {})
        cells = [fmt_score(test[m]) if m in test else "–" for m in metrics]
        eps = res.get("timings", {}).get("test", {}).get("examples_per_second")
        setup = res.get("cost", {}).get("setup_seconds")
        eps_text = f"{eps:.2f}" if eps else "cached"
        setup_text = f"{setup:.1f}" if setup is not None else "–"
        lines.append(f"| {name} | {' | '.join(cells)} | {eps_text} | {setup_text} |")
    lines += _overfitting(rec, names, metrics)
    lines += ["", "## Outputs side by side", ""]
    lines += _samples(store, names)
    lines += ["", "## Run", "", "```yaml"]
    import yaml

    lines.append(yaml.safe_dump({"config": rec.get("config"), "environment": rec.get("environment")}, sort_keys=False).rstrip())
    lines += ["```", ""]
    return "\n".join(lines)


def _samples(store: RunStore, names: list[str]) -> list[str]:
    preds = {n: {r["example_id"]: r for r in store.read_predictions(n)} for n in names}
    if not names or not preds[names[0]]:
        return ["(no predictions)"]
    ids = sorted(preds[names[0]])[:SAMPLES]
    out = []
    for ex_id in ids:
        first = preds[names[0]][ex_id]
        out += [f"**{_cell(ex_id)}** · reference: {_cell(first['references'][0])}", "", "| strategy | output |", "|---|---|"]
        for n in names:
            row = preds[n].get(ex_id)
            out.append(f"| {n} | {_cell(row['output']) if row else '–'} |")
        out.append("")
    return out


def write_report(run_dir: Path) -> Path:
    store = RunStore.open(run_dir)
    path = store.path / "report.md"
    path.write_text(render(store), encoding="utf-8")
    return path

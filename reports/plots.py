"""Plots for the HTML report, drawn by matplotlib and returned as inline SVG text (no files, no network).

Built on matplotlib.figure.Figure directly (no pyplot state, no GUI backend). Text stays text in the SVG
(svg.fonttype none), and matplotlib's SVG writer escapes it, so names from data cannot inject markup.
"""

from __future__ import annotations

import io
import math
import re

from harness.record.figures import Difference, Score
from harness.record.training import CurvePoint

PALETTE = ["#3b6ea8", "#e07b39", "#4f9d69", "#b5485d", "#7c62a8", "#8c6d46", "#c4a000", "#5b8c99"]


def _svg(fig) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "harness"}):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: inlined in HTML5
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _figure(width: float = 6.4, height: float = 3.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def metric_bars(names: list[str], scores: dict[str, Score], metric: str) -> str | None:
    """One bar per strategy with its 95% CI as an error bar."""
    names = [n for n in names if n in scores]
    if not names:
        return None
    fig, ax = _figure(max(3.2, 1.1 * len(names) + 1.5), 2.8)
    vals = [scores[n].value for n in names]
    err = [[v - scores[n].ci_low for n, v in zip(names, vals)], [scores[n].ci_high - v for n, v in zip(names, vals)]]
    ax.bar(names, vals, yerr=err, capsize=5, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))],
           ecolor="#333", width=0.6)
    arrow = "higher is better" if scores[names[0]].higher_is_better else "lower is better"
    ax.set_title(f"{metric} (test, 95% CI; {arrow})", fontsize=10, loc="left")
    ax.tick_params(labelsize=9)
    return _svg(fig)


def quality_vs_cost(names: list[str], scores: dict[str, Score], dollars: dict[str, float], metric: str,
                    label: str, recommended: str | None) -> str | None:
    names = [n for n in names if n in scores and dollars.get(n) is not None]
    if not names:
        return None
    fig, ax = _figure(6.0, 3.2)
    for i, n in enumerate(names):
        s = scores[n]
        ax.errorbar([dollars[n]], [s.value], yerr=[[s.value - s.ci_low], [s.ci_high - s.value]],
                    fmt="o", color=PALETTE[i % len(PALETTE)], capsize=4, markersize=9 if n == recommended else 6,
                    markeredgecolor="#111" if n == recommended else "none", markeredgewidth=1.5)
        ax.annotate(n + (" (recommended)" if n == recommended else ""), (dollars[n], s.value),
                    textcoords="offset points", xytext=(7, 4), fontsize=9)
    positive = [dollars[n] for n in names if dollars[n] > 0]
    if len(positive) == len(names) and max(positive) / min(positive) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(label, fontsize=9)
    ax.set_ylabel(metric, fontsize=9)
    ax.set_title(f"{metric} against cost (up and to the left is better)", fontsize=10, loc="left")
    ax.tick_params(labelsize=9)
    return _svg(fig)


def learning_curve(curve: list[CurvePoint], name: str) -> str | None:
    """Train and validation loss (left axis) and the validation metric (right axis) per evaluation."""
    curve = [p for p in curve if p.step is not None]
    if not curve:
        return None
    fig, ax = _figure(5.0, 3.1)
    fig.set_layout_engine("constrained")
    losses = (("train loss", [(p.step, p.train_loss) for p in curve], PALETTE[0]),
              ("val loss", [(p.step, p.val_loss) for p in curve], PALETTE[1]))
    for label, points, color in losses:
        pts = [(x, y) for x, y in points if y is not None and not math.isnan(y)]
        if pts:
            ax.plot(*zip(*pts), marker="o" if len(pts) < 30 else None, markersize=3, label=label, color=color)
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel("loss", fontsize=9)
    metric = [(p.step, p.val_metric) for p in curve if p.val_metric is not None]
    if metric:
        ax2 = ax.twinx()
        ax2.plot(*zip(*metric), linestyle="--", color=PALETTE[2], label="val metric")
        ax2.set_ylabel("validation metric", fontsize=9)
        ax2.spines[["top"]].set_visible(False)
        ax2.tick_params(labelsize=9)
    handles = [h for a in fig.axes for h in a.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, fontsize=8, frameon=False, loc="outside lower center", ncols=3)
    ax.set_title(f"{name}: learning curve", fontsize=10, loc="left")
    ax.tick_params(labelsize=9)
    return _svg(fig)


def delta_bars(rows: list[tuple[str, Difference]], title: str) -> str | None:
    """Horizontal bars of deltas (adapted minus base) with their CIs, one per (label, difference)."""
    if not rows:
        return None
    fig, ax = _figure(6.0, 0.45 * len(rows) + 1.0)
    labels = [label for label, _ in rows]
    vals = [d.value for _, d in rows]
    err = [[d.value - d.ci_low for _, d in rows], [d.ci_high - d.value for _, d in rows]]
    ax.barh(labels, vals, xerr=err, capsize=4, color=[PALETTE[3] if v < 0 else PALETTE[0] for v in vals], height=0.55)
    ax.axvline(0, color="#333", linewidth=0.8)
    ax.invert_yaxis()
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(labelsize=9)
    return _svg(fig)


def sequences_by_look(a) -> str | None:
    """An adaptive run's sequences (bands) and running means over its looks, with 0 and the margin marked."""
    if a is None or not a.looks:
        return None
    fig, ax = _figure(6.4, 3.0)
    pairs = sorted({(b.leader, b.other) for look in a.looks for b in look.sequences})
    for i, (leader, other) in enumerate(pairs):
        points = [(look.n, b) for look in a.looks for b in look.sequences if (b.leader, b.other) == (leader, other)]
        xs, color = [n for n, _ in points], PALETTE[i % len(PALETTE)]
        ax.fill_between(xs, [b.lower for _, b in points], [b.upper for _, b in points], color=color, alpha=0.2)
        ax.plot(xs, [b.mean for _, b in points], marker="o", color=color, label=f"{leader} − {other}")
    ax.axhline(0, color="#333", linewidth=0.8)
    for m in (a.margin, -a.margin) if a.margin else ():
        ax.axhline(m, color="#999", linewidth=0.8, linestyle="--")
    ax.set_xlabel("test examples so far")
    ax.set_ylabel(f"Δ {a.metric}")
    ax.set_title(f"{1 - a.alpha:.0%} anytime-valid sequences, by look", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return _svg(fig)

"""The hyperparameter search in the reports: a table of trials, the search's own cost, and (HTML) the validation
score against each searched hyperparameter."""

from __future__ import annotations

from harness.record.run_record import RunRecord
from harness.record.training import Search
from harness.units import fmt_number
from reports.tables import table


def searches(rec: RunRecord, names: list[str]) -> list[tuple[str, Search]]:
    return [(n, s) for n in names if (s := rec.strategies[n].search)]


def _fmt(v: float | int | str | None) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 0.01 or abs(v) >= 1000 else f"{v:.4f}".rstrip("0").rstrip(".")
    return "–" if v is None else str(v)


def summary(name: str, s: Search, setup_seconds: float | None) -> str:
    states = [t.state for t in s.trials]
    setup = f" of its {setup_seconds:.0f} s setup" if setup_seconds else ""
    best = ", ".join(f"{k} {_fmt(v)}" for k, v in s.best.params.items())
    return (f"{name}: {len(states)} trials ({states.count('complete')} complete, {states.count('pruned')} pruned) "
            f"over {', '.join(s.params)}; objective: {s.objective} on {s.val_examples} validation examples "
            f"({'max' if s.maximize else 'min'}imised; the best validation of each trial); sampler {s.sampler} (seed "
            f"{s.seed}), pruner {s.pruner} (after {s.pruner_startup_trials} complete trials, at every validation). "
            f"The search took {s.seconds:.0f} s{setup}. Best: trial {s.best.number} ({best}), validation "
            f"{_fmt(s.best.value)}; the best trial's model (not retrained): it is the one scored on test. The test "
            "split was not used by the search.")


def markdown(rec: RunRecord, names: list[str]) -> list[str]:
    found = searches(rec, names)
    if not found:
        return []
    lines = ["", "## Hyperparameter search", ""]
    for name, s in found:
        rows = [[f"{t.number}{' (best)' if t.number == s.best.number else ''}",
                 *[_fmt(t.params.get(p)) for p in s.params], _fmt(t.value), t.state, fmt_number(t.seconds, 0)]
                for t in s.trials]
        lines += [summary(name, s, rec.strategies[name].cost.setup_seconds), "",
                  *table(["trial", *s.params, "validation", "state", "seconds"], rows), ""]
    return lines


def plot(name: str, s: Search) -> str | None:
    """One panel per hyperparameter: each trial's validation score (pruned trials at their last report, hollow)."""
    from matplotlib.figure import Figure

    from reports.plots import PALETTE, _svg

    params = s.params
    fig = Figure(figsize=(3.2 * len(params), 2.8))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, len(params), squeeze=False)[0]
    for ax, p in zip(axes, params):
        for t in s.trials:
            last = list(t.intermediate.values())[-1] if t.intermediate else None
            y = t.value if t.value is not None else last
            if y is None or p not in t.params:
                continue
            done = t.state == "complete"
            ax.scatter([t.params[p]], [y], s=36, color=PALETTE[0] if done else "none",
                       edgecolors=PALETTE[3] if t.number == s.best.number else PALETTE[0], linewidths=1.5)
        if p == "lr":
            ax.set_xscale("log")
        ax.set_xlabel(p, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("validation score", fontsize=9)
    fig.suptitle(f"{name}: search trials (hollow: pruned; red edge: best)", fontsize=10, x=0.02, ha="left")
    return _svg(fig)

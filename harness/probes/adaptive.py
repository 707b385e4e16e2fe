"""An adaptive run's probes, sized for the decision: each probe whose figure is a mean of per-item changes is
evaluated in its seeded order in rounds of `adaptive.round`, and after each round an anytime-valid sequence on the
paired change strategy − base (harness.measure.sequential, the betting sequence, on differences in [-1, 1])
decides. It stops when every figure's sequence settles (excludes 0: a change is shown; lies within
±`adaptive.side_margin`: none beyond it), or when the items run out. Those probes:

  forgetting      each multiple-choice set: accuracy (1 where the model picked the answer); with
                  `max_forgetting_drop` set, a sequence that still holds -limit is not settled (the veto's side
                  is not known yet)
  counterfactual  the pairs: abs_metric_gap and changed, both
  refusal         the unanswerable qa questions: says_unknown

BBQ (its bias scores are ratios over a condition's items, not means of per-item changes) and perplexity (an
unbounded negative log-likelihood) are scored in full, as in a fixed-n run.

The base model is scored lazily: on the items some strategy needs, when it first needs them (the run cache keeps
them), and its recorded figures are over the most items any strategy used (`finish_base`).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from harness.measure.sequential import SequenceBound, anytime_difference, paired_sequence, side_rounds
from harness.probes.measured import Outcomes, ProbeSets, base_model, outcomes
from harness.probes.summary import compare
from harness.record.results import SideBound, SideStop

Key = tuple[str, str]  # (measurement, set): ("forgetting", "forgetting"), ("counterfactual", "pairs"), ...


def keys(sets: ProbeSets, loglik: bool) -> dict[Key, int]:
    """The adaptive probes of a run and how many items each has."""
    found: dict[Key, int] = {("forgetting", name): len(items) for name, items in sets.choice.items() if loglik}
    if sets.pairs:
        found["counterfactual", "pairs"] = len(sets.pairs)
    if sets.unanswerable:
        found["refusal", "qa_unanswerable"] = len(sets.unanswerable)
    return {key: n for key, n in found.items() if n}


def fixed_part(sets: ProbeSets) -> ProbeSets:
    """What is scored in full: BBQ and perplexity."""
    return ProbeSets({}, sets.bbq, sets.texts, [], [])


def only(sets: ProbeSets, key: Key, lo: int, hi: int) -> ProbeSets:
    """Items lo..hi of one adaptive probe, nothing else."""
    kind, name = key
    return ProbeSets({name: sets.choice[name][lo:hi]} if kind == "forgetting" else {}, {}, [],
                     sets.pairs[lo:hi] if kind == "counterfactual" else [],
                     sets.unanswerable[lo:hi] if kind == "refusal" else [])


def cut(sets: ProbeSets, used: dict[Key, int]) -> ProbeSets:
    """The run's probe items with each adaptive probe cut to the items used (one not used at all left out)."""
    n = lambda kind, name: used.get((kind, name), 0)  # noqa: E731
    return replace(sets, choice={k: v[:n("forgetting", k)] for k, v in sets.choice.items() if n("forgetting", k)},
                   pairs=sets.pairs[:n("counterfactual", "pairs")],
                   unanswerable=sets.unanswerable[:n("refusal", "qa_unanswerable")])


def extend(out: Outcomes, more: Outcomes) -> None:
    """Append `more` (the next items of some probes) to `out`."""
    for name, values in more.choice.items():
        out.choice[name] = np.concatenate([out.choice.get(name, np.zeros(0)), values])
    if more.pairs is not None:
        out.pairs = {k: (out.pairs or {}).get(k, []) + v for k, v in more.pairs.items()}
    if more.refused is not None:
        out.refused = more.refused if out.refused is None else np.concatenate([out.refused, more.refused])
    out.bbq.update(more.bbq)
    if more.nll is not None:
        out.nll, out.nll_total = more.nll, more.nll_total


def head(out: Outcomes, used: dict[Key, int]) -> Outcomes:
    """`out` with each adaptive probe's outcomes cut to the items used."""
    n = lambda kind, name: used.get((kind, name), 0)  # noqa: E731
    pairs = n("counterfactual", "pairs")
    return Outcomes(choice={k: v[:n("forgetting", k)] for k, v in out.choice.items() if n("forgetting", k)},
                    bbq=out.bbq, nll=out.nll, nll_total=out.nll_total,
                    pairs={k: v[:pairs] for k, v in out.pairs.items()} if out.pairs and pairs else None,
                    refused=out.refused[:n("refusal", "qa_unanswerable")] if out.refused is not None
                    and n("refusal", "qa_unanswerable") else None)


def figures(key: Key, mine: Outcomes, base: Outcomes, n: int, alpha: float) -> dict[str, SequenceBound]:
    """Each figure's sequence on the paired change strategy − base over the first n items ({} where a figure
    is not bounded in [0, 1] per item: then the probe runs to its end)."""
    kind, name = key
    if kind == "forgetting":
        return {"accuracy": paired_sequence(mine.choice[name][:n] - base.choice[name][:n], alpha)}
    if kind == "refusal":
        return {"says_unknown": paired_sequence(mine.refused[:n] - base.refused[:n], alpha)}
    gap = lambda o: np.abs(np.asarray(o.pairs["orig"][:n]) - np.asarray(o.pairs["swap"][:n]))  # noqa: E731
    if max(gap(mine).max(), gap(base).max()) > 1:
        return {}
    changed = np.asarray(mine.pairs["changed"][:n]) - np.asarray(base.pairs["changed"][:n])
    return {"abs_metric_gap": paired_sequence(gap(mine) - gap(base), alpha),
            "changed": paired_sequence(changed, alpha)}


class LazyBase:
    """The base model's outcomes on the adaptive probes, scored on the items a strategy first needs."""

    def __init__(self, ctx, sets: ProbeSets):
        self.ctx, self.sets = ctx, sets
        self.out, self.have, self.seconds = Outcomes(), {}, 0.0

    def upto(self, key: Key, n: int) -> Outcomes:
        if self.have.get(key, 0) < n:
            start = time.perf_counter()
            extend(self.out, outcomes(self.ctx, only(self.sets, key, self.have.get(key, 0), n), base_model(self.ctx)))
            self.have[key] = n
            self.seconds += time.perf_counter() - start
        return self.out


def measure(ctx, sets: ProbeSets, fixed_base: Outcomes, lazy: LazyBase, adapted) -> tuple[dict, list[SideStop]]:
    """A strategy's probe figures against the base's (probe.compare), each adaptive probe stopped when its
    sequences settle; and where each stopped."""
    cfg = ctx.config
    raw, used, stops = outcomes(ctx, fixed_part(sets), adapted), {}, []
    limit = cfg.decision.constraints.max_forgetting_drop
    for key, available in keys(sets, adapted.model.supports_loglik).items():
        mine = Outcomes()

        def look(n: int, key=key, mine=mine) -> dict[str, SequenceBound]:
            have = len(mine.choice.get(key[1], [])) if key[0] == "forgetting" else (
                len(mine.pairs["orig"]) if mine.pairs else len(mine.refused) if mine.refused is not None else 0)
            extend(mine, outcomes(ctx, only(sets, key, have, n), adapted))
            return figures(key, mine, lazy.upto(key, n), n, cfg.decision.alpha)

        limits = {"accuracy": -limit} if key[0] == "forgetting" and limit is not None else None
        found = side_rounds(available, cfg.adaptive.round, cfg.adaptive.side_margin, look, limits)
        used[key] = found.n
        extend(raw, mine)
        stops.append(SideStop.of(key[0], key[1], found, available, cfg.adaptive.side_margin))
    base = head(lazy.out, used)
    extend(base, fixed_base)
    found = compare(ctx, cut(sets, used), base, head(raw, used))
    for stop in stops:
        if stop.stopped != "exhausted":
            for figure, bound in stop.sequences.items():
                _swap(found, stop, figure, bound)
    return found, stops


def _swap(found: dict, stop: SideStop, figure: str, bound: SideBound) -> None:
    """The change's interval, where its probe stopped early: the sequence's (anytime_difference)."""
    if stop.measurement == "forgetting":
        entry = found["forgetting"]["sets"][stop.set]
        entry["delta"] = anytime_difference(entry["delta"], bound, stop.items_used, stop.items_available)
    elif stop.measurement == "refusal":
        entry = found["refusal"][stop.set]
        entry["delta"] = anytime_difference(entry["delta"], bound, stop.items_used, stop.items_available)
    else:
        delta = found["bias"]["counterfactual"]["delta"]
        delta[figure] = anytime_difference(delta[figure], bound, stop.items_used, stop.items_available)


def used_by(record) -> dict[Key, int]:
    """The most items of each adaptive probe any strategy of the record used (what the base is described on)."""
    most: dict[Key, int] = {}
    for result in record.strategies.values():
        for stop in result.side_stops:
            if stop.measurement != "overfitting":
                key = (stop.measurement, stop.set)
                most[key] = max(most.get(key, 0), stop.items_used)
    return most


def finish_base(lazy: LazyBase, fixed_base: Outcomes, record) -> tuple[ProbeSets, Outcomes]:
    """The base's items and outcomes as recorded: BBQ and perplexity in full, each adaptive probe on the most
    items a strategy used (scored now where this process has not: a resumed run's, through the cache)."""
    used = used_by(record)
    for key, n in used.items():
        lazy.upto(key, n)
    base = head(lazy.out, used)
    extend(base, fixed_base)
    return cut(lazy.sets, used), base

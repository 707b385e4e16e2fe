"""Adaptive side measurements: the overfitting samples and the probes stop when their own anytime-valid sequences
settle (harness.runs.adaptive_side, harness.probes.adaptive). On the tiny model: a train-test gap that is plain
stops the train sample early ("change"), a forgetting probe on which the prompt and the base agree stops within
the margin ("no_change"); each stop is recorded and shown, a resumed run replays it, and a fixed-n run measures
everything as before. By simulation: the sequences' stops keep their level."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from harness.cli.main import app
from harness.measure.sequential import (SequenceBound, gap_sequence, mean_sequence, paired_sequences_at, settles,
                                        side_rounds)

# --- the rule ----------------------------------------------------------------------------------------------------


def _bound(lower, upper):
    return SequenceBound(lower, upper, 16, (lower + upper) / 2, 0.05)


def test_a_sequence_settles_on_a_change_or_within_the_margin_and_not_while_it_holds_a_limit():
    assert settles(_bound(0.01, 0.3), 0.1) == "change" and settles(_bound(-0.3, -0.01), 0.1) == "change"
    assert settles(_bound(-0.05, 0.08), 0.1) == "no_change"
    assert settles(_bound(-0.05, 0.2), 0.1) is None  # neither: go on
    assert settles(_bound(-0.3, -0.01), 0.1, limit=-0.1) is None  # a drop shown, but is it beyond the limit?
    assert settles(_bound(-0.3, -0.12), 0.1, limit=-0.1) == "change"
    assert settles(_bound(-0.05, 0.08), 0.1, limit=-0.02) is None


def test_side_rounds_stop_at_the_first_settled_look_or_at_the_end():
    seen = []

    def look(n):
        seen.append(n)
        return {"x": _bound(0.1, 0.2) if n >= 32 else _bound(-0.5, 0.5)}

    found = side_rounds(70, 16, 0.1, look)
    assert (found.stopped, found.n, seen) == ("change", 32, [16, 32])
    seen.clear()
    found = side_rounds(40, 16, 0.1, lambda n: seen.append(n) or {"x": _bound(-0.5, 0.5)})
    assert (found.stopped, found.n, seen) == ("exhausted", 40, [16, 32, 40])
    assert side_rounds(20, 16, 0.1, lambda n: {}).stopped == "exhausted"  # no sequence (unbounded scores): in full


def test_the_gap_sequence_is_the_two_means_sequences_at_half_the_level():
    rng = np.random.default_rng(0)
    a, b = rng.beta(4, 6, 24), rng.beta(4, 6, 40)
    gap, sa, sb = gap_sequence(a, b, 0.05), mean_sequence(a, 0.025), mean_sequence(b, 0.025)
    assert gap.lower == pytest.approx(sa.lower - sb.upper) and gap.upper == pytest.approx(sa.upper - sb.lower)
    assert gap.mean == pytest.approx(a.mean() - b.mean()) and gap.n == 24
    assert sa.lower <= a.mean() <= sa.upper


# --- validity, by simulation (no true change: a "change" stop is a false one) -----------------------------------


def _gap_looks(train, test, alpha, looks):
    """The gap sequence at every look at once (what gap_sequence gives on each prefix of train)."""
    a = paired_sequences_at(2 * train - 1, alpha / 2, looks)
    b = paired_sequences_at(2 * test - 1, alpha / 2, [len(test)])[0]
    return [((x.lower + 1) / 2 - (b.upper + 1) / 2, (x.upper + 1) / 2 - (b.lower + 1) / 2) for x in a]


def test_a_train_sample_with_no_true_gap_rarely_stops_on_a_change_however_often_it_is_looked_at(capsys):
    """1,000 train samples of 96 looked at every 16 against a test split of 48, both from the same Beta(4, 6)
    scores: the sequence stops on a (false) gap in at most alpha of them; Welch's fixed-n interval, looked at the
    same way, does so more often."""
    rng, alpha, looks = np.random.default_rng(1), 0.05, [16, 32, 48, 64, 80, 96]
    false_seq = false_fixed = 0
    for _ in range(1000):
        train, test = rng.beta(4, 6, 96), rng.beta(4, 6, 48)
        false_seq += any(lo > 0 or hi < 0 for lo, hi in _gap_looks(train, test, alpha, looks))
        z = 1.96
        false_fixed += any(abs(train[:n].mean() - test.mean()) > z * np.sqrt(train[:n].var(ddof=1) / n
                                                                              + test.var(ddof=1) / len(test))
                           for n in looks)
    with capsys.disabled():
        print(f"\nfalse gaps, 1,000 A/A runs, 6 looks: sequence {false_seq / 1000:.3f}, "
              f"Welch at every look {false_fixed / 1000:.3f}")
    assert false_seq / 1000 <= alpha and false_fixed > false_seq


def test_a_probe_with_a_real_drop_beyond_the_margin_rarely_stops_as_no_change():
    """A probe of 120 items in rounds of 16, the strategy losing 20% of the items and gaining 5% (a drop of 0.15,
    beyond the 0.1 margin): "no_change" (a false all-clear) in at most alpha of 1,000 runs; with no true change,
    "change" (a false alarm) in at most alpha too."""
    rng, alpha = np.random.default_rng(2), 0.05
    for p_lose, p_gain, wrong in ((0.20, 0.05, "no_change"), (0.10, 0.10, "change")):
        errors = 0
        for _ in range(1000):
            u = rng.random(120)
            diffs = np.where(u < p_lose, -1.0, np.where(u > 1 - p_gain, 1.0, 0.0))
            looks = list(range(16, 120, 16)) + [120]
            table = dict(zip(looks, paired_sequences_at(diffs, alpha, looks)))
            errors += side_rounds(120, 16, 0.1, lambda n: {"accuracy": table[n]}).stopped == wrong
        assert errors / 1000 <= alpha, (wrong, errors)


# --- on the tiny model -------------------------------------------------------------------------------------------


def _task(tmp_path):
    """Two labels told apart by their words; the test split's labels are the other way round, so a head that
    learns the train split is right on all of it and wrong on the test: a plain train - test gap."""
    rng = random.Random(0)
    words = {"health": ["hospital", "nurses", "patients", "wait"], "money": ["profit", "shares", "revenue", "investors"]}
    seen: set[str] = set()

    def text(label: str) -> str:
        while (t := " ".join(rng.choice(words[label]) for _ in range(8))) in seen:
            pass
        seen.add(t)
        return t

    flip = {"health": "money", "money": "health"}
    for split, n in (("train", 40), ("test", 48)):
        rows = [{"id": f"{split}-{i}", "input": text(label), "reference": flip[label] if split == "test" else label}
                for i in range(n) for label in ["health" if i % 2 else "money"]]
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "task.yaml").write_text(
        "name: tiny-flip\nkind: classification\ninstruction: Route the report.\n"
        "labels: {health: hospital, money: profit}\n"
        "splits: {train: train.jsonl, test: test.jsonl}\nmetrics: [accuracy]\n")
    config = {"overfit_sample": 40, "latency_requests": 0,
              "probes": {"items": 64, "counterfactual_pairs": 0, "perplexity": False, "bbq": []}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "task.yaml", tmp_path / "run.yaml"


def _run(tmp_path, tiny_dir, out: str, *flags: str):
    task, config = _task(tmp_path)
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--task", str(task), "--model", str(tiny_dir),
                                      "--strategies", "prompt,head", "--out", str(tmp_path / out), *flags])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / out).iterdir())
    return run_dir, json.loads((run_dir / "run.json").read_text())


def _rows(run_dir, name: str, split: str) -> list[str]:
    return (run_dir / "predictions" / f"{name}.{split}.jsonl").read_text().splitlines()


@pytest.fixture(scope="module")
def adaptive_run(tmp_path_factory, tiny_dir):
    tmp = tmp_path_factory.mktemp("side")
    return _run(tmp, tiny_dir, "adaptive", "--adaptive")


def test_side_measurements_stop_when_their_sequences_settle(adaptive_run):
    run_dir, rec = adaptive_run
    head, prompt = rec["strategies"]["head"], rec["strategies"]["prompt"]
    stops = {(s["measurement"], s["set"]): s for s in head["side_stops"]}
    train = stops["overfitting", "train_sample"]  # train accuracy 1, test 0: the gap is shown at the first look
    assert train["stopped"] == "change" and train["items_used"] == 16 < train["items_available"] == 40
    assert train["sequences"]["accuracy"]["lower"] > 0 and train["margin"] == 0.1
    assert len(_rows(run_dir, "head", "train_sample")) == head["counts"]["train_sample"]["examples"] == 16
    gap = head["overfitting"]["train_minus_test"]["accuracy"]  # the sequence's interval, not the bootstrap's
    assert gap["n_a"] == 16 and gap["p_value"] is None and "anytime-valid" in gap["test"]
    assert (gap["ci_low"], gap["ci_high"]) == (train["sequences"]["accuracy"]["lower"],
                                               train["sequences"]["accuracy"]["upper"])
    # the prompt scores the probes as the base does: no change, shown within the margin before the 64 items end
    forgetting = next(s for s in prompt["side_stops"] if s["measurement"] == "forgetting")
    assert forgetting["stopped"] == "no_change" and forgetting["items_used"] < forgetting["items_available"] == 64
    bound = forgetting["sequences"]["accuracy"]
    assert -0.1 < bound["lower"] <= bound["upper"] < 0.1 and bound["n"] == forgetting["items_used"]
    delta = prompt["forgetting"]["sets"]["forgetting"]["delta"]
    assert delta["n"] == forgetting["items_used"] and delta["p_value"] is None
    # the base is described on the most items a strategy used (head is no PromptedModel: no probes)
    assert rec["base"]["forgetting"]["forgetting"]["accuracy"]["n"] == forgetting["items_used"]
    assert all(s["measurement"] == "overfitting" for s in head["side_stops"]) and head["forgetting"]["skipped"]
    report = (run_dir / "report.md").read_text()
    assert "| head | overfitting · train_sample | 16 of 40 | a change is shown" in report
    assert f"| prompt | forgetting · forgetting | {forgetting['items_used']} of 64 | no change beyond" in report
    assert "side measurement" in (run_dir / "report.html").read_text()


def test_a_resumed_run_replays_the_side_stops(adaptive_run, tmp_path):
    run_dir, rec = adaptive_run
    copy = tmp_path / "resumed"
    shutil.copytree(run_dir, copy)
    before = {n: _rows(copy, n, "train_sample") for n in ("head", "prompt")}
    interrupted = rec | {"status": "interrupted", "strategies": {}, "adaptive": None, "comparisons": [],
                         "cost_ledger": None, "recommendation": None}
    (copy / "run.json").write_text(json.dumps(interrupted))
    result = CliRunner().invoke(app, ["run", "--resume", str(copy)])
    assert result.exit_code == 0, result.output
    again = json.loads((copy / "run.json").read_text())
    for n in ("head", "prompt"):
        assert again["strategies"][n]["side_stops"] == rec["strategies"][n]["side_stops"]
        assert _rows(copy, n, "train_sample") == before[n]  # nothing predicted again, nothing added
    assert again["base"]["forgetting"] == rec["base"]["forgetting"]


def test_a_fixed_n_run_measures_every_side_item(tmp_path, tiny_dir):
    run_dir, rec = _run(tmp_path, tiny_dir, "full", "--full")
    for name, result in rec["strategies"].items():
        assert result["side_stops"] == [] and result["counts"]["train_sample"]["examples"] == 40
        assert "anytime" not in result["overfitting"]["train_minus_test"]["accuracy"]["test"]
    delta = rec["strategies"]["prompt"]["forgetting"]["sets"]["forgetting"]["delta"]
    assert delta["n"] == 64 and delta["p_value"] is not None
    assert rec["base"]["forgetting"]["forgetting"]["accuracy"]["n"] == 64
    assert "side measurement" not in (run_dir / "report.md").read_text()

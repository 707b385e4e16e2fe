"""Issue #27: "no drop" says what drop the probe could have seen. A probe the base model answers at chance is marked
not informative and the constraint resting on it is not measured; the reports say so in words."""

from __future__ import annotations

import copy
import itertools

import numpy as np

from harness.config import validate
from harness.strategy.context import RunContext
from harness.backends.cache import Cache
from harness.decide.recommend import violations, worst_forgetting
from harness.backends.hf import wrap
from harness.measure.power import detectable_drop
from harness.record.recommendation import CostRow
from harness.record.results import StrategyResult
from harness.tasks.load import load_task
from tests.conftest import write_jsonl
from runfixtures import analysed, make_run

WORDS = ["Report", "Question", "Context", "the", ":"]


def _options(i: int) -> list[str]:
    perms = list(itertools.permutations(WORDS, 2))
    return [" " + " ".join(perms[(i * 4 + k) % len(perms)]) for k in range(4)]


def _probe_files(handle, tmp_path, n: int = 40):
    """Two probe sets on the same items: 'known' answered as the base model picks (base accuracy 1), 'chance'
    answered as it picks on every fourth item only (base accuracy 0.25 with 4 options: chance)."""
    from harness.backends.hf_generate import score_choices
    from harness.probes.probe import pick

    items = [(" ".join(WORDS[(i + k) % 5] for k in range(3 + i % 4)), _options(i)) for i in range(n)]
    picks = [pick(s) for s in score_choices(handle, items)]
    known = [{"id": f"k{i}", "context": c, "choices": o, "answer": p} for i, ((c, o), p) in enumerate(zip(items, picks))]
    chance = [{"id": f"c{i}", "context": c, "choices": o, "answer": p if i % 4 == 0 else (p + 1) % 4}
              for i, ((c, o), p) in enumerate(zip(items, picks))]
    return write_jsonl(tmp_path / "known.jsonl", known), write_jsonl(tmp_path / "chance.jsonl", chance)


def test_a_probe_at_chance_is_not_informative_and_its_constraint_unmeasured(tiny_handle, tmp_path):
    import torch

    from harness.probes import probe as probes
    from harness.strategy.prompted import PromptedModel

    known, chance = _probe_files(tiny_handle, tmp_path)
    cfg = validate({"task": "summarization", "max_new_tokens": 4, "decision": {"constraints": {"max_forgetting_drop": 0.0}},
                    "probes": {"items": 0, "forgetting": [str(known), str(chance)], "bbq": [], "perplexity": False,
                               "counterfactual_pairs": 0}})
    ctx = RunContext(cfg, load_task("summarization", limit=4), tiny_handle, Cache(tmp_path / "c.sqlite"))
    probing = probes.Probes(ctx)
    base = probing.measure_base()
    assert base.forgetting["known"].accuracy.value == 1.0 and base.forgetting["chance"].accuracy.value == 0.25
    model = copy.deepcopy(tiny_handle.model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    tuned = wrap(model, tiny_handle.tokenizer, name="tuned")
    adapted = PromptedModel("full", ctx, fingerprint=tuned.fingerprint, model=tuned, adapter=tuned.fingerprint)
    res = probing.measure(adapted)
    sets = res.forgetting.sets
    assert sets["known"].informative and not sets["chance"].informative
    # the detectable drop: from the 40 items and the share of items the two models disagree on, never below the
    # drop a probe of 40 items could detect if the strategy only lost items
    raw, base_raw = probes.outcomes(ctx, probing.sets, adapted), probing.base
    for name, s in sets.items():
        disagree = float(np.mean(raw.choice[name] != base_raw.choice[name]))
        assert s.detectable == detectable_drop(40, discordance=disagree) >= detectable_drop(40)
    trained = {"fingerprint": "full", "cost": {"trainable_params": 10}}
    both = StrategyResult.model_validate(trained | {"forgetting": res.forgetting})
    assert worst_forgetting(both).where == "known"
    only_chance = StrategyResult.model_validate(trained | {"forgetting": {"sets": {"chance": sets["chance"]}}})
    assert worst_forgetting(only_chance) is None  # rests only on a probe the base cannot do: not measured
    row = CostRow(device="cpu", pricing="per hour", setup_seconds=0, dollars_per_hour=1, setup_dollars=0,
                  dollars_per_query=0, dollars_per_month=0, horizon_dollars=0)
    assert not [v for v in violations(only_chance, row, cfg.decision) if v.constraint == "max_forgetting_drop"]



# --- the record's words: report rows and the verdict's why-lines ----------------------------------------------------

def _score(value: float, low: float, high: float, n: int) -> dict:
    return {"metric": "accuracy", "value": value, "ci_low": low, "ci_high": high, "n": n, "higher_is_better": True}


def _probe(base: tuple, adapted: tuple, delta: float, detectable: float | None, informative: bool, n: int = 60) -> dict:
    return {"chance": 0.25, "base": _score(*base, n), "adapted": _score(*adapted, n),
            "delta": {"value": delta, "ci_low": delta - 0.1, "ci_high": delta + 0.1, "n": n, "p_value": 0.2,
                      "test": "exact McNemar"},
            "detectable": detectable, "informative": informative}


def _run(tmp_path, sets: dict, limit: float | None = 0.05):
    from harness.record.results import BaseProbes
    from reports import html, markdown

    strategies = {"prompt": {"scores": [0.0, 1.0] * 15},
                  "lora": {"scores": [1.0] * 30, "setup_seconds": 60, "trainable_params": 10**6,
                           "forgetting": {"sets": sets}}}
    store = make_run(tmp_path, strategies, decision={"constraints": {"max_forgetting_drop": limit}})
    record = store.read()
    record.base = BaseProbes(model_fingerprint="0" * 16)  # the probe sections render against a base
    store.write(record)
    return analysed(store), markdown.render(store), html.render(store)


def test_a_constraint_resting_only_on_a_probe_at_chance_is_not_measured_and_the_report_says_why(tmp_path):
    """ARC-Challenge-like: the base at 0.267 [0.183, 0.350] with chance 0.25. A drop of 0.15 there (over the
    0.05 limit) vetoed lora before; now the probe could not have seen a drop, so the constraint is not measured."""
    record, md, page = _run(tmp_path, {"arc": _probe((0.267, 0.183, 0.35), (0.117, 0.05, 0.2), -0.15, 0.2, False)})
    r = record.recommendation
    assert r.forgetting is None and "lora" not in r.vetoed and r.recommended == "lora"
    assert "| lora | arc (chance 0.25) · not informative (base at chance) | 0.267 [0.183, 0.350] |" in md
    assert "Not informative for this model: arc: the base model is not above chance there" in md
    why = next(line for line in md.splitlines() if "probes 'arc' (base 0.267" in line)
    assert "not informative for this model" in why and "the forgetting constraint is not measured" in why
    assert "use a probe the base model can do" in why and "no drop" not in why
    assert "arc · not informative (base at chance)" in page and "the forgetting constraint is not measured" in page


def test_why_line_says_no_drop_detectable_above_the_probe_s_reach(tmp_path):
    weak, md, _ = _run(tmp_path / "weak", {"arc": _probe((0.6, 0.48, 0.72), (0.6, 0.48, 0.72), 0.0, 0.367, True, 20)})
    assert weak.recommendation.forgetting.detectable == 0.367
    assert "lora: no drop detectable above 0.367 on the forgetting probes (+0.000 on 'arc'" in md
    assert "| lora | arc (chance 0.25) | 0.600 [0.480, 0.720] | 0.600 [0.480, 0.720] |" in md and "| 0.367 |" in md
    strong, md, _ = _run(tmp_path / "strong", {"arc": _probe((0.6, 0.55, 0.65), (0.61, 0.56, 0.66), 0.01, 0.03, True, 900)})
    assert "lora: no drop on the forgetting probes (-0.010; a drop of 0.030 would have been seen)" in md
    assert "detectable above" not in md
    # a drop is reported beside what the probe could see; without a limit a probe that misses 0.05 is weak
    fell, md, _ = _run(tmp_path / "fell", {"arc": _probe((0.6, 0.5, 0.7), (0.5, 0.4, 0.6), -0.1, 0.2, True)}, None)
    assert "accuracy fell by 0.100 on the 'arc' probes (its largest drop; the paired test detects drops from 0.200)" in md


def test_dry_run_warns_when_the_probe_size_cannot_detect_max_forgetting_drop(tmp_path, tiny_dir):
    import yaml
    from typer.testing import CliRunner

    from harness.cli.main import app
    from harness.runs.dryrun import probe_warnings
    from harness.config import build_config

    def config(limit, drop, items=120):
        return build_config({"task": "summarization", "limit": limit, "probes": {"items": items},
                             "decision": {"constraints": {"max_forgetting_drop": drop}}})

    (warning,) = probe_warnings(config(40, 0.1))  # 20 items: at best a drop of 0.367 is seen
    assert "has 20 items" in warning and f"detects drops from {detectable_drop(20):.3f}" in warning
    assert "max_forgetting_drop 0.1" in warning
    assert probe_warnings(config(None, 0.1)) == []  # 120 items see 0.066 at best
    assert probe_warnings(config(40, None)) == []  # no limit: nothing to miss
    assert "cannot detect any drop" in probe_warnings(config(8, 0.1))[0]  # 4 items never reach p < 0.05
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(yaml.safe_dump({"decision": {"constraints": {"max_forgetting_drop": 0.1}}}))
    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4",
                                      "--max-new-tokens", "4", "--strategies", "prompt", "--out", str(tmp_path / "o"),
                                      "--config", str(run_yaml), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "forgetting probe 'forgetting' has 2 items" in " ".join(result.output.split())


def test_without_a_constraint_the_why_line_claims_none_unmeasured(tmp_path):
    """The same probe at chance with no max_forgetting_drop set: it is still not informative, and no constraint is
    said to be unmeasured (there is none)."""
    record, md, _ = _run(tmp_path, {"arc": _probe((0.267, 0.183, 0.35), (0.117, 0.05, 0.2), -0.15, 0.2, False)},
                         limit=None)
    why = next(line for line in md.splitlines() if "probes 'arc' (base 0.267" in line)
    assert "not informative for this model" in why and "constraint" not in why

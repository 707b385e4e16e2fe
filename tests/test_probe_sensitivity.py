"""Issue #27: "no drop" says what drop the probe could have seen. A probe the base model answers at chance is marked
not informative and the constraint resting on it is not measured; the reports say so in words."""

from __future__ import annotations

import copy
import itertools

import numpy as np

from harness.config import validate
from harness.context import RunContext
from harness.cache import Cache
from harness.decide import violations, worst_forgetting
from harness.models import wrap
from harness.power import detectable_drop
from harness.recommendation import CostRow
from harness.results import StrategyResult
from harness.tasks import load_task
from tests.conftest import write_jsonl
from runfixtures import analysed, make_run

WORDS = ["Report", "Question", "Context", "the", ":"]


def _options(i: int) -> list[str]:
    perms = list(itertools.permutations(WORDS, 2))
    return [" " + " ".join(perms[(i * 4 + k) % len(perms)]) for k in range(4)]


def _probe_files(handle, tmp_path, n: int = 40):
    """Two probe sets on the same items: 'known' answered as the base model picks (base accuracy 1), 'chance'
    answered as it picks on every fourth item only (base accuracy 0.25 with 4 options: chance)."""
    from harness.generate import score_choices
    from harness.probes import pick

    items = [(" ".join(WORDS[(i + k) % 5] for k in range(3 + i % 4)), _options(i)) for i in range(n)]
    picks = [pick(s) for s in score_choices(handle, items)]
    known = [{"id": f"k{i}", "context": c, "choices": o, "answer": p} for i, ((c, o), p) in enumerate(zip(items, picks))]
    chance = [{"id": f"c{i}", "context": c, "choices": o, "answer": p if i % 4 == 0 else (p + 1) % 4}
              for i, ((c, o), p) in enumerate(zip(items, picks))]
    return write_jsonl(tmp_path / "known.jsonl", known), write_jsonl(tmp_path / "chance.jsonl", chance)


def test_a_probe_at_chance_is_not_informative_and_its_constraint_unmeasured(tiny_handle, tmp_path):
    import torch

    from harness import probes
    from harness.adapted import PromptedModel

    known, chance = _probe_files(tiny_handle, tmp_path)
    cfg = validate({"task": "summarization", "max_new_tokens": 4, "decision": {"constraints": {"max_forgetting_drop": 0.0}},
                    "probes": {"items": 0, "forgetting": [str(known), str(chance)], "bbq": [], "perplexity": False,
                               "counterfactual_pairs": 0}})
    ctx = RunContext(cfg, load_task("summarization", limit=4), tiny_handle, Cache(tmp_path / "c.sqlite"))
    base = probes.measure_base(ctx)
    assert base.forgetting["known"].accuracy.value == 1.0 and base.forgetting["chance"].accuracy.value == 0.25
    model = copy.deepcopy(tiny_handle.model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    tuned = wrap(model, tiny_handle.tokenizer, name="tuned")
    adapted = PromptedModel("full", ctx, fingerprint=tuned.fingerprint, model=tuned, adapter=tuned.fingerprint)
    res = probes.measure(ctx, adapted)
    sets = res.forgetting.sets
    assert sets["known"].informative and not sets["chance"].informative
    # the detectable drop: from the 40 items and the share of items the two models disagree on, never below the
    # drop a probe of 40 items could detect if the strategy only lost items
    raw, base_raw = probes.outcomes(ctx, adapted), ctx._probe_base
    for name, s in sets.items():
        disagree = float(np.mean(raw["choice"][name] != base_raw["choice"][name]))
        assert s.detectable == detectable_drop(40, discordance=disagree) >= detectable_drop(40)
    trained = {"fingerprint": "full", "cost": {"trainable_params": 10}}
    both = StrategyResult.model_validate(trained | {"forgetting": res.forgetting})
    assert worst_forgetting(both).where == "known"
    only_chance = StrategyResult.model_validate(trained | {"forgetting": {"sets": {"chance": sets["chance"]}}})
    assert worst_forgetting(only_chance) is None  # rests only on a probe the base cannot do: not measured
    row = CostRow(device="cpu", pricing="per hour", setup_seconds=0, dollars_per_hour=1, setup_dollars=0,
                  dollars_per_query=0, dollars_per_month=0, horizon_dollars=0)
    assert not [v for v in violations(only_chance, row, cfg.decision) if v.constraint == "max_forgetting_drop"]


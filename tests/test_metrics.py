import numpy as np
import pytest

from harness.measure.metrics import exact_match, normalize_answer, score, token_f1
from harness.measure.stats import bootstrap_ci


def test_rouge_identical_and_disjoint():
    s = score(["rouge1", "rouge2", "rougeL"], "the cat sat on the mat", ["the cat sat on the mat"])
    assert s == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert score(["rougeL"], "dogs bark", ["the cat sat"])["rougeL"] == 0.0


def test_rouge_uses_stemming_and_best_reference():
    assert score(["rouge1"], "running cats", ["run cat"])["rouge1"] == 1.0
    several = score(["rougeL"], "profits rose 4%", ["sales fell", "profits rose 4%"])["rougeL"]
    assert several == 1.0


def test_squad_normalization_exact_match_and_f1():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert exact_match("the 1987\nextra line", ["1987"]) == 1.0
    assert exact_match("1988", ["1987"]) == 0.0
    assert token_f1("Mira Kestane", ["Kestane"]) == pytest.approx(2 / 3)


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.normal(0.5, 0.1, 20)
    large = rng.normal(0.5, 0.1, 2000)
    m, lo, hi = bootstrap_ci(small)
    assert lo < m < hi
    m2, lo2, hi2 = bootstrap_ci(large)
    assert (hi2 - lo2) < (hi - lo)
    # a known case: the CI of a normal mean is about +-1.96 sd/sqrt(n)
    assert hi2 - lo2 == pytest.approx(2 * 1.96 * 0.1 / np.sqrt(2000), rel=0.2)


def test_bootstrap_degenerate_samples():
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert bootstrap_ci([0.3]) == (0.3, 0.3, 0.3)


def test_paired_difference_binary_uses_exact_mcnemar():
    from harness.measure.stats import paired_difference

    a = [1] * 10 + [0] * 10
    b = [0] * 10 + [0] * 10  # a wins 10 discordant pairs, loses none
    res = paired_difference(a, b)
    assert res.test == "exact McNemar" and res.value == 0.5
    assert res.p_value == pytest.approx(2 * 0.5**10)
    assert res.ci_low > 0


def test_paired_difference_continuous_and_identical():
    from harness.measure.stats import paired_difference

    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 200)
    better = paired_difference(base + 0.05 + rng.normal(0, 0.01, 200), base)
    assert better.test.startswith("paired sign-flip") and better.p_value < 0.01 and better.ci_low > 0
    same = paired_difference(base, base)
    assert same.value == 0 and same.p_value == 1.0


def test_holm_by_hand():
    from harness.measure.stats import holm

    # sorted p: 0.01*3=0.03, 0.02*2=0.04, 0.04*1 -> max(0.04, 0.04)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])


def test_a_metric_that_needs_the_example_scores_every_row_of_a_run(tmp_path, tiny_dir, monkeypatch):
    """A metric may read the example (its input, its meta): registered in one place, named by a task, it scores
    each prediction with the example it answers."""
    import json

    from conftest import write_jsonl
    from harness.config import validate
    from harness.measure.metrics import Metric, get
    from harness.registry import metrics
    from harness.runs.runner import run
    from harness.types import Example

    seen = []

    def echoes_keyword(output: str, refs: list[str], example: Example) -> float:
        seen.append(example.id)
        return float(example.meta["keyword"] in output.lower())

    get("rougeL")  # the built-in metrics first
    monkeypatch.setitem(metrics._items, "echoes_keyword",
                        Metric("echoes_keyword", echoes_keyword, description="says the example's keyword", needs_example=True))
    def rows_of(split, words):
        return [{"id": f"{split}{i}", "input": f"Say {w}.", "reference": w, "meta": {"keyword": w}}
                for i, w in enumerate(words)]

    rows = rows_of("test", ["apple", "pear", "plum", "fig"])
    files = {"train": str(write_jsonl(tmp_path / "train.jsonl", rows_of("train", ["kiwi", "lime"]))),
             "test": str(write_jsonl(tmp_path / "test.jsonl", rows))}
    path = run(validate({"data": {"files": files, "metrics": ["echoes_keyword"]}, "model": str(tiny_dir),
                         "strategies": ["prompt"], "max_new_tokens": 4, "out": str(tmp_path / "runs"),
                         "overfit_sample": 0, "latency_requests": 0, "probes": {"enabled": False}}))
    saved = [json.loads(line) for line in (path / "predictions" / "prompt.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert sorted(seen) == sorted(r["example_id"] for r in saved) == sorted(by_id)
    for r in saved:
        assert r["scores"]["echoes_keyword"] == float(by_id[r["example_id"]]["meta"]["keyword"] in r["output"].lower())
    with pytest.raises(ValueError, match="reads the example"):
        score(["echoes_keyword"], "apple", ["apple"])

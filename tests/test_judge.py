"""The model judge (harness.judge) against scripted judges on a real OpenAI-compatible HTTP server: a judge that
answers at random is found unvalidated and the verdict falls back; one that always prefers the first position
flips with the order and gives only ties; garbage is unscored and counted; a judge that agrees with the labels
is trusted and decided on; a killed judge pass resumes asking only what is missing."""

from __future__ import annotations

import json
import re
import zlib

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli.main import app
from harness.errors import HarnessError
from harness.judge import calibration as cal
from harness.judge.items import claims
from harness.judge.rubrics import read_grade, read_preference, read_support
from harness.record.store import RunStore
from tests.conftest import write_jsonl
from tests.servers import ScriptedServer


# --- reading replies and the statistics -------------------------------------------------------------------------

def test_replies_are_read_or_said_unreadable():
    assert read_grade(" PASS.", "pass-fail").value == 1.0 and read_grade("It fails.", "pass-fail").value == 0.0
    assert read_grade("Grade: 4", "1-5").value == 0.75 and read_grade("5/5", "1-5").value == 1.0
    assert read_grade("4 out of 5", "1-5").value == 0.75
    assert read_grade("4.5 out of 10", "1-5").value is None  # not a grade on the scale
    garbage = read_grade("lorem ipsum", "pass-fail")
    assert garbage.value is None and "lorem ipsum" in garbage.problem
    echo = read_grade("PASS or FAIL.", "pass-fail")  # a small model repeating the instruction: not a verdict
    assert echo.value is None and "more than one verdict" in echo.problem
    assert read_grade("Between 1 to 5: 2 or 3", "1-5").value is None
    assert read_preference("A").value == "A" and read_preference("Winner: B").value == "B"
    assert read_preference("tie.").value == "tie" and read_preference("Answer B is better").value == "B"
    assert read_preference("A, B, or TIE.").value is None  # the options echoed back
    assert read_preference("They are good, a fine pair.").value is None  # the article "a" is no verdict
    assert read_support("No.").value == 0.0 and read_support("yes").value == 1.0
    assert read_support("not supported").value == 0.0 and read_support("YES (supported) or NO").value is None
    assert claims("Paris is big. It has 2 million people!\nThird line") == [
        "Paris is big.", "It has 2 million people!", "Third line"]
    assert claims("  ") == []


def test_agreement_is_kappa_or_tau_with_a_ci_and_undefined_when_one_side_is_constant():
    truth = [1, 0] * 20
    perfect = cal.agreement(truth, truth, statistic="kappa", against="t")
    assert perfect.value == pytest.approx(1.0) and perfect.raw == 1.0 and perfect.ci_low == pytest.approx(1.0)
    inverted = cal.agreement([1 - t for t in truth], truth, statistic="kappa", against="t")
    assert inverted.value == pytest.approx(-1.0)
    constant = cal.agreement([1] * 40, truth, statistic="kappa", against="t")
    assert constant.value == 0.0 and constant.raw == 0.5  # half agree by luck: no evidence of skill
    undefined = cal.agreement([1] * 40, [1] * 40, statistic="kappa", against="t")
    assert undefined.value is None  # nothing varies: agreement cannot be told from luck
    grades = [0, 0.25, 0.5, 0.75, 1.0] * 6
    tau = cal.agreement(grades, grades, statistic="tau", against="t")
    assert tau.value == pytest.approx(1.0)
    trusted, why = cal.verdict([perfect], 0.4)
    assert trusted and "kappa 1.00" in why
    assert cal.verdict([], 0.4)[0] is False and cal.verdict([constant], 0.4)[0] is False
    assert cal.verdict([undefined], 0.4) == (False, "its kappa against t is undefined: both sides gave every item "
                                                   "the same grade")
    low = cal.agreement([1, 0, 0, 1] * 10, truth, statistic="kappa", against="t")
    assert low.value == pytest.approx(0.0) and not cal.verdict([perfect, low], 0.4)[0]


# --- scripted judges on a real server ---------------------------------------------------------------------------

def _labelled(tmp_path, n: int = 40):
    """Labelled items: half are their reference (pass), half a wrong answer (fail)."""
    rows = [{"id": f"c{i}", "input": f"Question {i}?", "reference": f"answer {i}",
             "output": f"answer {i}" if i % 2 == 0 else f"wrong {i}", "score": int(i % 2 == 0)} for i in range(n)]
    return write_jsonl(tmp_path / "calibration.jsonl", rows)


def _graded(prompt: str) -> tuple[str, str]:
    """The answer to grade and the first reference of a judge-reference prompt."""
    answer = re.search(r"Answer to grade:\n(.*?)(?:<\|im_end\|>|$)", prompt, re.S).group(1).strip()
    reference = re.search(r"Reference answer\(s\):\n- (.*?)\n", prompt, re.S).group(1).strip()
    return answer, reference


def _judge_run(tmp_path, tiny_dir, server, *extra, judge: dict | None = None, out: str = "runs"):
    """prompt (the tiny in-process model) and prompt@api (the scripted server, whose outputs differ from it),
    judged by the same server."""
    cfg = {"models": {"api": {"backend": "openai", "base_url": server.base_url, "id": "scripted",
                              "tokenizer": str(tiny_dir), "concurrency": 2, "max_retries": 1, "timeout": 5.0}},
           "judge": {"model": "api", "calibration": str(_labelled(tmp_path)), **(judge or {})},
           "latency_requests": 0, "overfit_sample": 0}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "6",
                                      "--no-probes", "--strategies", "prompt,prompt@api", "--max-new-tokens", "6",
                                      "--config", str(path), "--out", str(tmp_path / out), *extra])
    return result


def scripted(judging):
    """A server's answer: `judging(prompt)` for the judge's prompts, the prompt's last words for generation."""
    def answer(prompt: str) -> str:
        if "You are a strict grader" in prompt or "You check facts" in prompt:
            return judging(prompt)
        return " ".join(re.findall(r"\w+", prompt.split("<|im_start|>user")[-1])[-5:-2])

    return answer


def _judged(tmp_path, tiny_dir, answer, *extra, judge: dict | None = None):
    """A judged run on a scripted server that answers with `answer`: the run folder, its record, the server."""
    server = ScriptedServer(answer=answer)
    try:
        result = _judge_run(tmp_path, tiny_dir, server, *extra, judge=judge)
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    return (*_record(tmp_path), server)


def _record(tmp_path, out: str = "runs"):
    run_dir = next((tmp_path / out).iterdir())
    return run_dir, json.loads((run_dir / "run.json").read_text())


@scripted
def _random_judge(prompt: str) -> str:
    coin = zlib.crc32(prompt.encode()) % 2
    if "Answer A:" in prompt:
        return ["A", "B"][coin]
    return ["PASS", "FAIL"][coin]


def test_a_judge_at_random_is_unvalidated_and_the_verdict_falls_back(tmp_path, tiny_dir):
    run_dir, rec, _ = _judged(tmp_path, tiny_dir, _random_judge)
    judge = rec["judge"]
    assert abs(judge["labelled"]["value"]) < 0.35 and judge["labelled"]["ci_low"] < 0 < judge["labelled"]["ci_high"]
    assert judge["labelled"]["n"] == 40 and judge["trusted"] is False and "below judge.min_agreement" in judge["reason"]
    assert rec["recommendation"]["metric"] == "rougeL" and rec["recommendation"]["judge_fallback"] == "judge-reference"
    assert set(judge["rubrics"]) == {"judge-reference", "judge-pairwise", "faithfulness"}
    few = rec["strategies"]["prompt@api"]
    assert few["metrics"]["test"]["judge-reference"]["n"] == 6 and few["judged"]["reference"]["unscored"] == 0
    assert judge["cost"]["calls"] >= 40 + 2 * 6 and few["judged"]["cost"]["tokens_in"] > 0
    report = (run_dir / "report.md").read_text()
    assert "so the recommendation rests on rougeL, not on judge-reference" in report
    assert "## Judged quality" in report and "judge unvalidated" in (run_dir / "report.html").read_text()


def test_a_judge_that_prefers_the_first_position_flips_every_pair_and_gives_only_ties(tmp_path, tiny_dir):
    @scripted
    def first(prompt: str) -> str:
        return "A" if "Answer A:" in prompt else "PASS"

    _, rec, _ = _judged(tmp_path, tiny_dir, first, "--seed", "3")
    pairwise = rec["strategies"]["prompt@api"]["judged"]["pairwise"]
    assert pairwise["wins"] == pairwise["losses"] == 0 and pairwise["ties"] == 6
    assert pairwise["identical"] == 0  # the two strategies' outputs differ: every pair is asked both ways
    assert pairwise["flips"] == 6 and pairwise["first_position_wins"] == pairwise["decisive"] == 12
    assert rec["judge"]["flip_rate"]["value"] == 1.0 and rec["judge"]["flip_rate"]["n"] == 6
    assert rec["strategies"]["prompt@api"]["metrics"]["test"]["judge-pairwise"]["value"] == 0.5


def test_garbage_replies_are_unscored_counted_and_retried_once(tmp_path, tiny_dir):
    run_dir, rec, server = _judged(tmp_path, tiny_dir, scripted(lambda prompt: "lorem ipsum dolor"))
    for name in ("prompt", "prompt@api"):
        counts = rec["strategies"][name]["judged"]["reference"]
        assert counts == {"asked": 6, "scored": 0, "unscored": 6, "retried": 6}
        assert "judge-reference" not in rec["strategies"][name]["metrics"]["test"]  # never scored as a failure
    labelled = rec["judge"]["labelled"]
    assert labelled["n"] == 0 and labelled["unscored"] == 40 and labelled["value"] is None
    assert rec["judge"]["trusted"] is False
    assert "could not be measured: 40 of 40 of the judge's replies could not be read" in rec["judge"]["reason"]
    retries = [p for p in server.prompts if "Your reply could not be read" in p]
    assert rec["strategies"]["prompt@api"]["judged"]["pairwise"]["unscored"] == 6
    assert len(retries) == 40 + 6 + 6 + 2 * 6  # every question once more: labelled, both references, both orders
    assert "reference 6 of 6" in (run_dir / "report.md").read_text()


def test_a_judge_that_agrees_with_the_labels_is_trusted_and_decided_on(tmp_path, tiny_dir):
    @scripted
    def truthful(prompt: str) -> str:
        if "Answer A:" in prompt:
            return "TIE"
        answer, reference = _graded(prompt)
        return "PASS" if answer == reference else "FAIL"

    run_dir, rec, _ = _judged(tmp_path, tiny_dir, truthful, judge={"min_agreement": 0.9})
    assert rec["judge"]["labelled"]["value"] == pytest.approx(1.0) and rec["judge"]["trusted"] is True
    assert rec["recommendation"]["metric"] == "judge-reference" and rec["recommendation"]["judge_fallback"] is None
    assert any(c["metric"] == "judge-reference" for c in rec["comparisons"])  # paired tests on judged scores
    assert "rests on judged quality" in (run_dir / "report.md").read_text()


def test_a_killed_judge_pass_resumes_asking_only_what_is_missing(tmp_path, tiny_dir):
    """The judge's server dies part-way through prompt@api's verdicts; after a restart on the same port, --resume
    asks only for the examples without a saved verdict (no cache: the saved verdicts alone are what is kept)."""
    answer = scripted(lambda prompt: "A" if "Answer A:" in prompt else "PASS")
    # the identity request, the labelled set, prompt's 6 verdicts, prompt@api's 6 outputs, its first batch of
    # 2 examples (2 references, 4 pairwise), then one more answer
    server = ScriptedServer(answer=answer, die_after=1 + 40 + 6 + 6 + 6 + 1)
    result = _judge_run(tmp_path, tiny_dir, server, "--batch-size", "2", "--no-cache")
    assert result.exit_code != 0
    run_dir, rec = _record(tmp_path)
    assert rec["status"] == "failed" and rec["strategies"]["prompt"]["status"] == "complete"
    assert len(RunStore.open(run_dir).judged_path("prompt@api").read_text().splitlines()) == 2
    restarted = ScriptedServer(answer=answer, port=server.port)
    try:
        second = CliRunner().invoke(app, ["run", "--resume", str(run_dir)])
    finally:
        restarted.stop()
    assert second.exit_code == 0, second.output
    _, rec = _record(tmp_path)
    judged = rec["strategies"]["prompt@api"]["judged"]
    assert judged["reference"]["asked"] == 6 and judged["pairwise"]["asked"] == 6
    strategies_asked = [p for p in restarted.prompts if "Answer to grade:" in p and "Request:\nQuestion" not in p]
    pairwise_asked = [p for p in restarted.prompts if "Answer A:" in p]
    assert len(strategies_asked) == 4 and len(pairwise_asked) == 8  # the 2 saved examples were not asked again
    assert len(RunStore.open(run_dir).judged_path("prompt@api").read_text().splitlines()) == 6


def test_the_chat_task_brings_its_own_labelled_set_and_a_given_file_comes_first(tmp_path):
    from harness.config import JudgeConfig
    from harness.judge.items import read_labelled
    from harness.judge.measure import calibration_path
    from harness.tasks.load import load_task

    chat = load_task("chat", limit=2)
    own = calibration_path(JudgeConfig(model="base"), chat)
    assert own.name == "calibration.jsonl" and own.parent.name == "chat"
    items = read_labelled(own, "pass-fail")
    assert {i.score for i in items} == {0.0, 1.0} and all("Customer:" in i.request for i in items)
    given = _labelled(tmp_path)
    assert calibration_path(JudgeConfig(model="base", calibration=given), chat) == given
    assert calibration_path(JudgeConfig(model="base"), load_task("qa", limit=2)) is None
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"input": "q", "output": "a", "reference": "a", "score": 3}])
    with pytest.raises(Exception, match=r"bad.jsonl:1: score 3 is not on the pass-fail scale"):
        read_labelled(bad, "pass-fail")


def test_adaptive_rounds_cannot_stop_on_a_judged_metric(tmp_path, tiny_dir):
    """The rounds stop on scores made as examples are predicted; the judge's come later: a clear error up front."""
    result = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4",
                                      "--adaptive", "--judge", "base", "--strategies", "prompt,few-shot", "--no-probes",
                                      "--overfit-sample", "0", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output  # judged scores shown; the rounds stop on rougeL
    _, rec = _record(tmp_path, out=".")
    assert rec["recommendation"]["metric"] == "rougeL" and rec["recommendation"]["judge_fallback"] is None
    path = tmp_path / "judged.yaml"
    path.write_text(yaml.safe_dump({"decision": {"metric": "judge-reference"}}))
    refused = CliRunner().invoke(app, ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4",
                                       "--adaptive", "--judge", "base", "--config", str(path), "--out",
                                       str(tmp_path / "b")])
    assert isinstance(refused.exception, HarnessError) and "comes from the judge" in refused.exception.message
    assert "--full" in refused.exception.hint and not (tmp_path / "b").exists()  # refused before any work


def test_a_bad_labelled_set_or_a_missing_baseline_is_refused_before_any_model_work(tmp_path, tiny_dir):
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"input": "q", "output": "a", "reference": "a", "score": 1}\n{"input": "q", "output": \n')
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"judge": {"model": "base", "calibration": str(bad)}}))
    base = ["run", "--task", "summarization", "--model", str(tiny_dir), "--limit", "4"]
    refused = CliRunner().invoke(app, [*base, "--config", str(path), "--out", str(tmp_path / "a")])
    assert isinstance(refused.exception, HarnessError) and f"{bad}:2: not a calibration item" in refused.exception.message
    missing = CliRunner().invoke(app, [*base, "--judge", "base", "--strategies", "few-shot", "--out", str(tmp_path / "b")])
    assert isinstance(missing.exception, HarnessError) and "judge.baseline 'prompt'" in missing.exception.message
    assert "Add prompt to --strategies" in missing.exception.hint
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing made, nothing loaded

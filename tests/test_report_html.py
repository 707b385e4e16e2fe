"""report.html: self-contained, escaped, and rendered by a real headless Chromium."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from harness.record.figures import Score
from harness.record.judged import Judged, JudgeRecord
from harness.record.results import SingleRequest
from harness.record.run_record import ModelInfo
from reports.html import write_html
from reports.markdown import write_report
from reports.wording import headline
from runfixtures import analysed, make_run

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _fixture_run(tmp_path):
    rng = np.random.default_rng(0)
    delta = {"value": -0.1, "ci_low": -0.2, "ci_high": -0.01, "n": 40, "p_value": 0.03}
    score = lambda v: {"metric": "acc", "value": v, "ci_low": v - 0.1, "ci_high": v + 0.1, "n": 40, "higher_is_better": True}  # noqa: E731
    strategies = {
        "prompt": {"scores": (rng.random(50) < 0.3).astype(float).tolist()},
        "rag": {"scores": (rng.random(50) < 0.8).astype(float).tolist(), "setup_seconds": 20,
                "retrieval": {"test": {"examples": 40, "context_k": 5, "recall": {5: score(0.9)}, "mrr": score(0.7)}}},
        "lora": {"scores": (rng.random(50) < 0.6).astype(float).tolist(), "setup_seconds": 900, "trainable_params": 10**5,
                 "forgetting": {"sets": {SCRIPT: {"chance": 0.25, "base": score(0.5), "adapted": score(0.4),
                                                  "delta": delta}}},
                 "learning_curve": [{"step": s, "train_loss": t, "val_loss": v, "val_metric": m} for s, t, v, m in
                                    zip([0, 5, 10], [2.0, 1.4, 1.1], [2.1, 1.6, 1.5], [0.2, 0.4, 0.5])]},
    }
    store = make_run(tmp_path, strategies, references={"ex-000": SCRIPT}, outputs={"rag": {"ex-000": IMG}})
    record = analysed(store)
    return store, record, write_html(store.path)


def test_dataset_text_renders_inert_and_nothing_is_fetched(tmp_path):
    store, record, path = _fixture_run(tmp_path)
    html = path.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "&lt;img src=x" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html), "the report must fetch nothing"
    assert not re.search(r"url\(\s*['\"]?(?!#)", html) and "@import" not in html  # only url(#local-id) in SVG
    assert headline(record.recommendation).split(":")[0] in html
    assert html.count("<svg") >= 4  # bars, quality vs cost, learning curve, forgetting
    md = write_report(store.path).read_text()
    assert "## Verdict" in md and SCRIPT not in md


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on `args` (a URL last), offline, with its own profile."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]
    return subprocess.run([*flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: apt-get install chromium); .ci/run installs it")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    store, record, path = _fixture_run(tmp_path)
    url = path.resolve().as_uri()
    shot = tmp_path / "report.png"
    res = _chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", url)
    assert shot.exists(), res.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("L"))
    assert (img < 200).mean() > 0.02, "the page looks blank"
    dom = _chromium(tmp_path, "--window-size=1280,2400", "--dump-dom", url)
    assert headline(record.recommendation)[:40] in dom.stdout.replace("&amp;", "&")
    assert "Paired comparisons" in dom.stdout and "alert(1)" in dom.stdout
    log = res.stderr + dom.stderr
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert not console, console  # no script errors, no blocked (Content-Security-Policy) fetches
    assert "net::ERR" not in log


def _wide_run(tmp_path):
    """Many strategies with long names, three metrics on three splits, probes, retrieval: every table at its
    widest."""
    rng = np.random.default_rng(1)
    draw = lambda p: (rng.random(60) < p).astype(float).tolist()  # noqa: E731
    score = lambda v: {"metric": "acc", "value": v, "ci_low": v - 0.1, "ci_high": v + 0.1, "n": 60, "higher_is_better": True}  # noqa: E731
    delta = {"value": -0.125, "ci_low": -0.25, "ci_high": -0.015, "n": 60, "p_value": 0.0312}
    probe = {"chance": 0.25, "base": score(0.5), "adapted": score(0.375), "delta": delta}
    strategies = {}
    for i, name in enumerate(["prompt", "few-shot", "rag", "lora", "rag+lora@served", "few-shot+rag@served",
                              "lora@served-with-a-longer-name"]):
        p = 0.2 + 0.1 * i
        strategies[name] = {
            "scores": draw(p), "metrics": {"token_f1": rng.random(60).tolist(), "rouge_l": rng.random(60).tolist()},
            "splits": {s: {m: draw(p) for m in ("exact_match", "token_f1", "rouge_l")} for s in ("ood", "validation")},
            "setup_seconds": 1234.5 * i, "trainable_params": 10**6 * i, "artifact_bytes": 3 * 2**20 * i,
            "latency_p95": 1.25, "forgetting": {"sets": {"mmlu-high-school-mathematics": probe,
                                                         "hellaswag-validation-subset": probe}},
            "retrieval": {"test": {"examples": 60, "context_k": 5, "recall": {1: score(0.5), 5: score(0.9)},
                                   "mrr": score(0.7)}}}
    long = "x" * 150  # one unbreakable word, as a model's output or a checkpoint path can be
    every = {f"ex-{i:03d}": long for i in range(60)}
    store = make_run(tmp_path, strategies, references=every, outputs={"rag+lora@served": every})
    record = store.read()
    record.models = {"base": ModelInfo(name="HuggingFaceTB/SmolLM2-135M-Instruct", device="cpu",
                                       path=f"/root/.cache/huggingface/hub/snapshots/{long}")}
    judge = {"model": "a-hosted-judge-with-a-long-name", "backend": "openai", "reason": "kappa 0.52 against exact_match",
             "trusted": True, "exact": {"statistic": "kappa", "against": "exact_match", "value": 0.52, "ci_low": 0.31,
                                        "ci_high": 0.7, "n": 420, "raw": 0.81},
             "flip_rate": score(0.125), "length_bias": delta}
    record.judge = JudgeRecord.model_validate(judge)
    for res in record.strategies.values():
        res.single_request = SingleRequest(requests=3, first_token_p50=0.125, first_token_max=0.25, total_p50=1.5,
                                           total_max=2.25, cached=True)
        res.judged = Judged.model_validate({"reference": {"asked": 60, "scored": 57, "unscored": 3, "retried": 5},
                                            "pairwise": {"baseline": "prompt", "asked": 60, "scored": 60, "wins": 31,
                                                         "ties": 20, "losses": 9, "flips": 12},
                                            "faithfulness": {"asked": 60, "scored": 58, "unscored": 2}})
        res.metrics["test"] |= {m: Score.model_validate(score(0.5) | {"metric": m})
                                for m in ("judge-reference", "judge-pairwise", "faithfulness")}
    store.write(record)
    analysed(store)
    return write_html(store.path)


MEASURE = """<script>
const page = document.documentElement, body = document.body;
body.dataset.scrollWidth = page.scrollWidth;
body.dataset.scrollHeight = page.scrollHeight;
body.dataset.overflowing = [...document.querySelectorAll("table")]
  .filter(t => t.getBoundingClientRect().right > body.getBoundingClientRect().right)
  .map(t => t.closest("section").id).join(" ");
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: apt-get install chromium); .ci/run installs it")
def test_wide_report_fits_1280_pixels(tmp_path):
    """A wide run's report has no horizontal scroll in a 1280-pixel window, and no table reaches past the page's
    body. The measure is a script in a copy of the report, whose Content-Security-Policy lets inline script run
    there only; the report itself has none. The whole page is saved as tmp_path/wide.png to look at."""
    from PIL import Image

    path = _wide_run(tmp_path)
    html = path.read_text()
    assert "<script" not in html and "default-src 'none';" in html
    probe = tmp_path / "measured.html"
    probe.write_text(html.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
                     .replace("</body>", MEASURE + "</body>", 1), encoding="utf-8")
    dom = _chromium(tmp_path, "--window-size=1280,1000", "--dump-dom", probe.resolve().as_uri()).stdout
    measured = dict(re.findall(r'data-(scroll-width|scroll-height|overflowing)="([^"]*)"', dom))
    assert measured.keys() == {"scroll-width", "scroll-height", "overflowing"}, dom[-2000:]
    shot = tmp_path / "wide.png"  # as tall as the page, up to what Chromium will paint in one screenshot
    res = _chromium(tmp_path, f"--window-size=1280,{min(int(measured['scroll-height']), 16000)}",
                    f"--screenshot={shot}", path.resolve().as_uri())
    assert shot.exists(), res.stderr[-2000:]
    assert int(measured["scroll-width"]) <= 1280, f"the page scrolls sideways: {measured}; see {shot}"
    assert not measured["overflowing"], f"tables wider than the page in sections: {measured}; see {shot}"
    img = np.asarray(Image.open(shot).convert("L"))
    assert (img < 200).mean() > 0.02, "the page looks blank"
    # the body is 1180 px wide and centred: nothing is painted in the window's right margin
    assert (img[:, 1240:] > 250).all(), f"something is drawn past the body's right edge; see {shot}"

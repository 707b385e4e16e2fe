"""report.html: self-contained, escaped, and rendered by a real headless Chromium."""

import re
import shutil
import subprocess

import numpy as np
import pytest

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


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: apt-get install chromium); .ci/run installs it")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    store, record, path = _fixture_run(tmp_path)
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
             "--window-size=1280,2400"]
    url = path.resolve().as_uri()
    shot = tmp_path / "report.png"
    res = subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
    assert shot.exists(), res.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("L"))
    assert (img < 200).mean() > 0.02, "the page looks blank"
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert headline(record.recommendation)[:40] in dom.stdout.replace("&amp;", "&")
    assert "Paired comparisons" in dom.stdout and "alert(1)" in dom.stdout
    log = res.stderr + dom.stderr
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert not console, console  # no script errors, no blocked (Content-Security-Policy) fetches
    assert "net::ERR" not in log

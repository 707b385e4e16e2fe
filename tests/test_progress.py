"""Progress a person can follow in a log: a line per task at most every LINE_EVERY seconds and when it completes
(counts, rate, elapsed, ETA); a status message printed once instead of a spinner that shows nothing."""

from __future__ import annotations

from harness import console as con


def test_a_log_gets_a_line_every_interval_and_at_the_end(monkeypatch, capsys):
    clock = [1000.0]
    monkeypatch.setattr(con.time, "monotonic", lambda: clock[0])
    assert not con.console.is_terminal  # pytest captures stderr: a log, not a terminal
    bar = con.progress()
    assert isinstance(bar, con.LineProgress)
    with bar:
        job = bar.add_task("prompt · test 10", total=10, rate="")
        for step in range(9):
            clock[0] += 10.0  # 10 s a step: a line after the third step (30 s), then every third
            bar.update(job, advance=1, rate=f"{step + 1} ex/s")
        printed = capsys.readouterr().err.splitlines()
        assert [line.split(":")[1].split("·")[0].strip() for line in printed] == ["3/10 (30%)", "6/10 (60%)",
                                                                                 "9/10 (90%)"]
        assert "3 ex/s" in printed[0] and "eta" in printed[0]
        clock[0] += 1.0
        bar.update(job, advance=1, rate="10 ex/s")  # completes: a last line at once, without an eta
        bar.update(job, advance=0)  # and only one
    last = capsys.readouterr().err.splitlines()
    assert len(last) == 1 and last[0].startswith("prompt · test 10: 10/10 (100%)") and "eta" not in last[0]


def test_a_status_prints_once_in_a_log(capsys):
    with con.console.status("lora: preparing..."):
        pass
    assert capsys.readouterr().err.strip() == "lora: preparing..."


def test_a_disabled_bar_prints_nothing(capsys):
    with con.progress(disable=True) as bar:
        job = bar.add_task("x", total=1, loss="-", tps="-")
        bar.update(job, advance=1, loss="1.0", tps="5")
    assert capsys.readouterr().err == ""

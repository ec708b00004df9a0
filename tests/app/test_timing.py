"""The run log the load benchmark reads (dashboard/timing.py)."""

import time

from dashboard import timing


def test_run_log_line_has_wall_and_own_cpu_seconds(tmp_path, monkeypatch):
    log = tmp_path / "runs.log"
    monkeypatch.setenv(timing.ENV, str(log))
    t0 = timing.start()
    time.sleep(0.2)  # waiting (for a core, a lock) is wall time, not the run's own CPU
    timing.record(t0, timing.status_of(None))
    when, session, wall, status, cpu = log.read_text().split()
    assert status == "done" and session == "-"
    assert float(wall) >= 0.2
    assert 0 <= float(cpu) < 0.1


def test_no_log_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(timing.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    timing.record(timing.start())
    assert list(tmp_path.iterdir()) == []

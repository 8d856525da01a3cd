"""Emission-off from another thread during a run: an emergency stop. The laser readback shows it off
within one poll, the run ends aborted, and every block taken before is on disk."""

from __future__ import annotations

import threading
import time

from app.api import read_run
from app.bench_factory import open_bench
from app.config import load_config
from app.engine import Runner
from app.engine.events import RunState
from tests.helpers import sim_config_text, write_config


def test_laser_off_from_another_thread_aborts_the_run_and_keeps_the_data(tmp_path):
    config = write_config(tmp_path, sim_config_text(
        **{"roi = { x = 768, y = 768, width = 512, height = 512 }": "roi = { x = 960, y = 960, width = 64, height = 64 }"}))
    with open_bench(load_config(config)) as bench:
        runner = Runner(bench)
        path = tmp_path / "run.h5"
        steps = []
        runner.events.step_done.connect(steps.append)
        runner.start("phase-stepping", {"frames_per_step": 64, "cycles": 8}, path=path)
        while len(steps) < 40:  # well into the reference stage
            time.sleep(0.001)
        t_off = time.monotonic()
        worker = threading.Thread(target=bench.laser.set_emission, args=(False,))
        worker.start()
        worker.join()
        interval = bench.config.settings.bench.poll_interval_s
        deadline = t_off + interval + 0.5
        while time.monotonic() < deadline and bench.laser.cached_state.emission:
            time.sleep(0.005)
        assert not bench.laser.cached_state.emission
        result = runner.wait(30)
    assert result.status == "aborted" and runner.state in (RunState.DONE,)
    data = read_run(path)
    assert data.status == "aborted"
    blocks = len(steps)
    assert sum(int(c.sum()) for c in data.counts.values()) >= 40  # the dark and reference blocks taken stay
    assert blocks >= 40

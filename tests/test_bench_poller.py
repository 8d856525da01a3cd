"""The readback poller keeps every device's typed record fresh at [bench] poll_interval_s, publishes it
to isolated subscribers (one that raises does not stop the others) and skips a busy device instead of
waiting for it (decision 0040)."""

import threading
import time

from app.bench import ReadbackPoller, open_bench
from app.config import load_config
from drivers.contracts import CameraReadback, LaserReadback, SlmReadback, StageReadback
from sim_backends.quick import quick_bench
from tests.helpers import SIM_CONFIG, sim_config_text, write_config

ROLES = {"laser": LaserReadback, "phase_piezo": StageReadback, "delay_stage": StageReadback,
         "sample_stage": StageReadback, "slm": SlmReadback, "camera": CameraReadback}


def test_readbacks_are_fresh_at_the_configured_rate(tmp_path):
    config = write_config(tmp_path, sim_config_text() + "\n[bench]\npoll_interval_s = 0.05\n")
    with open_bench(load_config(config)) as bench:
        seen: dict[str, list[float]] = {}
        bench.poller.readback.connect(lambda role, record: seen.setdefault(role, []).append(record.time_s))
        time.sleep(1.0)
        bench.laser.set_power_w(0.05)
        time.sleep(0.2)
        now = time.monotonic()
        readbacks = bench.readbacks()
    assert set(seen) == set(ROLES)
    for role, kind in ROLES.items():
        assert type(readbacks[role]) is kind and readbacks[role].connected
        assert now - readbacks[role].time_s < 0.3, f"{role} readback is stale"
        intervals = [b - a for a, b in zip(seen[role], seen[role][1:])]
        assert len(seen[role]) >= 10, f"{role}: only {len(seen[role])} readbacks in 1.2 s at 20 Hz"
        assert sorted(intervals)[len(intervals) // 2] < 0.1  # median spacing near the 50 ms interval
    assert readbacks["laser"].setpoint_w == 0.05  # the poller saw the new setpoint


def test_a_subscriber_that_raises_does_not_stop_the_others():
    bench = quick_bench()
    poller = ReadbackPoller({"laser": bench.laser, "delay_stage": bench.delay_stage}, interval_s=1.0)
    first, third = [], []
    poller.readback.connect(lambda role, record: first.append(role))

    def broken(role, record):
        raise RuntimeError("display slot bug")

    poller.readback.connect(broken)
    poller.readback.connect(lambda role, record: third.append(role))
    poller.poll_once()
    poller.poll_once()
    assert first == third == ["laser", "delay_stage"] * 2


def test_a_busy_device_is_skipped_not_waited_on():
    bench = quick_bench()
    poller = ReadbackPoller({"delay_stage": bench.delay_stage, "laser": bench.laser}, interval_s=0.05,
                            lock_timeout_s=0.02)
    held, release = threading.Event(), threading.Event()

    def long_transaction():
        with bench.delay_stage.transaction():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=long_transaction)
    holder.start()
    held.wait(5)
    try:
        start = time.monotonic()
        fresh = poller.poll_once()
        elapsed = time.monotonic() - start
        old_stage_time = bench.delay_stage.cached_state.time_s
    finally:
        release.set()
        holder.join(5)
    assert set(fresh) == {"laser"} and poller.skipped["delay_stage"] == 1
    assert elapsed < 1.0  # the poll did not wait for the 10 s transaction
    assert old_stage_time == 0.0  # never read: readers see its age
    assert set(poller.poll_once()) == {"laser", "delay_stage"}  # free again: refreshed


def test_open_bench_can_run_without_the_poller():
    with open_bench(load_config(SIM_CONFIG)) as bench_polled:
        assert bench_polled.poller is not None and bench_polled.poller.running
    assert not bench_polled.poller.running  # stopped on exit
    with open_bench(load_config(SIM_CONFIG), poll=False) as bench:
        assert bench.poller is None
        first = bench.readbacks()["laser"].time_s
        assert first > 0.0  # read once at open, so planning never finds an empty cache
        time.sleep(0.3)
        assert bench.readbacks()["laser"].time_s == first  # and not again: nothing polls


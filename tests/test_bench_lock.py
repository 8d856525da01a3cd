"""One qiup process per bench (issue 10): a second process refuses with one line naming the holder
(pid, host, label) before opening any device, the lock is freed when the holder dies (even by
SIGKILL). (Exclusive serial ports: tests/drivers/test_drivers_ownership.py.)"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench import BenchInUse, BenchLock, open_bench
from app.config import load_config
from tests.helpers import SIM_CONFIG

ROOT = Path(__file__).resolve().parents[1]
LABEL = "run 'phase-stepping' -> runs/x.h5"
HOLDER = f"""
import sys, time
from app.bench import open_bench
from app.config import load_config
with open_bench(load_config(sys.argv[1]), poll=False) as bench:
    bench.set_lock_label({LABEL!r})
    print("ready", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def lock_env(tmp_path, monkeypatch):
    monkeypatch.setenv("QIUP_LOCK_DIR", str(tmp_path / "locks"))
    return dict(os.environ, QIUP_LOCK_DIR=str(tmp_path / "locks"), PYTHONPATH=str(ROOT))


def qiup_devices(env) -> subprocess.CompletedProcess:
    code = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "devices", "--config", str(SIM_CONFIG)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_second_process_refuses_naming_the_holder_until_the_holder_is_killed(lock_env):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(SIM_CONFIG)], env=lock_env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        refused = qiup_devices(lock_env)
        assert refused.returncode == 2
        assert refused.stdout == ""  # nothing was opened or printed
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"pid {holder.pid} on {socket.gethostname()}" in lines[0] and LABEL in lines[0]
        assert str(SIM_CONFIG) in lines[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    freed = qiup_devices(lock_env)
    assert freed.returncode == 0, freed.stderr
    assert "LaserReadback: emission=False" in freed.stdout


def test_lock_is_taken_before_any_device_is_opened(lock_env, monkeypatch):
    from sim_backends.devices import SimLaser

    connects = []
    monkeypatch.setattr(SimLaser, "_connect_hw", lambda self: connects.append(self))
    with BenchLock.acquire(SIM_CONFIG, "a script"):
        with pytest.raises(BenchInUse, match=r"in use by pid \d+ on .* \(a script\)"):
            with open_bench(load_config(SIM_CONFIG), poll=False):
                pass
    assert connects == []
    with open_bench(load_config(SIM_CONFIG), poll=False) as bench:  # released: free again
        bench.set_lock_label("second")
        assert bench.bench_lock.label == "second"
    assert not bench.bench_lock.held


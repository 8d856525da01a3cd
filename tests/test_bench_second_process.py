"""Issue 10, item 4: a second qiup process on a bench in use never touches the run's laser.

The laser is the real OBIS driver talking to its protocol emulator on a pseudo-terminal (a real tty,
opened exclusively). One process holds the bench with emission on; ``qiup devices`` in a second
process, with the same config or with a copy of it under another name, is refused with one line and
the emulated laser keeps emitting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim_backends.emulators.wiring import start_emulator
from tests.helpers import ROOT, sim_config_text

HOLDER = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as the qiup CLI does: every cleanup runs
from app.bench import open_bench
from app.config import load_config
with open_bench(load_config(sys.argv[1]), poll=False) as bench:
    bench.set_lock_label("run 'phase-stepping' -> runs/x.h5")
    bench.laser.set_power_w(0.05)
    bench.laser.set_emission(True)
    print("ready", flush=True)
    time.sleep(120)
"""

OBIS_SECTION = """[laser]
backend = "obis"
port = "{port}"
timeout_s = 1.0
max_power_w = 0.15
"""


def _config_with_laser_on(tmp_path: Path, port: str, name: str) -> Path:
    text = sim_config_text()
    start = text.index("[laser]")
    end = text.index("\n[", start + 1)
    path = tmp_path / name
    path.write_text(text[:start] + OBIS_SECTION.format(port=port) + text[end:], encoding="utf-8")
    return path


def _qiup_devices(config: Path, env: dict) -> subprocess.CompletedProcess:
    code = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "devices", "--config", str(config)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def emulated_laser():
    server = start_emulator("obis", None, "pty", max_power_w=0.15)
    yield server
    server.stop()


def test_a_second_process_is_refused_and_the_running_laser_stays_on(tmp_path, emulated_laser):
    env = dict(os.environ, QIUP_LOCK_DIR=str(tmp_path / "locks"), PYTHONPATH=str(ROOT))
    config = _config_with_laser_on(tmp_path, emulated_laser.url, "bench.toml")
    copy = _config_with_laser_on(tmp_path, emulated_laser.url, "same-bench-other-name.toml")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(config)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        assert emulated_laser.device.emission is True
        same = _qiup_devices(config, env)  # the bench lock: refused before anything opens
        assert same.returncode == 2 and same.stdout == ""
        assert len(same.stderr.strip().splitlines()) == 1
        assert "in use by" in same.stderr and "run 'phase-stepping'" in same.stderr
        other = _qiup_devices(copy, env)  # another config, same port: the exclusive port refuses
        assert other.returncode != 0 and "Traceback" not in other.stderr
        assert len(other.stderr.strip().splitlines()) == 1 and "is in use by another program" in other.stderr, other.stderr
        time.sleep(0.2)
        assert emulated_laser.device.emission is True  # the run's laser was never touched
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(20)
    assert emulated_laser.device.emission is False  # the holder's own exit switched it off

"""The connected devices of one bench, their shared ownership, readback poller and bench lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.bench.lock import BenchLock
from app.bench.poller import ReadbackPoller
from app.config import LoadedConfig
from drivers.contracts import SLM, Camera, Device, Laser, Readback, Stage
from drivers.ownership import BenchOwnership

log = logging.getLogger(__name__)


@dataclass
class Bench:
    """The connected devices of one bench, plus the config they came from."""

    config: LoadedConfig
    laser: Laser
    phase_piezo: Stage
    delay_stage: Stage
    slm: SLM
    camera: Camera
    sample_stage: Stage | None = None
    world: Any = None  # the simulated world when any device is simulated (ground truth for tests)
    ownership: BenchOwnership = field(default_factory=BenchOwnership)  # who may move it (decision 0040)
    poller: ReadbackPoller | None = None  # started by open_bench(poll=True)
    bench_lock: BenchLock | None = None  # held by open_bench: no second qiup process on this bench

    def __post_init__(self) -> None:
        for device in self.devices().values():
            device.ownership = self.ownership  # one owner for the whole bench

    def devices(self) -> dict[str, Device]:
        found = {
            "laser": self.laser,
            "phase_piezo": self.phase_piezo,
            "delay_stage": self.delay_stage,
            "sample_stage": self.sample_stage,
            "slm": self.slm,
            "camera": self.camera,
        }
        return {name: dev for name, dev in found.items() if dev is not None}

    def identities(self) -> dict[str, dict[str, str]]:
        return {name: dev.identity().as_dict() for name, dev in self.devices().items()}

    def readbacks(self) -> dict[str, Readback]:
        """The cached readback of every device (no I/O; ``time_s`` says how fresh each is)."""
        return {name: dev.cached_state for name, dev in self.devices().items()}

    def capabilities(self) -> dict[str, Any]:
        return {name: dev.capabilities() for name, dev in self.devices().items()}

    def refresh_readbacks(self) -> dict[str, Readback]:
        """Read every device once now (serialised): open_bench does it so that planning and GUIs find a
        cache that is never empty."""
        return {name: dev.read_state() for name, dev in self.devices().items()}

    def set_lock_label(self, text: str) -> None:
        """Say what holds the bench (e.g. the run); a second qiup process names it when it refuses."""
        if self.bench_lock is not None:
            self.bench_lock.set_label(text)

    def start_polling(self, interval_s: float, lock_timeout_s: float = 0.02) -> ReadbackPoller:
        if self.poller is None:
            self.poller = ReadbackPoller(self.devices(), interval_s=interval_s, lock_timeout_s=lock_timeout_s)
        return self.poller.start()

    def stop_polling(self) -> None:
        if self.poller is not None:
            self.poller.stop()

    def make_safe(self) -> None:
        make_safe(self.devices())


def make_safe(devices: dict[str, Device]) -> None:
    """Emission off first (the laser comes first), then release every device; never raises."""
    for name, dev in devices.items():
        if isinstance(dev, Camera):
            try:
                dev.stop()
            except Exception as exc:  # noqa: BLE001 - still close it below
                log.error("stopping %s failed: %s", name, exc)
        try:
            dev.close()
        except Exception as exc:  # a dead device must not keep the others (or the laser) open
            log.error("closing %s failed: %s", name, exc)

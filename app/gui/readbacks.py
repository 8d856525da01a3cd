"""Device state as the GUI shows it: one frozen record per role, read by the model's poller thread.

AT MERGE: these records and readers give way to the core's typed readbacks (``device.cached_state``,
``bench.readbacks()``) and capability records (``device.capabilities()``); the panels read the same
fields, so only this module and ``bench_model.py`` change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


# AT MERGE: replace these with the core's LaserReadback / StageReadback / CameraReadback / SlmReadback
# (device.cached_state, bench.readbacks()) and the ...Capabilities records (device.capabilities()).
@dataclass(frozen=True)
class LaserState:
    time_s: float
    connected: bool
    emission: bool | None
    setpoint_w: float | None
    measured_w: float | None
    interlock_closed: bool | None
    limits_w: tuple[float, float] | None
    error: str | None = None


@dataclass(frozen=True)
class StageState:
    time_s: float
    connected: bool
    position: float | None
    unit: str
    limits: tuple[float, float] | None
    can_stop: bool = False  # the contract has no stop() yet (core issue 9 adds it)
    error: str | None = None


@dataclass(frozen=True)
class CameraState:
    time_s: float
    connected: bool
    exposure_s: float | None
    roi: tuple[int, int, int, int] | None  # x, y, width, height (sensor pixels)
    sensor_shape: tuple[int, int] | None
    binning: int | None
    binning_choices: tuple[int, ...]
    trigger: str | None
    temperature_c: float | None
    bit_depth: int | None
    error: str | None = None


@dataclass(frozen=True)
class SlmState:
    time_s: float
    connected: bool
    shape: tuple[int, int] | None
    mask_preview_rad: np.ndarray | None  # decimated current mask, wrapped
    error: str | None = None


@dataclass(frozen=True)
class Readbacks:
    laser: LaserState | None = None
    stages: dict[str, StageState] = field(default_factory=dict)
    camera: CameraState | None = None
    slm: SlmState | None = None


# AT MERGE: each read_* becomes device.cached_state (no I/O); capabilities from device.capabilities().
def guarded(read: Callable[[], object], fallback):
    try:
        return read(), None
    except Exception as exc:  # noqa: BLE001 - a dead device shows its error, the others still update
        return fallback, str(exc)


def read_laser(laser) -> LaserState:
    now = time.monotonic()
    def read():
        return (laser.emission_on(), laser.power_setpoint_w(), laser.measured_power_w(), laser.interlock_closed(),
                tuple(laser.power_limits_w()))
    values, error = guarded(read, (None,) * 5)
    return LaserState(now, bool(laser.connected), *values, error=error)


def read_stage(stage) -> StageState:
    (position, limits), error = guarded(lambda: (stage.position(), tuple(stage.limits())), (None, None))
    return StageState(time.monotonic(), bool(stage.connected), position, stage.unit, limits,
                      can_stop=callable(getattr(stage, "stop", None)), error=error)


def read_camera(camera, section) -> CameraState:
    def read():
        roi = camera.roi()
        return (camera.exposure_s(), (roi.x, roi.y, roi.width, roi.height), tuple(camera.sensor_shape()),
                camera.binning(), camera.trigger_mode(), camera.temperature_c(), camera.bit_depth())
    values, error = guarded(read, (None,) * 7)
    choices = (1, 2, 4) if getattr(section, "backend", "") == "sim" else (1,)  # AT MERGE: capabilities()
    exposure, roi, sensor, binning, trigger, temperature, bits = values
    return CameraState(time.monotonic(), bool(camera.connected), exposure, roi, sensor, binning, choices, trigger,
                       temperature, bits, error=error)


def read_slm(slm) -> SlmState:
    def read():
        mask = np.asarray(slm.current_phase_rad())
        step = max(1, max(mask.shape) // 240)
        return tuple(slm.shape), np.ascontiguousarray(mask[::step, ::step], dtype=np.float32)
    values, error = guarded(read, (None, None))
    return SlmState(time.monotonic(), bool(slm.connected), *values, error=error)

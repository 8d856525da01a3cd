"""Device state as the panels show it: one frozen record per role, built from the core's cached records.

The core's ``ReadbackPoller`` (``open_bench(poll=True)``) keeps each device's ``cached_state`` fresh;
:func:`from_core` combines those records (no I/O, any thread) with the ``capabilities()`` records the
model fetched once on its command thread, so the GUI never polls a device itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    has_interlock_readout: bool = True


@dataclass(frozen=True)
class StageState:
    time_s: float
    connected: bool
    position: float | None
    unit: str
    limits: tuple[float, float] | None
    can_stop: bool = False  # capabilities().has_stop
    error: str | None = None
    target: float | None = None
    moving: bool | None = None


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
    frame_rate_hz: float | None = None  # the camera's own reported rate
    trigger_modes: tuple[str, ...] = ("free_run",)
    exposure_range_s: tuple[float, float] | None = None
    has_temperature: bool = False


@dataclass(frozen=True)
class SlmState:
    time_s: float
    connected: bool
    shape: tuple[int, int] | None
    mask_preview_rad: np.ndarray | None  # decimated current mask, wrapped
    error: str | None = None
    mask_id: int = 0
    mask_label: str = ""  # what the GUI (or a sequence) said it showed
    lut_name: str = ""
    lut_sha256: str = ""
    dither: str = ""  # how the current mask became gray ("off", "bayer4", "bayer8")


@dataclass(frozen=True)
class Readbacks:
    laser: LaserState | None = None
    stages: dict[str, StageState] = field(default_factory=dict)
    camera: CameraState | None = None
    slm: SlmState | None = None


def _laser(rb, caps) -> LaserState:
    limits = tuple(caps.power_range_w) if caps is not None else None
    return LaserState(rb.time_s, rb.connected, rb.emission, rb.setpoint_w, rb.measured_w, rb.interlock_closed,
                      limits, error=rb.fault,
                      has_interlock_readout=caps is None or bool(caps.has_interlock_readout))


def _stage(rb, caps) -> StageState:
    limits = rb.limits or (tuple(caps.limits) if caps is not None else None)
    return StageState(rb.time_s, rb.connected, rb.position, rb.unit, limits,
                      can_stop=bool(caps is not None and caps.has_stop), target=rb.target, moving=rb.moving)


def _camera(rb, caps) -> CameraState:
    roi = (rb.roi.x, rb.roi.y, rb.roi.width, rb.roi.height) if rb.roi is not None else None
    choices = tuple(caps.binning_values) if caps is not None and caps.has_binning else (1,)
    return CameraState(rb.time_s, rb.connected, rb.exposure_s, roi,
                       tuple(caps.sensor_shape) if caps is not None else None, rb.binning, choices, rb.trigger,
                       rb.temperature_c, caps.bit_depth if caps is not None else None,
                       frame_rate_hz=rb.frame_rate_hz,
                       trigger_modes=tuple(caps.trigger_modes) if caps is not None else ("free_run",),
                       exposure_range_s=tuple(caps.exposure_range_s) if caps is not None else None,
                       has_temperature=bool(caps is not None and caps.has_temperature))


def _slm(rb, mask_preview_rad) -> SlmState:
    return SlmState(rb.time_s, rb.connected, rb.shape, mask_preview_rad, mask_id=rb.mask_id,
                    mask_label=rb.mask_label, lut_name=rb.lut_name, lut_sha256=rb.lut_sha256,
                    dither=rb.dither)


STAGE_ROLES = ("phase_piezo", "delay_stage", "sample_stage")


def from_core(readbacks: dict, capabilities: dict, slm_mask_preview_rad: np.ndarray | None = None) -> Readbacks:
    """The panels' records from ``bench.readbacks()`` and the capability records (no device call)."""
    laser, camera, slm = readbacks.get("laser"), readbacks.get("camera"), readbacks.get("slm")
    return Readbacks(
        laser=_laser(laser, capabilities.get("laser")) if laser is not None else None,
        stages={role: _stage(rb, capabilities.get(role)) for role, rb in readbacks.items() if role in STAGE_ROLES},
        camera=_camera(camera, capabilities.get("camera")) if camera is not None else None,
        slm=_slm(slm, slm_mask_preview_rad) if slm is not None else None)


def slm_mask_preview(slm) -> np.ndarray:
    """The SLM's current mask, decimated to <= 240 px and wrapped (a device call: command thread only)."""
    mask = np.asarray(slm.current_phase_rad())
    step = max(1, max(mask.shape) // 240)
    return np.ascontiguousarray(np.mod(mask[::step, ::step], 2 * np.pi), dtype=np.float32)

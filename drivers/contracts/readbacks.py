"""Typed, frozen readback and capability records: the same fields for every backend of a role.

A readback is what a device reported at ``time_s`` (``time.monotonic()`` of the reading); readers
(GUI, ``qiup devices``, logs) use the cached one and never wait on a device. A capability record says
what a device supports and its ranges; it is fixed at ``connect()`` and never costs I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from drivers.contracts.values import Roi


@dataclass(frozen=True)
class Readback:
    time_s: float = 0.0  # time.monotonic() of the reading (0: never read)
    connected: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LaserReadback(Readback):
    emission: bool | None = None
    setpoint_w: float | None = None
    measured_w: float | None = None
    interlock_closed: bool | None = None
    fault: str | None = None


@dataclass(frozen=True)
class StageReadback(Readback):
    position: float | None = None
    unit: str = "um"
    target: float | None = None
    moving: bool | None = None
    limits: tuple[float, float] | None = None


@dataclass(frozen=True)
class CameraReadback(Readback):
    exposure_s: float | None = None
    roi: Roi | None = None
    binning: int | None = None
    trigger: str | None = None
    temperature_c: float | None = None
    frame_rate_hz: float | None = None
    acquiring: bool | None = None
    frames_dropped: int = 0


@dataclass(frozen=True)
class SlmReadback(Readback):
    mask_id: int = 0  # increments with every show()
    mask_label: str = ""
    settled: bool | None = None
    shape: tuple[int, int] | None = None
    lut_name: str = ""
    lut_sha256: str = ""  # of the LUT entries as little-endian uint16 (as app/wavefront/lut_fit writes it)
    dither: str = "off"  # how the last mask became gray: "off" (floor rule), "bayer4", "bayer8" (drivers/slm_lut)


@dataclass(frozen=True)
class Capabilities:
    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LaserCapabilities(Capabilities):
    power_range_w: tuple[float, float] = (0.0, 0.0)
    has_interlock_readout: bool = False
    has_fault_readout: bool = False
    # output power after emission on: 1/e time (exponential) or full length (linear); None: not known
    power_ramp_time_s: float | None = None
    power_ramp_shape: str = "exponential"


@dataclass(frozen=True)
class StageCapabilities(Capabilities):
    unit: str = "um"
    limits: tuple[float, float] = (0.0, 0.0)
    closed_loop: bool = False
    has_stop: bool = False
    has_home: bool = False
    velocity_per_s: float | None = None  # travel speed in unit/s (inf: moves are immediate; None: not known)
    settle_time_s: float | None = None  # after the travel, before the stage reports settled (None: not known)


@dataclass(frozen=True)
class CameraCapabilities(Capabilities):
    sensor_shape: tuple[int, int] = (0, 0)  # (height, width): ROI bounds
    has_binning: bool = False
    binning_values: tuple[int, ...] = (1,)
    trigger_modes: tuple[str, ...] = ("free_run",)
    has_temperature: bool = False
    exposure_range_s: tuple[float, float] = (0.0, float("inf"))
    bit_depth: int = 16


@dataclass(frozen=True)
class SlmCapabilities(Capabilities):
    shape: tuple[int, int] = (0, 0)
    levels: int = 256
    lut_name: str = "linear"
    settle_time_s: float = 0.0
    dither: str = "off"  # the device's setting: how show() maps phase to gray unless a call says otherwise

"""Device contracts of the bench: what the engine may ask of a laser, stage, SLM and camera.

The engine and GUI talk only to these abstract classes; real drivers (``drivers/``) and simulated
devices (``sim_backends/``) implement them, chosen by ``backend = "..."`` in the config. Units are in
the names (``power_w``, ``position``+``unit``, ``exposure_s``, ``phase_rad``). Every device closes
idempotently into its safe state; every failure is a :class:`DeviceError` a physicist can read.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from drivers.errors import (  # noqa: F401  (re-exported: the contracts' errors)
    DeviceError,
    DeviceNotConnected,
    DeviceTimeout,
    FeatureNotSupported,
    InterlockError,
    LimitError,
    PowerNotSettled,
)
from drivers.ownership import BenchBusy, BenchOwnership  # noqa: F401,E402

# --------------------------------------------------------------------------------------------
# Shared value types


@dataclass(frozen=True)
class DeviceIdentity:
    """Who a device says it is (``*IDN?`` or equivalent)."""

    vendor: str
    model: str
    serial: str = ""
    firmware: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"vendor": self.vendor, "model": self.model, "serial": self.serial, "firmware": self.firmware}


@dataclass(frozen=True)
class Roi:
    """Camera region of interest in sensor pixels (before binning)."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Frame:
    """One camera frame: counts in ADU plus where and when it was taken."""

    data: np.ndarray  # (h, w) uint16 (or uint8), ADU
    frame_id: int
    timestamp_s: float
    metadata: dict[str, Any] = field(default_factory=dict)


TriggerMode = Literal["free_run", "software"]
StageUnit = Literal["um", "V"]


# --------------------------------------------------------------------------------------------
# Device base


class Device(abc.ABC):
    """Common life cycle: connect, identity, status, close (idempotent, leaves the device safe)."""

    name: str = "device"

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the link and check the device answers."""

    @abc.abstractmethod
    def close(self) -> None:
        """Put the device in its safe state and release the link; safe to call twice."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """True between ``connect()`` and ``close()``."""

    @abc.abstractmethod
    def identity(self) -> DeviceIdentity:
        """Model, serial and firmware as the device reports them."""

    @abc.abstractmethod
    def status(self) -> dict[str, Any]:
        """A small dict of the device's current state, for logs and the GUI."""

    def require_connected(self) -> None:
        if not self.connected:
            raise DeviceNotConnected("not connected (call connect() first)", device=self.name)

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Laser(Device):
    """Pump laser: emission (off is safe), power setpoint and readback in watts, interlock."""

    @abc.abstractmethod
    def set_emission(self, on: bool) -> None:
        """Switch emission; raises InterlockError when the interlock forbids it."""

    @abc.abstractmethod
    def emission_on(self) -> bool:
        """Whether the laser is emitting (as the device reports it)."""

    @abc.abstractmethod
    def set_power_w(self, power_w: float) -> None:
        """Set the output power setpoint; LimitError outside ``power_limits_w()``."""

    @abc.abstractmethod
    def power_setpoint_w(self) -> float:
        """The current setpoint in watts."""

    @abc.abstractmethod
    def measured_power_w(self) -> float:
        """The measured output power in watts (0 when emission is off)."""

    @abc.abstractmethod
    def power_limits_w(self) -> tuple[float, float]:
        """(min, max) allowed setpoint in watts."""

    @abc.abstractmethod
    def interlock_closed(self) -> bool:
        """True when the interlock permits emission."""

    def wait_until_power_settled(self, *, tolerance_fraction: float = 0.01, timeout_s: float = 30.0,
                                 poll_interval_s: float = 0.05, checkpoint=None) -> float:
        """Block until the measured power is within ``tolerance_fraction`` of the setpoint and return it.

        Lasers ramp up after emission on; frames taken during the ramp would give the phase steps
        unequal brightness. PowerNotSettled if the power has not settled within ``timeout_s``.
        ``checkpoint`` (e.g. the runner's abort check) is called between polls and may raise.
        """
        start = self._clock_s()
        while True:
            setpoint, measured = self.power_setpoint_w(), self.measured_power_w()
            if setpoint > 0 and abs(measured - setpoint) <= tolerance_fraction * setpoint:
                return measured
            if checkpoint is not None:
                checkpoint()
            if self._clock_s() - start >= timeout_s:
                raise PowerNotSettled(
                    f"output power {measured * 1e3:.2f} mW did not settle within {100 * tolerance_fraction:g} % "
                    f"of the setpoint {setpoint * 1e3:.2f} mW in {timeout_s:g} s", device=self.name)
            self._wait_s(poll_interval_s)

    def _clock_s(self) -> float:
        return time.monotonic()

    def _wait_s(self, seconds: float) -> None:
        time.sleep(seconds)


class Stage(Device):
    """A one-axis actuator: the phase piezo (open loop, volts) or the delay stage (closed loop, um)."""

    unit: StageUnit = "um"

    @abc.abstractmethod
    def move_to(self, position: float, *, wait: bool = True) -> None:
        """Move to ``position`` (in ``unit``); LimitError outside ``limits()``, nothing sent."""

    @abc.abstractmethod
    def position(self) -> float:
        """Readback position in ``unit``."""

    @abc.abstractmethod
    def limits(self) -> tuple[float, float]:
        """(min, max) allowed position in ``unit``."""

    @abc.abstractmethod
    def wait_settled(self, timeout_s: float = 10.0) -> None:
        """Block until the last move has settled (on target); DeviceTimeout otherwise."""

    def home(self) -> None:
        """Reference the axis; only where the hardware has it."""
        raise FeatureNotSupported("this stage has no homing", device=self.name)

    def check_in_limits(self, position: float) -> None:
        low, high = self.limits()
        if not (low <= position <= high):
            raise LimitError(
                f"position {position:g} {self.unit} is outside the limits [{low:g}, {high:g}] {self.unit}",
                device=self.name,
            )


class SLM(Device):
    """Phase-only spatial light modulator: shows a phase mask (radians), wrapped and mapped by a LUT."""

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, int]:
        """(height, width) in SLM pixels."""

    @property
    @abc.abstractmethod
    def settle_time_s(self) -> float:
        """Time after ``show`` before the liquid crystal has settled."""

    @abc.abstractmethod
    def show(self, phase_rad: np.ndarray, *, wait: bool = True) -> None:
        """Display ``phase_rad`` (shape ``self.shape``); waits the settle time unless told not to."""

    @abc.abstractmethod
    def current_phase_rad(self) -> np.ndarray:
        """The phase mask last shown, wrapped to [0, 2 pi)."""

    def check_shape(self, phase_rad: np.ndarray) -> None:
        if tuple(phase_rad.shape) != tuple(self.shape):
            raise DeviceError(
                f"phase mask has shape {tuple(phase_rad.shape)}, the SLM needs {tuple(self.shape)}",
                device=self.name,
            )


class Camera(Device):
    """Scientific camera: exposure, ROI, binning, trigger, streaming of uint16 frames."""

    @abc.abstractmethod
    def set_exposure_s(self, exposure_s: float) -> None: ...

    @abc.abstractmethod
    def exposure_s(self) -> float: ...

    @abc.abstractmethod
    def sensor_shape(self) -> tuple[int, int]:
        """(height, width) of the full sensor in pixels."""

    @abc.abstractmethod
    def set_roi(self, roi: Roi) -> None: ...

    @abc.abstractmethod
    def roi(self) -> Roi: ...

    def set_binning(self, binning: int) -> None:
        if binning != 1:
            raise FeatureNotSupported(f"binning {binning} is not available", device=self.name)

    def binning(self) -> int:
        return 1

    @abc.abstractmethod
    def bit_depth(self) -> int:
        """Significant bits per pixel of the delivered frames (e.g. 12 or 16)."""

    @abc.abstractmethod
    def set_trigger_mode(self, mode: TriggerMode) -> None: ...

    @abc.abstractmethod
    def trigger_mode(self) -> TriggerMode: ...

    @abc.abstractmethod
    def start(self) -> None:
        """Start acquisition (free run) or arm it (software trigger)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop acquisition; idempotent."""

    def software_trigger(self) -> None:
        raise FeatureNotSupported("software trigger is not available", device=self.name)

    @abc.abstractmethod
    def read_frame(self, timeout_s: float = 5.0) -> Frame:
        """Next frame (a copy the caller owns); DeviceTimeout if none arrives in time."""

    def temperature_c(self) -> float | None:
        """Sensor temperature where the camera reports one."""
        return None

    def discard_stale_frames(self, timeout_s: float = 5.0) -> int:
        """After an actuator moved: drop frames whose exposure began before this call (free run
        queues them), so the next ``read_frame`` shows the new state. Returns how many were dropped.
        Cameras that expose on request (software trigger, the simulator) have none to drop."""
        return 0

    def continue_frame_numbering(self, last_frame_id: int) -> None:
        """After a restart, number the next frame ``last_frame_id + 1``. Cameras whose frame counter
        lives in hardware ignore this; a simulated camera also continues its noise sequence."""

    def frame_shape(self) -> tuple[int, int]:
        """(height, width) of delivered frames for the current ROI and binning."""
        roi, b = self.roi(), self.binning()
        return roi.height // b, roi.width // b

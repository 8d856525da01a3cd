"""The scientific-camera contract: exposure, ROI, binning, trigger, streaming of uint16 frames."""

from __future__ import annotations

import abc
import math
import time

from drivers.contracts.base import Device
from drivers.contracts.readbacks import CameraCapabilities, CameraReadback
from drivers.contracts.values import Frame, Roi, TriggerMode
from drivers.errors import DeviceError, DeviceTimeout, FeatureNotSupported


class Camera(Device):
    """Settings are checked here against the capability record; drivers implement the hooks."""

    readback_type = CameraReadback
    #: longest single locked wait for a frame; None: the driver's hook takes the whole timeout at once
    #: (the simulator, whose frames take no wall-clock time).
    frame_poll_s: float | None = 0.05

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._last_frame_id: int | None = None
        self._frames_dropped = 0

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _set_exposure_s_hw(self, exposure_s: float) -> None: ...

    @abc.abstractmethod
    def _exposure_s_hw(self) -> float: ...

    @abc.abstractmethod
    def _sensor_shape(self) -> tuple[int, int]:
        """(height, width) of the full sensor (no I/O after connect)."""

    @abc.abstractmethod
    def _set_roi_hw(self, roi: Roi) -> None: ...

    @abc.abstractmethod
    def _roi_hw(self) -> Roi: ...

    def _set_binning_hw(self, binning: int) -> None:
        raise FeatureNotSupported(f"binning {binning} is not available", device=self.name)

    def _binning_hw(self) -> int:
        return 1

    @abc.abstractmethod
    def _bit_depth_hw(self) -> int: ...

    @abc.abstractmethod
    def _set_trigger_mode_hw(self, mode: TriggerMode) -> None: ...

    @abc.abstractmethod
    def _trigger_mode_hw(self) -> TriggerMode: ...

    @abc.abstractmethod
    def _start_hw(self) -> None: ...

    @abc.abstractmethod
    def _stop_hw(self) -> None: ...

    @abc.abstractmethod
    def _acquiring_hw(self) -> bool: ...

    def _software_trigger_hw(self) -> None:
        raise FeatureNotSupported("software trigger is not available", device=self.name)

    @abc.abstractmethod
    def _read_frame_hw(self, timeout_s: float) -> Frame | None:
        """The next frame, or None if none arrived within ``timeout_s`` (the base class retries until
        the caller's timeout); may raise DeviceTimeout itself."""

    def _temperature_c_hw(self) -> float | None:
        return None

    def _frame_rate_hz_hw(self) -> float | None:
        return None

    def _discard_stale_frames_hw(self, timeout_s: float) -> int:
        return 0

    @abc.abstractmethod
    def _camera_capabilities(self) -> CameraCapabilities:
        """The capability record, read at connect (lock held)."""

    # ------------------------------------------------------------------ settings
    def set_exposure_s(self, exposure_s: float) -> None:
        self.check_may_act(f"setting the exposure to {exposure_s:g} s")
        self.require_connected()
        low, high = self.capabilities().exposure_range_s
        if not (math.isfinite(exposure_s) and low < exposure_s <= high):
            raise DeviceError(f"exposure {exposure_s:g} s is outside ({low:g}, {high:g}] s", device=self.name)
        with self.transaction():
            self._set_exposure_s_hw(float(exposure_s))
            self._update_cache(exposure_s=float(exposure_s))

    def exposure_s(self) -> float:
        with self.transaction():
            self.require_connected()
            return self._exposure_s_hw()

    def sensor_shape(self) -> tuple[int, int]:
        """(height, width) of the full sensor in pixels."""
        return self._sensor_shape()

    def set_roi(self, roi: Roi) -> None:
        self.check_may_act("changing the ROI")
        self.require_connected()
        self.check_roi(roi, self.binning())
        with self.transaction():
            self._set_roi_hw(roi)
            self._update_cache(roi=roi)

    def roi(self) -> Roi:
        with self.transaction():
            self.require_connected()
            return self._roi_hw()

    def set_binning(self, binning: int) -> None:
        self.check_may_act(f"setting binning {binning}")
        self.require_connected()
        caps = self.capabilities()
        if binning not in caps.binning_values:
            raise FeatureNotSupported(
                f"binning {binning} is not available (this camera has: {', '.join(map(str, caps.binning_values))})",
                device=self.name)
        self.check_roi(self.roi(), binning)
        with self.transaction():
            self._set_binning_hw(int(binning))
            self._update_cache(binning=int(binning))

    def binning(self) -> int:
        with self.transaction():
            self.require_connected()
            return self._binning_hw()

    def bit_depth(self) -> int:
        """Significant bits per pixel of the delivered frames (e.g. 12 or 16)."""
        with self.transaction():
            self.require_connected()
            return self._bit_depth_hw()

    def set_trigger_mode(self, mode: TriggerMode) -> None:
        self.check_may_act(f"setting the trigger mode to {mode!r}")
        self.require_connected()
        modes = self.capabilities().trigger_modes
        if mode not in modes:
            raise FeatureNotSupported(f"trigger mode {mode!r} is not available (this camera has: {', '.join(modes)})",
                                      device=self.name)
        with self.transaction():
            self._set_trigger_mode_hw(mode)
            self._update_cache(trigger=mode)

    def trigger_mode(self) -> TriggerMode:
        with self.transaction():
            self.require_connected()
            return self._trigger_mode_hw()

    def temperature_c(self) -> float | None:
        """Sensor temperature where the camera reports one."""
        with self.transaction():
            self.require_connected()
            return self._temperature_c_hw()

    def check_roi(self, roi: Roi, binning: int) -> None:
        """The one ROI rule: on the sensor, and a whole number of binned pixels."""
        h, w = self.sensor_shape()
        if roi.x < 0 or roi.y < 0 or roi.width < 1 or roi.height < 1 or roi.x + roi.width > w \
                or roi.y + roi.height > h:
            raise DeviceError(f"ROI {roi} does not fit the {w} x {h} sensor", device=self.name)
        if roi.width % binning or roi.height % binning:
            raise DeviceError(f"ROI {roi.width} x {roi.height} is not a multiple of binning {binning}",
                              device=self.name)

    # ------------------------------------------------------------------ acquisition
    def start(self) -> None:
        """Start acquisition (free run) or arm it (software trigger)."""
        self.check_may_act("starting acquisition")
        with self.transaction():
            self.require_connected()
            self._start_hw()
            self._last_frame_id = None
            self._frames_dropped = 0
            self._update_cache(acquiring=True, frames_dropped=0)

    def stop(self) -> None:
        """Stop acquisition; idempotent. Like ``close()`` and emission-off it moves the bench towards
        its safe state, so it is accepted from any thread."""
        with self.transaction(priority=True):
            if self.connected:
                self._stop_hw()
            self._update_cache(acquiring=False)

    def software_trigger(self) -> None:
        self.check_may_act("triggering a frame")
        with self.transaction():
            self.require_connected()
            self._software_trigger_hw()

    def read_frame(self, timeout_s: float = 5.0) -> Frame:
        """Next frame (a copy the caller owns); DeviceTimeout if none arrives in time. Taking a frame
        consumes it, so during a run only the run's threads may read frames."""
        self.check_may_act("reading a frame")
        self.require_connected()
        if self.frame_poll_s is None:
            with self.transaction():
                frame = self._read_frame_hw(timeout_s)
            if frame is None:
                raise DeviceTimeout(f"no frame within {timeout_s:g} s", device=self.name)
            return self._count(frame)
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            with self.transaction():
                self.require_connected()
                frame = self._read_frame_hw(max(min(self.frame_poll_s, remaining), 0.001))
            if frame is not None:
                return self._count(frame)
            if time.monotonic() >= deadline:
                raise DeviceTimeout(f"no frame within {timeout_s:g} s", device=self.name)

    def discard_stale_frames(self, timeout_s: float = 5.0) -> int:
        """After an actuator moved: drop frames whose exposure began before this call (free run
        queues them), so the next ``read_frame`` shows the new state. Returns how many were dropped.
        Cameras that expose on request (software trigger, the simulator) have none to drop."""
        self.check_may_act("discarding frames")
        self.require_connected()
        return self._discard_stale_frames_hw(timeout_s)

    def continue_frame_numbering(self, last_frame_id: int) -> None:
        """After a restart, number the next frame ``last_frame_id + 1``. Cameras whose frame counter
        lives in hardware ignore this; a simulated camera also continues its noise sequence."""
        self._last_frame_id = int(last_frame_id)

    def frame_shape(self) -> tuple[int, int]:
        """(height, width) of delivered frames for the current ROI and binning."""
        roi, b = self.roi(), self.binning()
        return roi.height // b, roi.width // b

    @property
    def frames_dropped(self) -> int:
        """Frames lost since start(), from gaps in the frame ids."""
        return self._frames_dropped

    def _count(self, frame: Frame) -> Frame:
        if self._last_frame_id is not None and frame.frame_id > self._last_frame_id + 1:
            self._frames_dropped += frame.frame_id - self._last_frame_id - 1
            self._update_cache(frames_dropped=self._frames_dropped)
        self._last_frame_id = frame.frame_id
        return frame

    # ------------------------------------------------------------------ observable state
    def _read_state_hw(self) -> CameraReadback:
        return CameraReadback(exposure_s=self._exposure_s_hw(), roi=self._roi_hw(), binning=self._binning_hw(),
                              trigger=self._trigger_mode_hw(), temperature_c=self._temperature_c_hw(),
                              frame_rate_hz=self._frame_rate_hz_hw(), acquiring=self._acquiring_hw(),
                              frames_dropped=self._frames_dropped)

    def _capabilities_hw(self) -> CameraCapabilities:
        return self._camera_capabilities()

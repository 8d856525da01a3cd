"""Simulated sCMOS camera: renders each frame from the world through optics and the noise chain."""

from __future__ import annotations

from drivers.interfaces import Camera, DeviceError, DeviceTimeout, Frame, Roi, TriggerMode
from sim_backends.devices.base import SimDeviceMixin
from sim_backends.noise import electrons_to_adu
from sim_backends.optics import expected_electrons

READOUT_TIME_S = 0.01  # rolling-shutter readout of a full frame, sets the minimum frame period


class SimCamera(SimDeviceMixin, Camera):
    model = "simulated sCMOS camera"

    def __init__(self, world, name="camera"):
        super().__init__(world, name)
        cfg = world.camera
        self._exposure_s = cfg.exposure_s
        self._roi = Roi(cfg.roi.x, cfg.roi.y, cfg.roi.width, cfg.roi.height)
        self._check_roi(self._roi)
        self._trigger: TriggerMode = "free_run"
        self._running = False
        self._pending_triggers = 0
        self._frame_id = 0

    def close(self) -> None:
        self._running = False
        self._connected = False

    # -- settings -------------------------------------------------------------------------------
    def set_exposure_s(self, exposure_s: float) -> None:
        if not 0 < exposure_s <= 60:
            raise DeviceError(f"exposure {exposure_s:g} s outside (0, 60] s", device=self.name)
        self._exposure_s = float(exposure_s)

    def exposure_s(self) -> float:
        return self._exposure_s

    def sensor_shape(self) -> tuple[int, int]:
        return self.world.sensor_shape

    def set_roi(self, roi: Roi) -> None:
        self._check_roi(roi)
        self._roi = roi

    def roi(self) -> Roi:
        return self._roi

    def bit_depth(self) -> int:
        return 16

    def set_trigger_mode(self, mode: TriggerMode) -> None:
        if mode not in ("free_run", "software"):
            raise DeviceError(f"unknown trigger mode {mode!r}", device=self.name)
        self._trigger = mode

    def trigger_mode(self) -> TriggerMode:
        return self._trigger

    # -- acquisition ----------------------------------------------------------------------------
    def start(self) -> None:
        self.require_connected()
        self._running = True

    def stop(self) -> None:
        self._running = False

    def software_trigger(self) -> None:
        self._pending_triggers += 1

    def read_frame(self, timeout_s: float = 5.0) -> Frame:
        self.require_connected()
        if not self._running:
            raise DeviceError("read_frame() before start()", device=self.name)
        if self._trigger == "software":
            if self._pending_triggers == 0:
                raise DeviceTimeout(f"no software trigger within {timeout_s:g} s", device=self.name)
            self._pending_triggers -= 1
        world, cfg = self.world, self.world.camera
        with world.lock:
            mean_e = expected_electrons(world, self._slices(), self._exposure_s)
            adu = electrons_to_adu(
                world.rng,
                mean_e,
                world.read_noise_map_e[self._slices()],
                gain_e_per_adu=cfg.gain_e_per_adu,
                offset_adu=cfg.offset_adu,
                full_well_e=cfg.full_well_e,
            )
            world.clock_s += max(self._exposure_s, READOUT_TIME_S)
            self._frame_id += 1
            return Frame(adu, self._frame_id, world.clock_s, {"exposure_s": self._exposure_s})

    def _slices(self):
        r = self._roi
        return slice(r.y, r.y + r.height), slice(r.x, r.x + r.width)

    def _check_roi(self, roi: Roi) -> None:
        h, w = self.world.sensor_shape
        if roi.x < 0 or roi.y < 0 or roi.x + roi.width > w or roi.y + roi.height > h:
            raise DeviceError(f"ROI {roi} does not fit the {w} x {h} sensor", device=self.name)

    def status(self):
        return {**super().status(), "running": self._running, "exposure_s": self._exposure_s}

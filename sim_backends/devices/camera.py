"""Simulated sCMOS camera: renders each frame from the world through the optics and the noise chain.

Timing: frame period = exposure + rows * row_time (exposure, then rolling readout of the ROI). In free
run frames follow each other at that period from start(); with a software trigger one frame is taken
per trigger. Timestamps are simulated seconds (end of readout), frame ids count from 1 per start().
"""

from __future__ import annotations

from drivers.interfaces import Camera, DeviceError, DeviceTimeout, Frame, Roi, TriggerMode
from sim_backends.devices.base import SimDeviceMixin
from sim_backends.noise import TierPlan, electrons_to_adu, noisy_electrons


class SimCamera(SimDeviceMixin, Camera):
    model = "simulated sCMOS camera"

    def __init__(self, world, name="camera", *, faults=None):
        super().__init__(world, name, faults=faults or world.camera.faults)
        cfg = world.camera
        self._exposure_s = cfg.exposure_s
        self._roi = Roi(cfg.roi.x, cfg.roi.y, cfg.roi.width, cfg.roi.height)
        self._binning = int(cfg.binning)
        self._check_roi(self._roi, self._binning)
        self._trigger: TriggerMode = "free_run"
        self._running = False
        self._pending_triggers = 0
        self._frame_id = 0
        self._read_maps = {}
        self._plan, self._plan_key = None, None
        self.exact_poisson = False  # True: numpy's Poisson sampler for every pixel (benchmark baseline)

    def close(self) -> None:
        self._running = False
        self._connected = False

    # -- settings -------------------------------------------------------------------------------
    def set_exposure_s(self, exposure_s: float) -> None:
        self._call("set_exposure_s")
        if not 0 < exposure_s <= 60:
            raise DeviceError(f"exposure {exposure_s:g} s outside (0, 60] s", device=self.name)
        self._exposure_s = float(exposure_s)

    def exposure_s(self) -> float:
        self._call("exposure_s")
        return self._exposure_s

    def sensor_shape(self) -> tuple[int, int]:
        return self.world.sensor_shape

    def set_roi(self, roi: Roi) -> None:
        self._call("set_roi")
        self._check_roi(roi, self._binning)
        self._roi = roi

    def roi(self) -> Roi:
        return self._roi

    def set_binning(self, binning: int) -> None:
        self._call("set_binning")
        if binning not in (1, 2, 4):
            raise DeviceError(f"binning {binning} not available (1, 2 or 4)", device=self.name)
        self._check_roi(self._roi, binning)
        self._binning = int(binning)

    def binning(self) -> int:
        return self._binning

    def bit_depth(self) -> int:
        return 16

    def set_trigger_mode(self, mode: TriggerMode) -> None:
        self._call("set_trigger_mode")
        if mode not in ("free_run", "software"):
            raise DeviceError(f"unknown trigger mode {mode!r}", device=self.name)
        self._trigger = mode

    def trigger_mode(self) -> TriggerMode:
        return self._trigger

    def frame_period_s(self) -> float:
        """Exposure plus rolling readout of the ROI's rows."""
        return self._exposure_s + self._roi.height * self.world.camera.row_time_us * 1e-6

    def temperature_c(self) -> float | None:
        return -10.0

    # -- acquisition ----------------------------------------------------------------------------
    def start(self) -> None:
        self._call("start")
        self.require_connected()
        self._running = True
        self._frame_id = 0
        self._pending_triggers = 0

    def stop(self) -> None:
        self._running = False

    def software_trigger(self) -> None:
        self._call("software_trigger")
        self._pending_triggers += 1

    def read_frame(self, timeout_s: float = 5.0) -> Frame:
        call = self._call("read_frame")
        self.require_connected()
        if not self._running:
            raise DeviceError("read_frame() before start()", device=self.name)
        if self._trigger == "software":
            if self._pending_triggers == 0:
                self.world.advance(timeout_s)
                raise DeviceTimeout(f"no software trigger within {timeout_s:g} s", device=self.name)
            self._pending_triggers -= 1
        world, cfg = self.world, self.world.camera
        with world.lock:
            if self.faults.drops_frame(call):  # the frame is lost in transfer: time passes, its id is skipped
                world.advance(self.frame_period_s())
                world.next_frame_rng()
                self._frame_id += 1
            slices = self._slices()
            rng = world.next_frame_rng()
            mean_e = world.optics.expected_electrons(slices, self._exposure_s, binning=self._binning, rng=rng)
            electrons = noisy_electrons(rng, mean_e, self._read_noise(slices), plan=self._tier_plan(slices),
                                        full_well_e=cfg.full_well_e * self._binning**2, exact=self.exact_poisson)
            adu = electrons_to_adu(electrons, gain_e_per_adu=cfg.gain_e_per_adu, offset_adu=cfg.offset_adu)
            world.advance(self.frame_period_s())
            self._frame_id += 1
            return Frame(adu, self._frame_id, world.clock_s,
                         {"exposure_s": self._exposure_s, "binning": self._binning, "roi": self._roi})

    def continue_frame_numbering(self, last_frame_id: int) -> None:
        with self.world.lock:
            self._frame_id = int(last_frame_id)
            self.world.frame_serial = int(last_frame_id)

    def _tier_plan(self, slices) -> TierPlan | None:
        """The shot-noise sampler's tiers for the current scene (rebuilt when the scene changes)."""
        if self.exact_poisson:
            return None
        key = self.world.optics.scene_key(slices, self._exposure_s, self._binning)
        if self._plan_key != key:
            lo, hi = self.world.optics.electron_bounds(slices, self._exposure_s, binning=self._binning)
            self._plan, self._plan_key = TierPlan(lo, hi), key
        return self._plan

    def _read_noise(self, slices):
        """Read noise per delivered pixel: binned pixels add their variances (digital binning)."""
        key = (slices[0].start, slices[0].stop, slices[1].start, slices[1].stop, self._binning)
        if key not in self._read_maps:
            from sim_backends.optics import _bin

            var = self.world.read_noise_map_e[slices] ** 2
            self._read_maps = {key: (_bin(var, self._binning) ** 0.5).astype("float32")}
        return self._read_maps[key]

    def _slices(self):
        r = self._roi
        return slice(r.y, r.y + r.height), slice(r.x, r.x + r.width)

    def _check_roi(self, roi: Roi, binning: int) -> None:
        h, w = self.world.sensor_shape
        if roi.x < 0 or roi.y < 0 or roi.x + roi.width > w or roi.y + roi.height > h:
            raise DeviceError(f"ROI {roi} does not fit the {w} x {h} sensor", device=self.name)
        if roi.width % binning or roi.height % binning:
            raise DeviceError(f"ROI {roi.width} x {roi.height} is not a multiple of binning {binning}",
                              device=self.name)

    def status(self):
        return {**super().status(), "running": self._running, "exposure_s": self._exposure_s,
                "frame_id": self._frame_id}

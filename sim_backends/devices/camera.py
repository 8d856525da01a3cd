"""Simulated sCMOS camera: renders each frame from the world through the optics and the noise chain.

Timing: frame period = exposure + rows * row_time (exposure, then rolling readout of the ROI). In free
run frames follow each other at that period from start(); with a software trigger one frame is taken
per trigger. Timestamps are simulated seconds (end of readout), frame ids count from 1 per start().
"""

from __future__ import annotations

from drivers.contracts import Camera, CameraCapabilities, Frame, Roi, TriggerMode
from drivers.errors import DeviceError, DeviceTimeout
from sim_backends.devices.base import SimDeviceMixin
from sim_backends.noise import TierPlan, electrons_to_adu, noisy_electrons


class SimCamera(SimDeviceMixin, Camera):
    model = "simulated sCMOS camera"
    frame_poll_s = None  # frames take simulated time only: one transaction per read_frame
    binning_values = (1, 2, 4)
    max_exposure_s = 60.0

    def __init__(self, world, name="camera", *, faults=None):
        super().__init__(world, name, faults=faults or world.camera.faults)
        cfg = world.camera
        self._exposure_s = cfg.exposure_s
        self._roi = Roi(cfg.roi.x, cfg.roi.y, cfg.roi.width, cfg.roi.height)
        self._binning = int(cfg.binning)
        self._check_initial_roi()
        self._trigger: TriggerMode = "free_run"
        self._running = False
        self._pending_triggers = 0
        self._frame_id = 0
        self._read_maps = {}
        self._plan, self._plan_key = None, None
        self.exact_poisson = False  # True: numpy's Poisson sampler for every pixel (benchmark baseline)

    def _close_hw(self) -> None:
        self._running = False
        self._connected = False

    def _camera_capabilities(self) -> CameraCapabilities:
        return CameraCapabilities(sensor_shape=tuple(self.world.sensor_shape), has_binning=True,
                                  binning_values=self.binning_values, trigger_modes=("free_run", "software"),
                                  has_temperature=True, exposure_range_s=(0.0, self.max_exposure_s), bit_depth=16)

    # -- settings -------------------------------------------------------------------------------
    def _set_exposure_s_hw(self, exposure_s: float) -> None:
        self._call("set_exposure_s")
        self._exposure_s = float(exposure_s)

    def _exposure_s_hw(self) -> float:
        return self._exposure_s

    def _sensor_shape(self) -> tuple[int, int]:
        return self.world.sensor_shape

    def _set_roi_hw(self, roi: Roi) -> None:
        self._call("set_roi")
        self._roi = roi

    def _roi_hw(self) -> Roi:
        return self._roi

    def _set_binning_hw(self, binning: int) -> None:
        self._call("set_binning")
        self._binning = int(binning)

    def _binning_hw(self) -> int:
        return self._binning

    def _bit_depth_hw(self) -> int:
        return 16

    def _set_trigger_mode_hw(self, mode: TriggerMode) -> None:
        self._call("set_trigger_mode")
        self._trigger = mode

    def _trigger_mode_hw(self) -> TriggerMode:
        return self._trigger

    def frame_period_s(self) -> float:
        """Exposure plus rolling readout of the ROI's rows."""
        return self._exposure_s + self._roi.height * self.world.camera.row_time_us * 1e-6

    def _frame_rate_hz_hw(self) -> float | None:
        return 1.0 / self.frame_period_s()

    def _temperature_c_hw(self) -> float | None:
        return -10.0

    def _acquiring_hw(self) -> bool:
        return self._running

    # -- acquisition ----------------------------------------------------------------------------
    def _start_hw(self) -> None:
        self._call("start")
        self._running = True
        self._frame_id = 0
        self._pending_triggers = 0

    def _stop_hw(self) -> None:
        self._running = False

    def _software_trigger_hw(self) -> None:
        self._call("software_trigger")
        self._pending_triggers += 1

    def _read_frame_hw(self, timeout_s: float) -> Frame:
        call = self._call("read_frame")
        if not self._running:
            raise DeviceError("read_frame() before start()", device=self.name)
        if self._trigger == "software":
            if self._pending_triggers == 0:
                self.world.advance(timeout_s)
                raise DeviceTimeout(f"no software trigger within {timeout_s:g} s", device=self.name)
            self._pending_triggers -= 1
        world, cfg, period_s = self.world, self.world.camera, self.frame_period_s()
        with world.lock:
            elapsed_s = period_s
            if self.faults.drops_frame(call):  # the frame is lost in transfer: time passes, its id is skipped
                elapsed_s += period_s
                world.advance_clock(period_s)
                world.next_frame_rng()
                self._frame_id += 1
            slices = self._slices()
            rng = world.next_frame_rng()
            mean_e = world.optics.expected_electrons(slices, self._exposure_s, binning=self._binning, rng=rng)
            electrons = noisy_electrons(rng, mean_e, self._read_noise(slices), plan=self._tier_plan(slices),
                                        full_well_e=cfg.full_well_e * self._binning**2, exact=self.exact_poisson)
            offset = cfg.offset_adu if world.offset_fpn_adu is None else cfg.offset_adu + world.offset_map_adu(slices, self._binning)
            adu = electrons_to_adu(electrons, gain_e_per_adu=cfg.gain_e_per_adu, offset_adu=offset)
            world.advance_clock(period_s)
            self._frame_id += 1
            frame = Frame(adu, self._frame_id, world.clock_s,
                          {"exposure_s": self._exposure_s, "binning": self._binning, "roi": self._roi})
        world.pass_wall_time(elapsed_s)  # outside the lock: the other devices stay free during the exposure
        return frame

    def continue_frame_numbering(self, last_frame_id: int) -> None:
        super().continue_frame_numbering(last_frame_id)
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

    def _check_initial_roi(self) -> None:
        """The configured ROI, checked with the contract's one ROI rule before anything connects."""
        self.check_roi(self._roi, self._binning)

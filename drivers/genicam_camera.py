"""A GenICam (GenTL) camera through harvesters, as the bench's :class:`Camera`.

Opens a producer (``.cti``) and picks the device by serial number or index. Each feature is used only
where the device has the node; a missing one raises :class:`FeatureNotSupported` naming the node.
Frames are fetched with a timeout and copied before the buffer goes back to the producer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from drivers.contracts import Camera, CameraCapabilities, DeviceIdentity, Frame, Roi, TriggerMode
from drivers.errors import DeviceError, DeviceNotConnected, DeviceTimeout, FeatureNotSupported

_BIT_DEPTH = {"Mono8": 8, "Mono10": 10, "Mono12": 12, "Mono14": 14, "Mono16": 16}

STALE_FRAME_MARGIN_S = 0.01  # transfer latency allowed for when deciding a frame was exposed after a move


class GenicamCamera(Camera):
    """One GenTL device; ``pixel_format`` is applied at connect when the device offers it."""

    def __init__(
        self,
        *,
        producer_path: str | Path,
        serial_number: str | None = None,
        index: int = 0,
        pixel_format: str | None = None,
        name: str = "camera",
    ):
        super().__init__(name)
        self.producer_path = Path(producer_path)
        self.serial_number = serial_number
        self.index = index
        self.requested_pixel_format = pixel_format
        self._harvester: Any = None
        self._acquirer: Any = None
        self._trigger: TriggerMode = "free_run"
        self._fresh: Frame | None = None  # kept by discard_stale_frames for the next read_frame

    # ------------------------------------------------------------------ life cycle
    @property
    def connected(self) -> bool:
        return self._acquirer is not None

    def _connect_hw(self) -> None:
        if not self.producer_path.is_file():
            raise DeviceNotConnected(f"GenTL producer {str(self.producer_path)!r} not found", device=self.name)
        from harvesters.core import Harvester

        harvester = Harvester()
        try:
            harvester.add_file(str(self.producer_path))
            harvester.update()
            selector = {"serial_number": self.serial_number} if self.serial_number else self.index
            if not harvester.device_info_list:
                raise DeviceNotConnected(f"producer {self.producer_path.name} lists no camera", device=self.name)
            self._acquirer = _create_keeping_sigint(harvester, selector)
        except DeviceError:
            harvester.reset()
            raise
        except Exception as exc:  # harvesters raises ValueError/IndexError/GenTL errors for a bad selector
            harvester.reset()
            raise DeviceNotConnected(f"cannot open camera {selector!r}: {exc}", device=self.name) from None
        self._harvester = harvester
        try:
            if self.requested_pixel_format:
                self.set_pixel_format(self.requested_pixel_format)
            self._configure()
        except Exception:
            self._close_hw()
            raise

    def _configure(self) -> None:
        """Settings applied right after connecting (the bench factory's configured camera overrides it)."""

    def _close_hw(self) -> None:
        """Stop streaming, give the device and the producer back; safe to call twice."""
        if self._acquirer is not None:
            try:
                self._stop_hw()
            finally:
                try:
                    self._acquirer.destroy()
                finally:
                    self._acquirer = None
        if self._harvester is not None:
            self._harvester.reset()
            self._harvester = None

    # ------------------------------------------------------------------ nodes
    def _nodes(self):
        self.require_connected()
        return self._acquirer.remote_device.node_map

    def has_feature(self, feature: str) -> bool:
        return bool(self._nodes().has_node(feature))

    def node(self, feature: str):
        """The GenICam node ``feature``; FeatureNotSupported (never AttributeError) when absent."""
        nodes = self._nodes()
        if not nodes.has_node(feature):
            raise FeatureNotSupported(f"the camera has no '{feature}' feature (GenICam node)", device=self.name)
        return getattr(nodes, feature)

    def get_feature(self, feature: str):
        return self.node(feature).value

    def set_feature(self, feature: str, value) -> None:
        node = self.node(feature)
        try:
            node.value = value
        except Exception as exc:
            raise DeviceError(f"cannot set '{feature}' to {value!r}: {exc}", device=self.name) from None

    # ------------------------------------------------------------------ Camera hooks
    def _identity_hw(self) -> DeviceIdentity:
        info = self._acquirer.device.module
        def field(getter: str) -> str:
            try:
                return str(getattr(info, getter))
            except Exception:  # noqa: BLE001 - producers omit optional info
                return ""
        return DeviceIdentity(vendor=field("vendor"), model=field("model"), serial=field("serial_number"),
                              firmware=field("version"))

    def _camera_capabilities(self) -> CameraCapabilities:
        binning_values = (1,)
        if self.has_feature("BinningHorizontal"):
            node = self.node("BinningHorizontal")
            try:
                binning_values = tuple(b for b in (1, 2, 3, 4, 8) if int(node.min) <= b <= int(node.max))
            except Exception:  # noqa: BLE001 - a node without range: what it says now
                binning_values = (1, int(node.value))
        trigger_modes = ("free_run", "software") if self.has_feature("TriggerSoftware") else ("free_run",)
        exposure = (0.0, float("inf"))
        if self.has_feature("ExposureTime"):
            node = self.node("ExposureTime")
            try:
                exposure = (float(node.min) * 1e-6, float(node.max) * 1e-6)
            except Exception:  # noqa: BLE001
                pass
        return CameraCapabilities(sensor_shape=self._sensor_shape(), has_binning=len(binning_values) > 1,
                                  binning_values=binning_values, trigger_modes=trigger_modes,
                                  has_temperature=self.has_feature("DeviceTemperature"),
                                  exposure_range_s=(exposure[0] if exposure[0] > 0 else 0.0, exposure[1]),
                                  bit_depth=self._bit_depth_hw())

    def _set_exposure_s_hw(self, exposure_s: float) -> None:
        self.set_feature("ExposureTime", exposure_s * 1e6)  # GenICam SFNC: microseconds

    def _exposure_s_hw(self) -> float:
        return float(self.get_feature("ExposureTime")) * 1e-6

    def set_frame_rate_hz(self, rate_hz: float) -> None:
        self.check_may_act(f"setting the frame rate to {rate_hz:g} Hz")
        with self.transaction():
            if self.has_feature("AcquisitionFrameRateEnable"):
                self.set_feature("AcquisitionFrameRateEnable", True)
            self.set_feature("AcquisitionFrameRate", rate_hz)

    def frame_rate_hz(self) -> float:
        with self.transaction():
            return float(self.get_feature("AcquisitionFrameRate"))

    def _frame_rate_hz_hw(self) -> float | None:
        if self.has_feature("AcquisitionFrameRate"):
            return float(self.get_feature("AcquisitionFrameRate"))
        return None

    def _sensor_shape(self) -> tuple[int, int]:
        for h, w in (("SensorHeight", "SensorWidth"), ("HeightMax", "WidthMax")):
            if self.has_feature(h) and self.has_feature(w):
                return int(self.get_feature(h)), int(self.get_feature(w))
        return int(self.node("Height").max), int(self.node("Width").max)

    def _set_roi_hw(self, roi: Roi) -> None:
        self._require_stopped("change the ROI")
        if (roi.x or roi.y) and not (self.has_feature("OffsetX") and self.has_feature("OffsetY")):
            raise FeatureNotSupported("the camera has no 'OffsetX'/'OffsetY' feature (GenICam node)",
                                      device=self.name)
        if self.has_feature("OffsetX"):  # shrink first, move, then grow: every step stays valid
            self.set_feature("OffsetX", 0)
            self.set_feature("OffsetY", 0)
        self.set_feature("Width", roi.width)
        self.set_feature("Height", roi.height)
        if roi.x or roi.y:
            self.set_feature("OffsetX", roi.x)
            self.set_feature("OffsetY", roi.y)

    def _roi_hw(self) -> Roi:
        x = int(self.get_feature("OffsetX")) if self.has_feature("OffsetX") else 0
        y = int(self.get_feature("OffsetY")) if self.has_feature("OffsetY") else 0
        return Roi(x=x, y=y, width=int(self.get_feature("Width")), height=int(self.get_feature("Height")))

    def _set_binning_hw(self, binning: int) -> None:
        if binning == 1 and not self.has_feature("BinningHorizontal"):
            return
        self.set_feature("BinningHorizontal", binning)
        self.set_feature("BinningVertical", binning)

    def _binning_hw(self) -> int:
        return int(self.get_feature("BinningHorizontal")) if self.has_feature("BinningHorizontal") else 1

    def set_pixel_format(self, pixel_format: str) -> None:
        with self.transaction():
            self._require_stopped("change the pixel format")
            offered = tuple(self.node("PixelFormat").symbolics)
            if pixel_format not in offered:
                raise FeatureNotSupported(
                    f"pixel format {pixel_format!r} not offered (offered: {', '.join(offered)})", device=self.name)
            self.set_feature("PixelFormat", pixel_format)

    def pixel_format(self) -> str:
        return str(self.get_feature("PixelFormat"))

    def _bit_depth_hw(self) -> int:
        fmt = self.pixel_format()
        if fmt not in _BIT_DEPTH:
            raise DeviceError(f"pixel format {fmt!r} is not a monochrome format", device=self.name)
        return _BIT_DEPTH[fmt]

    def _set_trigger_mode_hw(self, mode: TriggerMode) -> None:
        self._require_stopped("change the trigger mode")
        if mode == "free_run" and not self.has_feature("TriggerMode"):
            self._trigger = mode  # no trigger node: the camera free-runs anyway
            return
        if self.has_feature("TriggerSelector"):
            self.set_feature("TriggerSelector", "FrameStart")
        self.set_feature("TriggerMode", "On" if mode == "software" else "Off")
        if mode == "software":
            self.set_feature("TriggerSource", "Software")
        self._trigger = mode

    def _trigger_mode_hw(self) -> TriggerMode:
        return self._trigger

    def _software_trigger_hw(self) -> None:
        self.node("TriggerSoftware").execute()

    def _temperature_c_hw(self) -> float | None:
        return float(self.get_feature("DeviceTemperature")) if self.has_feature("DeviceTemperature") else None

    def _acquiring_hw(self) -> bool:
        return self._acquirer is not None and bool(self._acquirer.is_acquiring())

    def _start_hw(self) -> None:
        if not self._acquirer.is_acquiring():
            self._bit_depth_hw()  # refuse colour formats before streaming
            self._acquirer.start()

    def _stop_hw(self) -> None:
        self._fresh = None
        if self._acquirer is not None and self._acquirer.is_acquiring():
            self._acquirer.stop()

    def _discard_stale_frames_hw(self, timeout_s: float) -> int:
        """Free run: drop queued frames and the one in exposure, i.e. every frame that arrives less
        than one frame period (plus a latency margin) after this call. Each fetch is one short
        transaction, so other callers are not held up for the whole wait."""
        with self.transaction():
            if self._trigger == "software" or not self._acquirer.is_acquiring():
                return 0
            earliest = time.monotonic() + self._frame_period_s() + STALE_FRAME_MARGIN_S
        deadline = earliest + timeout_s
        dropped = 0
        while True:
            with self.transaction():
                frame = self._fetch(min(max(deadline - time.monotonic(), 0.001), self.frame_poll_s))
            if frame is None:
                if time.monotonic() >= deadline:
                    raise DeviceTimeout(f"no frame within {timeout_s:g} s", device=self.name)
                continue
            if time.monotonic() >= earliest:
                self._fresh = frame
                return dropped
            dropped += 1

    def _frame_period_s(self) -> float:
        if self.has_feature("AcquisitionFrameRate"):
            return 1.0 / float(self.get_feature("AcquisitionFrameRate"))
        if self.has_feature("ExposureTime"):
            return float(self.get_feature("ExposureTime")) * 1e-6
        return 0.1  # unknown: a conservative sCMOS frame period

    def _read_frame_hw(self, timeout_s: float) -> Frame | None:
        if not self._acquirer.is_acquiring():
            raise DeviceError("read_frame() before start()", device=self.name)
        if self._fresh is not None:  # the first frame after discard_stale_frames()
            frame, self._fresh = self._fresh, None
            return frame
        return self._fetch(timeout_s)

    def _fetch(self, timeout_s: float) -> Frame | None:
        """One frame, or None if none arrived within ``timeout_s``."""
        from genicam.gentl import TimeoutException

        try:
            with self._acquirer.fetch(timeout=timeout_s) as buffer:
                component = buffer.payload.components[0]
                data = component.data.reshape(component.height, component.width).astype(np.uint16, copy=True)
                frame_id = int(buffer.module.frame_id)
                fmt = component.data_format
        except TimeoutException:
            return None
        return Frame(data=data, frame_id=frame_id, timestamp_s=time.time(), metadata={"pixel_format": fmt})

    def _require_stopped(self, what: str) -> None:
        self.require_connected()
        if self._acquirer.is_acquiring():
            raise DeviceError(f"stop acquisition before trying to {what}", device=self.name)


def viky_producer_path() -> Path:
    """The simulated GenTL producer shipped in the ``genicam`` wheel (for tests and demos)."""
    import genicam

    return Path(genicam.__file__).parent / "viky.cti"


def _create_keeping_sigint(harvester, selector):
    """``harvester.create`` without its SIGINT handler: harvesters installs one that swallows Ctrl-C,
    so a run would go on (laser on) instead of stopping; we keep the application's handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return harvester.create(selector)
    previous = signal.getsignal(signal.SIGINT)
    try:
        return harvester.create(selector)
    finally:
        signal.signal(signal.SIGINT, previous)

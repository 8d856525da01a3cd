"""Per-device config sections, one pydantic model per backend, discriminated by ``backend``.

Add a real backend by adding its model here and to the device's union; the bench factory
(``app/bench_factory.py``) maps the model to a driver. Every model forbids unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

# The simulated devices' tables live with the simulator (sim_backends imports nothing from app); re-exported.
from sim_backends.settings import (  # noqa: F401
    RoiConfig,
    Section,
    SimCameraConfig,
    SimCameraFaultsConfig,
    SimDelayStageConfig,
    SimFaultsConfig,
    SimLaserConfig,
    SimLaserFaultsConfig,
    SimPiezoConfig,
    SimSampleStageConfig,
    SimSlmConfig,
)


# ---------------------------------------------------------------------------- laser
class SerialLinkConfig(Section):
    """How a serial-protocol driver reaches its device."""

    port: str = Field(
        description="COM3, /dev/ttyUSB0, socket://host:port, or 'emulator' / 'emulator:tcp' to start the "
        "protocol emulator wired to the simulated bench"
    )
    baudrate: int = Field(115200, ge=300, le=4_000_000)
    timeout_s: float = Field(1.0, gt=0.0, le=30.0, description="longest wait for any reply")


class ObisLaserConfig(SerialLinkConfig):
    """Coherent OBIS (SCPI over serial)."""

    backend: Literal["obis"]
    max_power_w: float = Field(0.1, gt=0, le=10.0, description="highest allowed setpoint (also capped by the head)")


class IBeamSmartLaserConfig(SerialLinkConfig):
    """Toptica iBeam smart (through pymeasure's IBeamSmart driver)."""

    backend: Literal["ibeam-smart"]
    max_power_w: float = Field(0.1, gt=0, le=0.2, description="highest allowed setpoint")
    channel: int = Field(2, ge=1, le=5, description="driver channel that carries the CW power")


LaserConfig = Annotated[
    Union[SimLaserConfig, ObisLaserConfig, IBeamSmartLaserConfig], Field(discriminator="backend")
]


# ---------------------------------------------------------------------------- stages
class Mdt693bPiezoConfig(SerialLinkConfig):
    """Thorlabs MDT693B/MDT694B open-loop piezo controller, one channel, in volts."""

    backend: Literal["mdt693b"]
    channel: Literal["x", "y", "z"] = "x"
    prompt: str = Field(">", min_length=1, max_length=4, description="end-of-reply prompt of the firmware")
    min_v: float = Field(0.0, ge=0.0, le=150.0)
    max_v: float = Field(75.0, gt=0.0, le=150.0)
    readback_tolerance_v: float = Field(0.15, gt=0.0, le=5.0, description="largest setpoint-readback mismatch")
    settle_time_s: float = Field(0.0, ge=0.0, le=5.0, description="mechanical settle time after a step")
    displacement_um_per_v: float = Field(0.1, gt=0.0, le=10.0, description="mirror travel per volt (emulator)")


class PiGcsDelayStageConfig(SerialLinkConfig):
    """Physik Instrumente GCS 2.0 closed-loop controller (E-709/E-727 class), one axis, in um."""

    backend: Literal["pi-gcs"]
    axis: str = Field("1", min_length=1, max_length=8)
    min_um: float = Field(0.0, ge=-1e5, le=1e5)
    max_um: float = Field(100.0, ge=-1e5, le=1e5)
    settle_timeout_s: float = Field(5.0, gt=0.0, le=120.0, description="longest wait for on-target")


PiezoConfig = Annotated[Union[SimPiezoConfig, Mdt693bPiezoConfig], Field(discriminator="backend")]
DelayStageConfig = Annotated[Union[SimDelayStageConfig, PiGcsDelayStageConfig], Field(discriminator="backend")]
SampleStageConfig = Annotated[Union[SimSampleStageConfig], Field(discriminator="backend")]


# ---------------------------------------------------------------------------- SLM
class ScreenSlmConfig(Section):
    """An SLM connected as a secondary monitor (frameless full-screen window)."""

    backend: Literal["screen"]
    screen: str | int = Field(1, description="screen name (e.g. 'HDMI-1') or index in Qt's screen list")
    lut_path: str | None = Field(None, description="gray-level LUT file; linear 0..255 when absent")
    settle_time_s: float = Field(0.1, ge=0.0, le=5.0, description="liquid-crystal settle time after a mask")
    dither: Literal["bayer4", "bayer8", "off"] = Field(
        "bayer4", description="phase to gray: ordered dithering of the interpolated LUT on 4 x 4 or 8 x 8 tiles "
        "(sub-gray phase), or 'off' (floor rule); docs/decisions/0052-slm-dithering.md")


SlmConfig = Annotated[Union[SimSlmConfig, ScreenSlmConfig], Field(discriminator="backend")]


# ---------------------------------------------------------------------------- camera
class GenicamCameraConfig(Section):
    """A GenICam camera through a GenTL producer (.cti) with harvesters."""

    backend: Literal["genicam"]
    producer_path: str = Field(description="the vendor's or frame grabber's GenTL producer (.cti file)")
    serial_number: str | None = Field(None, description="device serial; the first device (index) when absent")
    index: int = Field(0, ge=0, le=63)
    pixel_format: Literal["Mono8", "Mono12", "Mono16"] = "Mono16"
    exposure_s: float | None = Field(None, gt=0.0, le=60.0)
    roi: RoiConfig | None = None
    binning: int = Field(1, ge=1, le=8)
    trigger: Literal["free_run", "software"] = "free_run"
    frame_rate_hz: float | None = Field(None, gt=0.0, le=10_000.0)
    gain_e_per_adu: float | None = Field(None, gt=0.0, le=100.0,
                                         description="from the data sheet; needed for the uncertainty maps")
    read_noise_e: float | None = Field(None, ge=0.0, le=100.0, description="median read noise (data sheet)")
    object_pixel_size_um: float | None = Field(
        None, gt=0.0, le=1e4, description="one unbinned sensor pixel on the object (pixel pitch / magnification), "
        "in um; qiup multiplies it by the binning and stores it with every result (none: results in pixels only)")


CameraConfig = Annotated[Union[SimCameraConfig, GenicamCameraConfig], Field(discriminator="backend")]

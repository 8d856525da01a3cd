"""Per-device config sections, one pydantic model per backend, discriminated by ``backend``.

Add a real backend by adding its model here and to the device's union; the bench factory
(``app/bench_factory.py``) maps the model to a driver. Every model forbids unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.config.sim_faults import SimCameraFaultsConfig, SimFaultsConfig, SimLaserFaultsConfig


class Section(BaseModel):
    """Base of every config table: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _min_not_above_max(self):
        """Every ``min_X`` / ``max_X`` pair of a section must satisfy min <= max."""
        for name in type(self).model_fields:
            other = "max_" + name[4:]
            if name.startswith("min_") and other in type(self).model_fields:
                low, high = getattr(self, name), getattr(self, other)
                if low is not None and high is not None and low > high:
                    raise ValueError(f"{name} = {low:g} is above {other} = {high:g}; min must not exceed max")
        return self


class RoiConfig(Section):
    x: int = Field(0, ge=0, description="first sensor column")
    y: int = Field(0, ge=0, description="first sensor row")
    width: int = Field(512, ge=1, le=16384)
    height: int = Field(512, ge=1, le=16384)


# ---------------------------------------------------------------------------- laser
class SimLaserConfig(Section):
    backend: Literal["sim"]
    max_power_w: float = Field(0.2, gt=0, le=10.0, description="highest allowed setpoint")
    power_ramp_time_s: float = Field(0.0, ge=0.0, le=60.0, description="1/e time of the power ramp (0: instant)")
    rin_rms: float = Field(0.001, ge=0.0, le=0.5, description="relative power noise per frame (0: off)")
    faults: SimLaserFaultsConfig = SimLaserFaultsConfig()


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
class SimPiezoConfig(Section):
    """Open-loop phase piezo driven in volts (MDT693B-like)."""

    backend: Literal["sim"]
    min_v: float = Field(0.0, ge=0.0, le=150.0)
    max_v: float = Field(75.0, gt=0.0, le=150.0)
    displacement_um_per_v: float = Field(0.1, gt=0.0, le=10.0, description="mirror travel per volt")
    nonlinearity: float = Field(0.0, ge=-0.5, le=0.5, description="d = a V (1 + nonlinearity V / max_v)")
    hysteresis_v: float = Field(0.0, ge=0.0, le=50.0, description="half-width of the hysteresis loop in volts")
    settle_time_s: float = Field(0.0, ge=0.0, le=5.0)
    faults: SimFaultsConfig = SimFaultsConfig()


class SimDelayStageConfig(Section):
    """Closed-loop delay stage in micrometres (PI E-709/E-727-like)."""

    backend: Literal["sim"]
    min_um: float = Field(0.0, ge=-1e5, le=1e5)
    max_um: float = Field(100.0, ge=-1e5, le=1e5)
    velocity_um_per_s: float = Field(1000.0, gt=0.0, le=1e6)
    settle_time_s: float = Field(0.01, ge=0.0, le=5.0, description="closed-loop settle time after a move")
    faults: SimFaultsConfig = SimFaultsConfig()


class SimSampleStageConfig(Section):
    """Translation stage that moves the sample in and out of the idler beam (for references)."""

    backend: Literal["sim"]
    min_um: float = Field(0.0, ge=-1e6, le=1e6)
    max_um: float = Field(50_000.0, ge=-1e6, le=1e6)
    faults: SimFaultsConfig = SimFaultsConfig()


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
class SimSlmConfig(Section):
    backend: Literal["sim"]
    width: int = Field(1920, ge=8, le=8192)
    height: int = Field(1080, ge=8, le=8192)
    settle_time_s: float = Field(0.0, ge=0.0, le=5.0)
    pixel_pitch_um: float = Field(8.0, gt=0.0, le=100.0)
    phase_at_full_scale_rad: float = Field(
        6.283185307179586, gt=0.0, le=20.0, description="true phase at gray 256 (LUT error if not 2 pi)"
    )
    faults: SimFaultsConfig = SimFaultsConfig()


class ScreenSlmConfig(Section):
    """An SLM connected as a secondary monitor (frameless full-screen window)."""

    backend: Literal["screen"]
    screen: str | int = Field(1, description="screen name (e.g. 'HDMI-1') or index in Qt's screen list")
    lut_path: str | None = Field(None, description="gray-level LUT file; linear 0..255 when absent")
    settle_time_s: float = Field(0.1, ge=0.0, le=5.0, description="liquid-crystal settle time after a mask")


SlmConfig = Annotated[Union[SimSlmConfig, ScreenSlmConfig], Field(discriminator="backend")]


# ---------------------------------------------------------------------------- camera
class SimCameraConfig(Section):
    """An sCMOS camera with the noise chain of DESIGN.md section 4."""

    backend: Literal["sim"]
    sensor_width: int = Field(2048, ge=8, le=16384)
    sensor_height: int = Field(2048, ge=8, le=16384)
    pixel_pitch_um: float = Field(6.5, gt=0.0, le=100.0)
    roi: RoiConfig = RoiConfig(x=768, y=768, width=512, height=512)
    exposure_s: float = Field(0.1, gt=0.0, le=60.0)
    quantum_efficiency: float = Field(0.8, gt=0.0, le=1.0)
    gain_e_per_adu: float = Field(0.45, gt=0.0, le=100.0)
    offset_adu: int = Field(100, ge=0, le=10_000)
    read_noise_e: float = Field(1.4, ge=0.0, le=100.0, description="median read noise")
    dark_current_e_per_s: float = Field(0.1, ge=0.0, le=1e4)
    full_well_e: float = Field(30_000.0, gt=0.0, le=1e7)
    hot_pixel_fraction: float = Field(2e-5, ge=0.0, le=0.1, description="fraction of pixels with high dark current")
    hot_pixel_dark_e_per_s: float = Field(200.0, ge=0.0, le=1e6)
    row_time_us: float = Field(4.87, gt=0.0, le=1e4, description="readout time per row (frame period = exposure + rows * row_time)")
    binning: Literal[1, 2, 4] = 1
    faults: SimCameraFaultsConfig = SimCameraFaultsConfig()


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


CameraConfig = Annotated[Union[SimCameraConfig, GenicamCameraConfig], Field(discriminator="backend")]

"""Per-device config sections, one pydantic model per backend, discriminated by ``backend``.

Add a real backend by adding its model here and to the device's union; the bench factory
(``app/bench_factory.py``) maps the model to a driver. Every model forbids unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """Base of every config table: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RoiConfig(Section):
    x: int = Field(0, ge=0, description="first sensor column")
    y: int = Field(0, ge=0, description="first sensor row")
    width: int = Field(512, ge=1, le=16384)
    height: int = Field(512, ge=1, le=16384)


# ---------------------------------------------------------------------------- laser
class SimLaserConfig(Section):
    backend: Literal["sim"]
    max_power_w: float = Field(0.2, gt=0, le=10.0, description="highest allowed setpoint")


LaserConfig = Annotated[Union[SimLaserConfig], Field(discriminator="backend")]


# ---------------------------------------------------------------------------- stages
class SimPiezoConfig(Section):
    """Open-loop phase piezo driven in volts (MDT693B-like)."""

    backend: Literal["sim"]
    min_v: float = Field(0.0, ge=0.0, le=150.0)
    max_v: float = Field(75.0, gt=0.0, le=150.0)
    displacement_um_per_v: float = Field(0.1, gt=0.0, le=10.0, description="mirror travel per volt")


class SimDelayStageConfig(Section):
    """Closed-loop delay stage in micrometres (PI E-709/E-727-like)."""

    backend: Literal["sim"]
    min_um: float = Field(0.0, ge=-1e5, le=1e5)
    max_um: float = Field(100.0, ge=-1e5, le=1e5)


class SimSampleStageConfig(Section):
    """Translation stage that moves the sample in and out of the idler beam (for references)."""

    backend: Literal["sim"]
    min_um: float = Field(0.0, ge=-1e6, le=1e6)
    max_um: float = Field(50_000.0, ge=-1e6, le=1e6)


PiezoConfig = Annotated[Union[SimPiezoConfig], Field(discriminator="backend")]
DelayStageConfig = Annotated[Union[SimDelayStageConfig], Field(discriminator="backend")]
SampleStageConfig = Annotated[Union[SimSampleStageConfig], Field(discriminator="backend")]


# ---------------------------------------------------------------------------- SLM
class SimSlmConfig(Section):
    backend: Literal["sim"]
    width: int = Field(1920, ge=8, le=8192)
    height: int = Field(1080, ge=8, le=8192)
    settle_time_s: float = Field(0.0, ge=0.0, le=5.0)


SlmConfig = Annotated[Union[SimSlmConfig], Field(discriminator="backend")]


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


CameraConfig = Annotated[Union[SimCameraConfig], Field(discriminator="backend")]

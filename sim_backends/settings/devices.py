"""Config tables of the simulated devices (``backend = "sim"``); re-exported by ``app/config/devices.py``."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from sim_backends.settings.base import RoiConfig, Section
from sim_backends.settings.faults import SimCameraFaultsConfig, SimFaultsConfig, SimLaserFaultsConfig


class SimLaserConfig(Section):
    backend: Literal["sim"]
    max_power_w: float = Field(0.2, gt=0, le=10.0, description="highest allowed setpoint")
    power_ramp_time_s: float = Field(0.0, ge=0.0, le=600.0, description="1/e time of the power ramp after emission "
                                     "on, or its full length with [simulation] pump_ramp_shape = 'linear' (0: instant)")
    rin_rms: float = Field(0.001, ge=0.0, le=0.5, description="relative power noise (white RIN), RMS over a 0.1 s "
                           "exposure; a frame of exposure tau sees rin_rms sqrt(0.1 s / tau) (0: off)")
    faults: SimLaserFaultsConfig = SimLaserFaultsConfig()



class SimPiezoConfig(Section):
    """Open-loop phase piezo driven in volts (MDT693B-like)."""

    backend: Literal["sim"]
    min_v: float = Field(0.0, ge=0.0, le=150.0)
    max_v: float = Field(75.0, gt=0.0, le=150.0)
    displacement_um_per_v: float = Field(0.1, gt=0.0, le=10.0, description="mirror travel per volt")
    nonlinearity: float = Field(0.0, ge=-0.5, le=0.5, description="d = a V (1 + nonlinearity V / max_v)")
    hysteresis_v: float = Field(0.0, ge=0.0, le=50.0, description="half-width of the hysteresis loop in volts "
                                "(lag behind the command after a long sweep)")
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



class SimSlmConfig(Section):
    """A phase-only LCoS SLM with the imperfections of a real one (docs/decisions/0010, SLM section)."""

    backend: Literal["sim"]
    width: int = Field(1920, ge=8, le=8192)
    height: int = Field(1080, ge=8, le=8192)
    pixel_pitch_um: float = Field(8.0, gt=0.0, le=100.0)
    bits: Literal[8, 10] = Field(8, description="gray-level depth of the panel (10: the LUT maps to 0..1023)")
    gray_at_2pi: float = Field(212.0, gt=16.0, le=1024.0, description="gray level (8-bit units, scaled for 10 bit) "
                               "whose true phase is 2 pi at the idler wavelength")
    s_curve: float = Field(0.35, ge=0.0, lt=0.6, description="strength of the S-shaped nonlinearity of the phase "
                           "response (0: linear; < 0.6 keeps it monotone)")
    crosstalk_sigma_px: float = Field(0.7, ge=0.0, le=10.0, description="fringing-field crosstalk: Gaussian sigma "
                                      "in pixels applied to the retardance (0: none)")
    flicker_rad_rms: float = Field(0.02, ge=0.0, le=1.0, description="panel phase flicker, RMS per exposure "
                                   "(the interferometer sees p times it; 0: none)")
    response_time_s: float = Field(0.02, ge=0.0, le=5.0, description="liquid-crystal 1/e response time (0: instant)")
    dither: Literal["bayer4", "bayer8", "off"] = Field(
        "bayer4", description="phase to gray: ordered dithering of the interpolated LUT on 4 x 4 or 8 x 8 tiles "
        "(sub-gray phase), or 'off' (floor rule); docs/decisions/0052-slm-dithering.md")
    settle_time_s: float | None = Field(None, ge=0.0, le=5.0, description="how long show() waits (None: 7 response "
                                        "times, e^-7 < 1e-3 of the step remains)")
    pupil_centre_px: tuple[float, float] | None = Field(
        None, description="(row, col) where you believe the pump beam's axis hits the SLM (None: the panel centre)")
    pupil_radius_px: float | None = Field(
        None, gt=0.0, le=1e4, description="the pump's 1/e^2 radius on the SLM as you believe it (None: "
        "[simulation] pump_waist_um / (pixel_pitch_um * slm_to_pupil_magnification))")
    faults: SimFaultsConfig = SimFaultsConfig()

    @model_validator(mode="before")
    @classmethod
    def _old_linear_response(cls, data):
        """phase_at_full_scale_rad (a linear response, true phase at gray 256) is the linear case of the new keys."""
        if isinstance(data, dict) and "phase_at_full_scale_rad" in data:
            if "gray_at_2pi" in data or "s_curve" in data:
                raise ValueError("give gray_at_2pi and s_curve only (phase_at_full_scale_rad is their old, linear form)")
            data = dict(data)
            full_scale = float(data.pop("phase_at_full_scale_rad"))
            if not 0.0 < full_scale <= 20.0:
                raise ValueError("phase_at_full_scale_rad must lie in (0, 20]; prefer gray_at_2pi = 256 * 2 pi / it")
            data.update(gray_at_2pi=256.0 * 2.0 * math.pi / full_scale, s_curve=0.0)
        return data

    @property
    def effective_settle_time_s(self) -> float:
        return 7.0 * self.response_time_s if self.settle_time_s is None else self.settle_time_s



class SimCameraConfig(Section):
    """An sCMOS camera with the noise chain of DESIGN.md section 4."""

    backend: Literal["sim"]
    sensor_width: int = Field(2048, ge=8, le=16384)
    sensor_height: int = Field(2048, ge=8, le=16384)
    pixel_pitch_um: float = Field(6.5, gt=0.0, le=100.0)
    roi: RoiConfig = RoiConfig(x=768, y=768, width=512, height=512)
    exposure_s: float = Field(0.1, gt=0.0, le=60.0)
    quantum_efficiency: float = Field(0.8, gt=0.0, le=1.0)
    gain_e_per_adu: float = Field(0.45847, gt=0.0, le=100.0, description="default: the full well (30,000 e-) "
                                  "lands on the ADC maximum, (65535 - offset) x gain = 30,000 e-, so a full pixel "
                                  "reads 65535 and is flagged saturated")
    offset_adu: int = Field(100, ge=0, le=10_000)
    read_noise_e: float = Field(1.4, ge=0.0, le=100.0, description="median read noise")
    dark_current_e_per_s: float = Field(0.1, ge=0.0, le=1e4)
    full_well_e: float = Field(30_000.0, gt=0.0, le=1e7)
    hot_pixel_fraction: float = Field(2e-5, ge=0.0, le=0.1, description="fraction of pixels with high dark current")
    hot_pixel_dark_e_per_s: float = Field(200.0, ge=0.0, le=1e6)
    row_time_us: float = Field(4.87, gt=0.0, le=1e4, description="readout time per row (frame period = exposure + rows * row_time)")
    binning: Literal[1, 2, 4] = 1
    prnu_rms: float = Field(0.0, ge=0.0, le=0.2, description="photo-response non-uniformity, relative RMS (0: off)")
    offset_fpn_rms_adu: float = Field(0.0, ge=0.0, le=1000.0,
                                      description="pixel-to-pixel spread of the offset, RMS in ADU (0: off)")
    faults: SimCameraFaultsConfig = SimCameraFaultsConfig()

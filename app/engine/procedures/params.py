"""Parameters of the closed-loop SLM sequences (pupil registration, LUT calibration, adaptive optics)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from app.engine.params import _Params

NOLL_MAX = 231  # highest Noll index the Zernike module converts


class _SlmProcedure(_Params):
    """What every SLM procedure measures with: a short piezo burst over a small ROI at the field centre."""

    laser_power_w: float | None = Field(None, gt=0.0, description="pump power; the calibration value if unset")
    steps: int = Field(4, ge=3, le=16, description="piezo phase steps of each burst")
    frames_per_step: int = Field(1, ge=1, le=1000, description="frames averaged at each step of a burst")
    dark_frames: int = Field(4, ge=1, le=10_000, description="dark frames taken once (laser off)")
    roi_px: int = Field(64, ge=4, le=4096, description="side of the square ROI at the frame centre the metric uses")
    slm_passes: int = Field(2, ge=1, le=4, description="times the idler crosses the SLM (2: michelson double pass)")


class PupilRegistrationParams(_SlmProcedure):
    """Half-plane (edge) scans in y and x: where the pump beam sits on the SLM, and its radius."""

    coarse_points: int = Field(13, ge=7, le=201, description="edge positions across the whole panel, per axis")
    points: int = Field(21, ge=7, le=401, description="edge positions of the fine scan around the dip, per axis")
    span_radii: float = Field(1.5, ge=0.5, le=10.0, description="fine scan: centre +- this many radii")
    profile: Literal["auto", "gaussian", "disc"] = Field("auto", description="beam profile fitted (auto: best fit)")


class LutCalibrationParams(_SlmProcedure):
    """Uniform gray levels against an interleaved reference level: phase vs gray -> the SLM's LUT file."""

    gray_step: int = Field(4, ge=1, le=128, description="measure every gray_step-th gray level (and the last)")
    reference_gray: int = Field(0, ge=0, le=1023, description="the level shown between measurements (drift)")
    repeats: int = Field(1, ge=1, le=100, description="passes over the gray levels (averaged)")
    wavelength_nm: float = Field(1550.0, gt=100.0, lt=20_000.0, description="idler wavelength (recorded with the LUT)")
    lut_file: str | None = Field(None, description="where the LUT is written (default: [slm] lut_path if set, "
                                 "else <run file>.lut; none without a run file)")
    apply: bool = Field(True, description="load the new LUT into the SLM for the rest of this session")


class AdaptiveOpticsParams(_SlmProcedure):
    """Sensorless AO: modal optimisation (Booth 2N+1 or N+1) of the ROI visibility (or its sharpness)."""

    method: Literal["2n+1", "n+1"] = Field("2n+1", description="2n+1: parabola per mode; n+1: quadratic model")
    modes: list[int] = Field(default_factory=lambda: list(range(5, 17)), description="Noll indices corrected")
    bias_rad: float = Field(0.35, gt=0.0, le=3.0, description="bias per mode, rad RMS of SLM phase")
    cycles: int = Field(2, ge=1, le=20)
    metric: Literal["visibility", "sharpness"] = Field("visibility", description="ROI-mean visibility, or the "
                                                       "sharpness of the visibility map (structured samples)")
    max_step_factor: float = Field(2.0, gt=0.0, le=10.0, description="wild-step guard: no correction step larger "
                                   "than this times the bias")
    extent_radii: float = Field(1.0, ge=1.0, lt=10.0, description="modes continued to this many pupil radii")
    search: Literal["unit-rms", "pump-weighted"] = Field("unit-rms", description="search the modes as saved, or "
                                                         "orthonormalised over a Gaussian pump of the pupil radius")
    pupil_centre_px: tuple[float, float] | None = Field(None, description="(row, col) of the pupil on the SLM "
                                                        "(default: pupil_from, else [slm] pupil_centre_px, else the "
                                                        "panel centre)")
    pupil_radius_px: float | None = Field(None, gt=0.0, le=1e4, description="pupil (pump 1/e^2) radius on the SLM "
                                          "(default: pupil_from, else [slm] pupil_radius_px)")
    pupil_from: str | None = Field(None, description="a pupil-registration run file to take the pupil from")
    sample_in: bool = Field(True, description="optimise on the sample (in) or on the bench without it")
    wavelength_nm: float = Field(1550.0, gt=100.0, lt=20_000.0, description="idler wavelength (recorded)")
    mask_file: str | None = Field(None, description="where the correction is saved (default: <run "
                                  "file>.correction.json; none without a run file)")
    apply: bool = Field(True, description="leave the correction shown on the SLM when the run ends")

    @model_validator(mode="after")
    def _modes_valid(self):
        if not self.modes:
            raise ValueError("modes: give at least one Noll index")
        bad = [j for j in self.modes if not 1 <= j <= NOLL_MAX]
        if bad:
            raise ValueError(f"modes: Noll index {bad[0]} is outside 1..{NOLL_MAX}")
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("modes: each Noll index once")
        return self


PROCEDURE_PARAMS = {
    "pupil-registration": PupilRegistrationParams,
    "lut-calibration": LutCalibrationParams,
    "adaptive-optics": AdaptiveOpticsParams,
}

"""Sequence parameters as validated plain data; ``key=value`` strings and TOML tables become these.

Everything checkable without a device is checked here (types, ranges); limits that depend on the bench
(stage travel, laser power) are checked when the sequence is planned, still before any device moves.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ParameterError(ValueError):
    """Bad sequence parameters; the message names the parameter and what is allowed."""


MAX_DELAYS = 100_000  # delay positions of one scan (a finer scan is refused before anything is allocated)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    exposure_s: float | None = Field(None, gt=0.0, le=60.0, description="camera exposure; config value if unset")
    frame_timeout_s: float = Field(5.0, gt=0.0, le=600.0)
    save_raw_frames: bool = Field(False, description="store every frame (chunked per frame, lossless)")
    raw_compression: str = Field("lzf", pattern="^(none|lzf|gzip)$", description="none | lzf | gzip")


class DarkParams(_Params):
    """Laser off, F frames -> dark map."""

    frames: int = Field(16, ge=1, le=1_000_000, description="dark frames to average")


class _Stepped(_Params):
    steps: int = Field(4, ge=3, le=64, description="phase steps over one fringe (N)")
    frames_per_step: int = Field(8, ge=1, le=100_000, description="frames averaged at each step (F)")
    cycles: int = Field(0, ge=0, le=100_000,
                        description="interleave each step's frames over this many cycles (0: one per frame, up to 8)")
    dark_frames: int | None = Field(None, ge=1, le=1_000_000,
                                    description="dark frames taken first (laser off); default N x F")
    laser_power_w: float | None = Field(None, gt=0.0, description="pump power; the calibration value if unset")
    phase_lock: bool = Field(False, description="re-estimate the global phase each cycle and correct the piezo")
    min_reference_visibility: float = Field(0.05, ge=0.0, lt=1.0, description="pixels below are masked")
    phase_stepper: Literal["piezo", "slm"] = Field("piezo", description="step the phase with the piezo, or with "
                                                   "uniform phase offsets on the SLM (over its correction)")
    slm_passes: int = Field(2, ge=1, le=4, description="times the idler crosses the SLM (SLM steps: phase / passes)")
    slm_correction: str | None = Field(None, description="a correction file (qiup-slm-correction JSON) shown on "
                                       "the SLM for the whole run")

    @model_validator(mode="after")
    def _cycles_fit(self):
        if self.cycles > self.frames_per_step:
            raise ValueError(f"cycles={self.cycles} exceeds frames_per_step={self.frames_per_step}")
        return self

    def n_cycles(self) -> int:
        return self.cycles or min(self.frames_per_step, 8)

    def n_dark_frames(self) -> int:
        """As many dark frames as a stepped run has frames, so dark adds as little noise as the data."""
        return self.dark_frames or self.steps * self.frames_per_step


class ReferenceParams(_Stepped):
    """Phase stepping with the sample out ([calibration] reference_method)."""


class PhaseSteppingParams(_Stepped):
    """Dark, reference (sample out) and sample: |t| and phase of the object (a hologram)."""

    reference: bool = Field(True, description="take a reference run (sample out) before the sample")


class DelayScanParams(_Stepped):
    """Phase stepping at each delay position -> complex field per delay -> depth map and volume."""

    delays_um: list[float] | None = Field(None, description="explicit delay positions (um)")
    start_um: float | None = None
    stop_um: float | None = None
    step_um: float | None = Field(None, gt=0.0)

    @model_validator(mode="after")
    def _delays_given(self):
        ranged = (self.start_um, self.stop_um, self.step_um)
        if self.delays_um is None and None in ranged:
            raise ValueError("give delays_um=[...] or all of start_um, stop_um, step_um")
        if self.delays_um is not None and len(self.delays_um) < 3:
            raise ValueError("a delay scan needs at least 3 positions")
        if self.delays_um is not None and len(self.delays_um) > MAX_DELAYS:
            raise ValueError(f"a delay scan has at most {MAX_DELAYS} positions")
        return self

    def delays(self) -> list[float]:
        if self.delays_um is not None:
            return [float(d) for d in self.delays_um]
        n = int(round((self.stop_um - self.start_um) / self.step_um)) + 1
        if n > MAX_DELAYS:
            raise ParameterError(f"delay-scan: start_um..stop_um by step_um={self.step_um:g} gives {n:.3g} positions; "
                                 f"at most {MAX_DELAYS} are allowed (use a larger step_um)")
        if n < 3:
            raise ParameterError(f"delay-scan: start_um..stop_um by step_um gives {n} positions; need at least 3")
        return [self.start_um + i * self.step_um for i in range(n)]


class FringeCalibrationParams(_Params):
    """Piezo sweep over at least two fringes -> piezo travel per 2 pi, written to the calibration file."""

    fringes: float = Field(2.5, ge=2.0, le=50.0, description="sweep span in fringes (current calibration)")
    points: int = Field(40, ge=12, le=10_000, description="piezo positions in the sweep")
    frames_per_point: int = Field(2, ge=1, le=10_000)
    dark_frames: int = Field(4, ge=1, le=1_000_000)
    laser_power_w: float | None = Field(None, gt=0.0)
    write_calibration: bool = Field(True, description="write the result to [calibration] file when one is set")


class TimeSeriesParams(_Stepped):
    """Repeated phase-stepped images at an interval (dynamic samples)."""

    repeats: int = Field(5, ge=1, le=100_000)
    interval_s: float = Field(0.0, ge=0.0, le=86_400.0, description="start-to-start interval; 0 = back to back")
    reference: bool = Field(True)


class LiveParams(_Params):
    """Free-running frames with rolling N-step demodulation, until stopped (or max_frames)."""

    steps: int = Field(4, ge=3, le=64)
    max_frames: int = Field(0, ge=0, description="stop after this many frames (0: until stopped)")
    dark_frames: int = Field(4, ge=0, le=10_000, description="dark frames averaged first (laser off)")
    laser_power_w: float | None = Field(None, gt=0.0)


SEQUENCES: dict[str, type[BaseModel]] = {
    "dark": DarkParams,
    "reference": ReferenceParams,
    "phase-stepping": PhaseSteppingParams,
    "delay-scan": DelayScanParams,
    "fringe-calibration": FringeCalibrationParams,
    "time-series": TimeSeriesParams,
    "live": LiveParams,
}
from app.engine.procedures.params import PROCEDURE_PARAMS  # noqa: E402 - they build on _Params above

SEQUENCES.update(PROCEDURE_PARAMS)


def _split_pairs(pairs: list[str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"parameter {pair!r} must look like key=value")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):  # a list: delays_um=[0,5,10]
            value = [v.strip() for v in value[1:-1].split(",") if v.strip()]
        raw[key.strip().replace("-", "_")] = value
    return raw


def validate_params(sequence: str, raw: dict[str, Any]) -> BaseModel:
    """Validate a mapping of parameters for ``sequence``; ParameterError with one line per problem."""
    if sequence not in SEQUENCES:
        raise ParameterError(f"unknown sequence {sequence!r}; known: {', '.join(SEQUENCES)}")
    model = SEQUENCES[sequence]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                problems.append(f"{sequence}: unknown parameter {key!r} (allowed: {', '.join(model.model_fields)})")
            elif key:
                problems.append(f"{sequence}: parameter {key}={err.get('input')!r}: {msg}")
            else:
                problems.append(f"{sequence}: {msg}")
        raise ParameterError("\n".join(problems)) from None


def parse_params(sequence: str, pairs: list[str]) -> BaseModel:
    """Validate ``["steps=4", ...]`` for ``sequence``."""
    return validate_params(sequence, _split_pairs(pairs))

"""Sequence parameters as validated plain data; ``key=value`` strings from the CLI become these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ParameterError(ValueError):
    """Bad sequence parameters; the message names the parameter and what is allowed."""


class PhaseSteppingParams(BaseModel):
    """Phase-shifting holography: N piezo steps over one fringe, F frames at each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(4, ge=3, le=64, description="phase steps over one fringe (N)")
    frames_per_step: int = Field(8, ge=1, le=100_000, description="frames averaged at each step (F)")
    exposure_s: float | None = Field(None, gt=0.0, le=60.0, description="camera exposure; config value if unset")
    laser_power_w: float | None = Field(None, gt=0.0, description="pump power; the calibration value if unset")
    min_reference_visibility: float = Field(0.05, ge=0.0, lt=1.0)
    frame_timeout_s: float = Field(5.0, gt=0.0, le=600.0)


SEQUENCES: dict[str, type[BaseModel]] = {"phase-stepping": PhaseSteppingParams}


def parse_params(sequence: str, pairs: list[str]) -> BaseModel:
    """Validate ``["steps=4", ...]`` for ``sequence``; ParameterError with one line per problem."""
    if sequence not in SEQUENCES:
        raise ParameterError(f"unknown sequence {sequence!r}; known: {', '.join(sorted(SEQUENCES))}")
    model = SEQUENCES[sequence]
    raw: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"parameter {pair!r} must look like key=value")
        raw[key.strip().replace("-", "_")] = value.strip()
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(model.model_fields)
                problems.append(f"{sequence}: unknown parameter {key!r} (allowed: {allowed})")
            else:
                problems.append(f"{sequence}: parameter {key}={err.get('input')!r}: {err['msg']}")
        raise ParameterError("\n".join(problems)) from None

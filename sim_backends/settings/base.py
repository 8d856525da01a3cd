"""The base of every config table, and the sensor ROI (shared by simulated and real cameras)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """Base of every config table: unknown keys are errors, nan/inf refused, values checked on assignment."""

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

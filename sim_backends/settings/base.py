"""The base of every config table, and the sensor ROI (shared by simulated and real cameras)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """Base of every config table: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RoiConfig(Section):
    x: int = Field(0, ge=0, description="first sensor column")
    y: int = Field(0, ge=0, description="first sensor row")
    width: int = Field(512, ge=1, le=16384)
    height: int = Field(512, ge=1, le=16384)

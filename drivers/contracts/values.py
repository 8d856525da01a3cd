"""Small value types shared by the contracts: identity, ROI, frame, trigger modes, stage units."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class DeviceIdentity:
    """Who a device says it is (``*IDN?`` or equivalent)."""

    vendor: str
    model: str
    serial: str = ""
    firmware: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"vendor": self.vendor, "model": self.model, "serial": self.serial, "firmware": self.firmware}


@dataclass(frozen=True)
class Roi:
    """Camera region of interest in sensor pixels (before binning)."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Frame:
    """One camera frame: counts in ADU plus where and when it was taken."""

    data: np.ndarray  # (h, w) uint16 (or uint8), ADU
    frame_id: int
    timestamp_s: float
    metadata: dict[str, Any] = field(default_factory=dict)


TriggerMode = Literal["free_run", "software"]
StageUnit = Literal["um", "V"]

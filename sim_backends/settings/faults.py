"""Fault injection for simulated devices (``[camera.faults]``, ``[laser.faults]``, ...); off by default.

Call numbers count every contract call made on that device (``connect()`` is call 1; ``close()`` and
the ``connected`` property are never counted and never fail, so a faulty device can still be made safe).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SimFaultsConfig(BaseModel):
    """Faults any simulated device can show."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    stop_answering_after_calls: int | None = Field(
        None, ge=0, description="answer this many calls, then raise DeviceTimeout on every later call"
    )
    corrupt_reply_at_calls: list[int] = Field(
        default_factory=list, description="call numbers whose reply is garbled (DeviceError, nothing done)"
    )


class SimCameraFaultsConfig(SimFaultsConfig):
    drop_frame_at_calls: list[int] = Field(
        default_factory=list,
        description="read_frame call numbers at which one frame is lost (the frame id skips one)",
    )


class SimLaserFaultsConfig(SimFaultsConfig):
    interlock_trip_after_calls: int | None = Field(
        None, ge=0, description="the interlock opens after this many calls (emission drops, InterlockError)"
    )
    interlock_trip_after_s: float | None = Field(
        None, ge=0.0, description="the interlock opens this long (simulated time) after connect()"
    )

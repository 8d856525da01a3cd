"""``[bench]``: how the application keeps the bench observable (the readback poller)."""

from __future__ import annotations

from pydantic import Field

from app.config.devices import Section


class BenchSection(Section):
    poll_interval_s: float = Field(0.2, ge=0.01, le=60.0,
                                   description="how often the background poller refreshes every device's readback")
    poll_lock_timeout_s: float = Field(0.02, ge=0.0, le=5.0,
                                       description="a device busy longer than this is skipped in that poll")

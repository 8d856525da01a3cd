"""Fault injection for simulated devices, configured per device (``[camera.faults]`` etc.), off by default.

A device counts its contract calls (``connect()`` is call 1; ``close()`` and ``status()`` are never counted and never
fails, so a broken device can still be made safe). Keys (app/config/sim_faults.py):
``stop_answering_after_calls`` -> DeviceTimeout on every later call; ``corrupt_reply_at_calls`` ->
DeviceError on those calls (the command is not carried out); camera ``drop_frame_at_calls`` -> that
read_frame loses a frame (the frame id skips one); laser ``interlock_trip_after_calls`` /
``interlock_trip_after_s`` -> the interlock opens, emission drops, InterlockError is raised once.
"""

from __future__ import annotations

from drivers.interfaces import DeviceError, DeviceTimeout


class FaultInjector:
    """Counts a device's calls and raises the configured faults."""

    def __init__(self, config=None, device: str = "device"):
        self.config = config
        self.device = device
        self.calls = 0

    def on_call(self, method: str) -> int:
        """Count one call of ``method``; raise if a fault is due. Returns the call number."""
        self.calls += 1
        cfg = self.config
        if cfg is None:
            return self.calls
        stop = cfg.stop_answering_after_calls
        if stop is not None and self.calls > stop:
            raise DeviceTimeout(f"no reply to {method}() (device stopped answering after {stop} calls)",
                                device=self.device)
        if self.calls in cfg.corrupt_reply_at_calls:
            raise DeviceError(f"corrupted reply to {method}() (call {self.calls}); command not confirmed",
                              device=self.device)
        return self.calls

    def drops_frame(self, call: int) -> bool:
        return call in getattr(self.config, "drop_frame_at_calls", ())

    def interlock_trips(self, call: int) -> bool:
        n = getattr(self.config, "interlock_trip_after_calls", None)
        return n is not None and call > n

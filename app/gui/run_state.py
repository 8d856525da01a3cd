"""What the GUI knows of the run: its status, and the newest frame from the runner's latest-frame slot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.signals import Latest


@dataclass(frozen=True)
class FrameSnapshot:
    data: np.ndarray  # read-only copy
    stage: str
    step: int
    frame_id: int


@dataclass(frozen=True)
class RunStatus:
    state: str  # idle | running | paused | aborting | done | failed
    sequence: str | None = None
    path: Path | None = None
    frames_done: int = 0
    frames_total: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    stage: str = ""
    result_status: str | None = None  # complete | aborted | failed once ended
    error: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ("running", "paused", "aborting")

    @property
    def label(self) -> str:
        return f"run '{self.sequence}' -> {self.path}" if self.path else f"run '{self.sequence}'"


class CoreFrames:
    """``get()`` / ``get_newer(seq)`` over the runner's latest-frame slot (no copy: the core's array is read-only)."""

    def __init__(self, runner: Callable[[], object]):
        self._runner = runner  # the model's current Runner, or None before the bench is open

    def get(self) -> Latest[FrameSnapshot] | None:
        runner = self._runner()
        item = runner.latest_frame() if runner is not None else None
        if item is None:
            return None
        data, info = item.value
        return Latest(item.seq, FrameSnapshot(data, info.stage, info.step, info.frame_id))

    def get_newer(self, seq: int) -> Latest[FrameSnapshot] | None:
        item = self.get()
        return item if item is not None and item.seq > seq else None

"""What a runner tells its subscribers (GUI, CLI progress bar, scripts); psygnal signals, no Qt.

Signals are emitted from the runner's worker thread; a GUI connects with ``thread="main"`` (psygnal)
or queues them itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from psygnal import Signal, SignalGroup


class RunState(str, enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    ABORTING = "aborting"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class FrameInfo:
    """Where a frame belongs: stage label, step, cycle and the frame's provenance."""

    stage: str
    step: int
    cycle: int
    frame_id: int
    timestamp_s: float
    delay_um: float
    piezo_position: float
    laser_power_w: float


@dataclass(frozen=True)
class StepInfo:
    """A completed block (one visit of one step), flushed to disk."""

    stage: str
    step: int
    cycle: int
    block: int
    blocks_total: int


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_total: int
    elapsed_s: float
    eta_s: float | None
    stage: str

    @property
    def fraction(self) -> float:
        return self.frames_done / self.frames_total if self.frames_total else 0.0


class RunnerEvents(SignalGroup):
    state_changed = Signal(RunState, RunState)  # new, old
    frame_acquired = Signal(object, FrameInfo)  # frame data (h, w) uint16 — read it, do not keep it
    step_done = Signal(StepInfo)
    progress = Signal(Progress)
    stage_done = Signal(str)  # stage label; its results are written
    live_maps = Signal(object)  # FringeMaps of the rolling demodulation (live sequence)
    warning = Signal(str)  # suspenders tripping and clearing, phase-lock corrections
    error = Signal(str)  # the message that ended the run

"""What a runner tells its subscribers (GUI, CLI progress bar, scripts); psygnal signals, no Qt.

Every signal is an :func:`app.signals.isolated_signal` emitted from the runner's worker thread: a
subscriber that raises is reported (``failure_sink``) and the others still run (decision 0040).
Events carry small records; frames and maps are pulled from the runner's latest-value slots
(``runner.latest_frame()``, ``runner.latest_maps()``). A GUI connects with psygnal's ``thread=`` only
for low-rate events (state, progress, warnings).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import numpy as np
from psygnal import SignalGroup

from app.signals import isolated_signal

_log = logging.getLogger(__name__)


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
class CycleDiscarded:
    """A suspender tripped: this cycle's frames were taken back out of the stage's sums (and the file) and
    the cycle is taken again when the condition clears."""

    stage: str
    cycle: int
    reason: str


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


@dataclass(frozen=True)
class PreviewMaps:
    """Maps from a stage's running exact sums (published to ``runner.latest_maps()``; read-only arrays).

    ``phase_rad`` is relative to the reference when the run has one (masked like the final result);
    ``sigma_phase_rad`` from photoelectrons and read noise (NaN when the camera's gain is unknown).
    """

    stage: str
    visibility: np.ndarray
    phase_rad: np.ndarray
    sigma_phase_rad: np.ndarray
    step_counts: tuple[int, ...]  # frames so far in each step
    frames: int  # frames so far in the stage
    frames_planned: int  # frames the stage will have when complete
    final: bool = False  # True: the stage's complete sums (equals its written result)


class RunnerEvents(SignalGroup):
    """The runner's events; every signal isolates its subscribers from each other."""

    state_changed = isolated_signal(RunState, RunState)  # new, old; only from the worker thread
    # Synchronous, once per frame, for scripts: the array is READ-ONLY and only valid during the call.
    # Never queue it (a queued frame per frame grows without bound); GUIs use runner.latest_frame().
    frame_acquired = isolated_signal(object, FrameInfo)
    step_done = isolated_signal(StepInfo)
    progress = isolated_signal(Progress)
    stage_done = isolated_signal(str)  # stage label; its results are written
    result_ready = isolated_signal(str, object)  # result name, index (int) or None; written (to the file if any)
    cycle_discarded = isolated_signal(CycleDiscarded)  # emitted before the "suspended: ..." warning
    warning = isolated_signal(str)  # suspenders tripping and clearing, phase-lock corrections, dropped frames
    error = isolated_signal(str)  # the message that ended the run


class SubscriberFailures:
    """Collects the first failure of each subscriber of each signal (the runner logs them to the run file)."""

    def __init__(self, events: RunnerEvents):
        self.messages: list[str] = []
        self._signals = [getattr(events, name) for name in events.signals]  # psygnal >= 0.10 spelling
        for signal in self._signals:
            signal.failure_sink = self._record

    def reset(self) -> None:
        """A new run: forget what was reported, so a subscriber's first failure in this run is logged."""
        self.messages.clear()
        for signal in self._signals:
            signal.__dict__.pop("_qiup_reported", None)

    def _record(self, name: str, exc: BaseException) -> None:
        self.messages.append(f"a subscriber of '{name}' failed: {exc!r}")

"""What a runner tells its subscribers (GUI, CLI progress bar, scripts); psygnal signals, no Qt.

Signals are emitted from the runner's worker thread; a GUI connects with ``thread="main"`` (psygnal)
or queues them itself.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from psygnal import Signal, SignalGroup

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


class GuardedEvents:
    """The runner's side of its events: a subscriber that raises is logged, never ends the run.

    A week-long acquisition must not fail because a progress display or a script callback has a bug;
    the first failure of each event is logged with its traceback and kept in ``failures`` (the runner
    writes them into the run file's log). KeyboardInterrupt and SystemExit still go through.
    """

    def __init__(self, events: RunnerEvents):
        self._events = events
        self.failures: dict[str, str] = {}

    def __getattr__(self, name: str) -> "_GuardedSignal":
        return _GuardedSignal(getattr(self._events, name), name, self)


class _GuardedSignal:
    def __init__(self, signal, name: str, owner: GuardedEvents):
        self._signal, self._name, self._owner = signal, name, owner

    def emit(self, *args) -> None:
        try:
            self._signal.emit(*args)
        except Exception as exc:  # noqa: BLE001 - a subscriber's bug is reported, the run goes on
            cause = exc.__cause__ or exc
            if self._name not in self._owner.failures:
                self._owner.failures[self._name] = f"a subscriber of '{self._name}' failed: {cause!r}"
                _log.error("subscriber of %s failed; the run continues", self._name, exc_info=cause)

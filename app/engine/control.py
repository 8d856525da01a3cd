"""Pause, resume and abort requests from any thread, honoured by the worker at its checkpoints."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from app.engine.events import RunState


class Aborted(Exception):
    """The run was aborted (by request, or because a pause lasted longer than allowed)."""


class Control:
    """Requests (thread-safe) plus the worker's side: ``checkpoint``, ``sleep_until``, ``suspended``."""

    def __init__(self, set_state: Callable[[RunState], None], max_pause_s: float | None = None):
        self._set_state = set_state
        self._resume = threading.Event()
        self._resume.set()
        self._abort = threading.Event()
        self._wake = threading.Event()
        self.max_pause_s = max_pause_s
        self.abort_reason = "aborted by request"

    # -- requests (any thread) ------------------------------------------------------------------
    def request_pause(self) -> None:
        self._resume.clear()
        self._wake.set()

    def request_resume(self) -> None:
        self._resume.set()
        self._wake.set()

    def request_abort(self, reason: str = "aborted by request") -> None:
        self.abort_reason = reason
        self._abort.set()
        self._resume.set()
        self._wake.set()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()

    # -- worker side ------------------------------------------------------------------------------
    def raise_if_aborted(self) -> None:
        """For waits that must stay interruptible but are not a place to pause (e.g. a suspension)."""
        if self._abort.is_set():
            raise Aborted(self.abort_reason)

    def checkpoint(self) -> None:
        """Between frames: raise Aborted if asked to; block here while paused."""
        if self._abort.is_set():
            raise Aborted(self.abort_reason)
        if not self._resume.is_set():
            self._set_state(RunState.PAUSED)
            if not self._resume.wait(self.max_pause_s):
                self.request_abort(f"paused for longer than {self.max_pause_s:g} s")
            if self._abort.is_set():
                raise Aborted(self.abort_reason)
            self._set_state(RunState.RUNNING)

    def sleep_until(self, t_monotonic: float) -> None:
        """Wait (for an interval or a suspender re-check), waking early to honour abort and pause."""
        while True:
            self.checkpoint()
            remaining = t_monotonic - time.monotonic()
            if remaining <= 0:
                return
            self._wake.wait(remaining)
            self._wake.clear()

    @contextlib.contextmanager
    def suspended(self):
        """The state is ``paused`` while a suspender holds the run."""
        self._set_state(RunState.PAUSED)
        try:
            yield
        finally:
            if not self._abort.is_set():
                self._set_state(RunState.RUNNING)

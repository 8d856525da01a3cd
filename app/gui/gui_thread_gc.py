"""Garbage collection on the GUI thread only. A reference cycle holding Qt wrappers, collected by
whichever thread allocates next (the runner, the poller, a file reader), destroys Qt objects off the
GUI thread and crashes the process, maybe with the laser on. pyqtgraph's GarbageCollector turns
automatic collection off and collects from a timer on the GUI thread; ``stop`` gives it back."""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector


class GuiThreadGarbageCollector(GarbageCollector):
    """Create on the GUI thread; ``stop()`` when the window closes."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self._was_enabled = gc.isenabled()
        super().__init__(interval=interval_s)

    def stop(self) -> None:
        """No more timed collections; automatic collection as it was before."""
        self.timer.stop()
        if self._was_enabled:
            gc.enable()

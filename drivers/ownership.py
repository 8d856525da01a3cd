"""Who may move the bench right now (decision 0040).

Outside a run any thread may jog and set. While a run is active it owns the bench: calls that move or
set a device from a thread the run has not admitted are refused with :class:`BenchBusy`, naming the run.
Reads of cached state are always allowed, and so is laser emission-off, which additionally ends the
run as an abort (``emergency_stop``). One :class:`BenchOwnership` is shared by all devices of a bench.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from drivers.errors import DeviceError


class BenchBusy(DeviceError):
    """A move or setting from outside the run that owns the bench; the message names the run."""


class OwnershipClaim:
    """A run's hold on the bench; ``admit`` the threads that act for the run, ``release`` at the end."""

    def __init__(self, owner: "BenchOwnership", label: str, on_emergency_stop: Callable[[str], None] | None):
        self._owner = owner
        self.label = label
        self.on_emergency_stop = on_emergency_stop
        self.threads: set[int] = set()

    def admit(self, thread: threading.Thread | None = None) -> None:
        """Let ``thread`` (default: the calling thread) act for the run."""
        ident = (thread or threading.current_thread()).ident
        if ident is None:
            raise RuntimeError("admit a thread after it has started")
        with self._owner._lock:
            self.threads.add(ident)

    def release(self) -> None:
        self._owner._release(self)

    def __enter__(self) -> "OwnershipClaim":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


class BenchOwnership:
    """The bench's owner: nobody (everyone may act) or one run (only its admitted threads may act)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claim: OwnershipClaim | None = None

    def claim(self, label: str, *, on_emergency_stop: Callable[[str], None] | None = None) -> OwnershipClaim:
        """Take the bench for a run labelled ``label`` (e.g. "run 'phase-stepping' -> runs/x.h5").

        BenchBusy if another run holds it. The calling thread is admitted.
        """
        with self._lock:
            if self._claim is not None:
                raise BenchBusy(f"the bench is in use by {self._claim.label}")
            claim = OwnershipClaim(self, label, on_emergency_stop)
            self._claim = claim
        claim.admit()
        return claim

    def _release(self, claim: OwnershipClaim) -> None:
        with self._lock:
            if self._claim is claim:
                self._claim = None

    @property
    def holder(self) -> str | None:
        """The label of the run holding the bench, or None."""
        claim = self._claim
        return None if claim is None else claim.label

    def may_act(self) -> bool:
        """True when the calling thread may move or set devices now."""
        claim = self._claim
        return claim is None or threading.get_ident() in claim.threads

    def check(self, device: str, action: str) -> None:
        """Raise BenchBusy unless the calling thread may act (``action`` words the refused call)."""
        claim = self._claim
        if claim is not None and threading.get_ident() not in claim.threads:
            raise BenchBusy(f"{action} refused: the bench is in use by {claim.label}", device=device)

    def emergency_stop(self, reason: str) -> None:
        """Emission-off from outside the run: the run ends as an abort (no-op without a run)."""
        claim = self._claim
        if claim is None or threading.get_ident() in claim.threads or claim.on_emergency_stop is None:
            return
        claim.on_emergency_stop(reason)

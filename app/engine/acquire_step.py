"""One acquisition path: move the phase piezo, settle, drop stale frames, check interlock and pump, read.

Every stepped plan, the suspender re-check, the live sequence and the benchmarks take frames through
:class:`StepAcquirer` (and switch the pump through :func:`switch_pump`), so a fix to the order of
these steps lands everywhere at once (issue 9, item 6; decision 0034 for the waits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from drivers.interfaces import Frame, InterlockError


@dataclass(frozen=True)
class StepReadback:
    """What the bench reported after settling at a step (stored with every frame's provenance)."""

    piezo_position: float
    delay_um: float
    laser_power_w: float


def switch_pump(bench, *, on: bool, power_w: float = 0.0, settle_fraction: float = 0.01,
                settle_timeout_s: float = 30.0, checkpoint: Callable[[], None] | None = None) -> None:
    """Emission on at ``power_w`` and wait until the pump has settled (PowerNotSettled otherwise), or off.

    Frames taken while the pump ramps would give the phase steps unequal brightness (decision 0034).
    """
    laser = bench.laser
    if not on:
        laser.set_emission(False)
        return
    laser.set_power_w(power_w)
    laser.set_emission(True)
    laser.wait_until_power_settled(tolerance_fraction=settle_fraction, timeout_s=settle_timeout_s,
                                   checkpoint=checkpoint)


class StepAcquirer:
    """Settles the bench at a phase-piezo setpoint and reads frames, counting dropped ones.

    ``checkpoint`` (the runner's pause/abort check) runs before every frame; ``power_check(measured_w)``
    runs after the interlock check when the pump is on and may raise (a suspender, or a wait).
    ``dropped_frames`` counts frame-id gaps between consecutive reads (a camera losing frames in
    transfer); the frames ``discard_stale_frames`` reports dropping on purpose are not counted.
    """

    def __init__(self, bench, *, frame_timeout_s: float, checkpoint: Callable[[], None] | None = None,
                 power_check: Callable[[float], None] | None = None):
        self.bench = bench
        self.frame_timeout_s = frame_timeout_s
        self.checkpoint = checkpoint
        self.power_check = power_check
        self.dropped_frames = 0
        self._last_frame_id: int | None = None
        self._discarded = 0  # frames dropped on purpose since the last read (their ids are no loss)

    def resync(self) -> None:
        """Frames were read elsewhere (e.g. a suspender's re-check): the next id gap is no loss."""
        self._last_frame_id, self._discarded = None, 0

    def settle_at(self, piezo_position: float, *, laser_on: bool) -> StepReadback:
        """Move -> settle -> discard stale frames -> interlock and pump-power check; the readbacks."""
        bench = self.bench
        bench.phase_piezo.move_to(piezo_position)
        bench.phase_piezo.wait_settled()
        self._discarded += int(bench.camera.discard_stale_frames(timeout_s=self.frame_timeout_s) or 0)  # pre-move frames
        if laser_on and not bench.laser.interlock_closed():
            raise InterlockError("the interlock opened during the run; emission stopped", device=bench.laser.name)
        power_w = bench.laser.measured_power_w()
        if laser_on and self.power_check is not None:
            self.power_check(power_w)
        return StepReadback(bench.phase_piezo.position(), bench.delay_stage.position(), power_w)

    def read(self) -> Frame:
        """One frame (after the checkpoint); counts a frame-id gap since the previous read as dropped."""
        if self.checkpoint is not None:
            self.checkpoint()
        frame = self.bench.camera.read_frame(timeout_s=self.frame_timeout_s)
        if self._last_frame_id is not None:
            self.dropped_frames += max(0, frame.frame_id - self._last_frame_id - 1 - self._discarded)
        self._last_frame_id, self._discarded = frame.frame_id, 0
        return frame

    def frames(self, n: int) -> Iterator[Frame]:
        for _ in range(n):
            yield self.read()

    def take(self, piezo_position: float, n: int, *, laser_on: bool) -> tuple[StepReadback, Iterator[Frame]]:
        """``settle_at`` then ``n`` frames (a generator: frames are read as it is iterated)."""
        readback = self.settle_at(piezo_position, laser_on=laser_on)
        return readback, self.frames(n)

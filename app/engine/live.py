"""The live sequence: the piezo cycles through N steps, one frame each, demodulated over the last N.

Nothing is written to disk; every frame emits ``frame_acquired`` and, once N frames are in, the
rolling maps (``live_maps``). It ends when stopped (``runner.stop()``) or after ``max_frames``.
"""

from __future__ import annotations

import numpy as np

from app.engine.events import FrameInfo, RunnerEvents
from app.pipeline import demodulate


class RollingDemodulator:
    """The latest frame of each step (dark-free: the offset cancels in V's numerator only approximately,
    so the live view is a guide, not a measurement)."""

    def __init__(self, step_phases_rad, shape: tuple[int, int], offset_adu: float = 0.0):
        self.phases = np.asarray(step_phases_rad, float)
        self.latest = np.zeros((len(self.phases), *shape), np.float32)
        self.seen = np.zeros(len(self.phases), bool)
        self.offset_adu = offset_adu

    def add(self, step: int, frame: np.ndarray):
        self.latest[step] = frame
        self.latest[step] -= self.offset_adu
        self.seen[step] = True
        return demodulate(self.latest, self.phases) if self.seen.all() else None


def run_live(bench, plan, params, events: RunnerEvents, control, results: dict) -> None:
    stage = plan.stages[0]
    if plan.exposure_s is not None:
        bench.camera.set_exposure_s(plan.exposure_s)
    bench.camera.set_trigger_mode("free_run")
    bench.camera.start()
    bench.laser.set_power_w(plan.laser_power_w)
    bench.laser.set_emission(True)
    rolling = RollingDemodulator(stage.step_phases_rad, plan.frame_shape)
    n = 0
    while params.max_frames == 0 or n < params.max_frames:
        control.checkpoint()
        step = n % stage.n_steps
        bench.phase_piezo.move_to(stage.piezo_v[step])
        frame = bench.camera.read_frame(timeout_s=plan.frame_timeout_s)
        events.frame_acquired.emit(frame.data, FrameInfo("live", step, n // stage.n_steps, frame.frame_id,
                                                         frame.timestamp_s, np.nan, stage.piezo_v[step], np.nan))
        maps = rolling.add(step, frame.data)
        if maps is not None:
            results["visibility"], results["phase"] = maps.visibility, maps.phase_rad
            events.live_maps.emit(maps)
        n += 1

"""The live sequence: the piezo cycles through N steps, one frame each, demodulated over the last N.

A few dark frames first (laser off), then free-running frames; nothing is written to disk. Every frame
emits ``frame_acquired`` and, once N frames are in, the pipeline's rolling maps (``live_maps``; the
arrays are reused, copy them to keep them). Ends when stopped (``runner.stop()``) or after ``max_frames``.
"""

from __future__ import annotations

import numpy as np

from app.engine.events import FrameInfo, RunnerEvents
from app.pipeline.live import RollingDemodulator


def run_live(bench, plan, params, events: RunnerEvents, control, results: dict) -> None:
    stage = plan.stages[0]
    camera = bench.camera
    if plan.exposure_s is not None:
        camera.set_exposure_s(plan.exposure_s)
    camera.set_trigger_mode("free_run")
    camera.start()
    bench.laser.set_emission(False)
    dark = np.zeros(plan.frame_shape, np.float64)
    for _ in range(params.dark_frames):
        control.checkpoint()
        dark += camera.read_frame(timeout_s=plan.frame_timeout_s).data
    dark /= max(params.dark_frames, 1)
    bench.laser.set_power_w(plan.laser_power_w)
    if stage.delay_um is not None:  # the calibrated zero path difference
        bench.delay_stage.move_to(stage.delay_um)
    bench.laser.set_emission(True)
    rolling = RollingDemodulator(stage.n_steps, plan.frame_shape, step_phases_rad=np.array(stage.step_phases_rad),
                                 dark_adu=dark)
    n = 0
    while params.max_frames == 0 or n < params.max_frames:
        control.checkpoint()
        step = n % stage.n_steps
        bench.phase_piezo.move_to(stage.piezo_v[step])
        frame = camera.read_frame(timeout_s=plan.frame_timeout_s)
        events.frame_acquired.emit(frame.data, FrameInfo("live", step, n // stage.n_steps, frame.frame_id,
                                                         frame.timestamp_s, np.nan, stage.piezo_v[step], np.nan))
        rolling.push(step, frame.data)
        if rolling.ready:
            maps = rolling.maps()
            results["visibility"], results["phase"] = maps.visibility.copy(), maps.phase_rad.copy()
            events.live_maps.emit(maps)
        n += 1

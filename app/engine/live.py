"""The live sequence: the piezo cycles through N steps, one frame each, demodulated over the last N.

A few dark frames first (laser off), then the pump is switched on and settled, then frames through the
one acquisition path (:mod:`app.engine.acquire_step`: move, settle, discard stale frames, interlock and
pump check, read); nothing is written to disk. Every frame goes to ``latest_frame`` and
``frame_acquired``; once N frames are in, the rolling maps go to ``latest_maps`` (copies, as
:class:`PreviewMaps`). Ends when stopped (``runner.stop()``) or after ``max_frames``.
"""

from __future__ import annotations

import numpy as np

from app.engine.acquire_step import StepAcquirer, switch_pump
from app.engine.events import FrameInfo, PreviewMaps, RunnerEvents
from app.pipeline.live import RollingDemodulator


def run_live(bench, plan, params, events: RunnerEvents, control, results: dict, *, calibration,
             latest_frame=None, latest_maps=None) -> None:
    stage = plan.stages[0]
    camera = bench.camera
    if plan.exposure_s is not None:
        camera.set_exposure_s(plan.exposure_s)
    camera.set_trigger_mode("free_run")
    camera.start()
    switch_pump(bench, on=False)
    dark_reader = StepAcquirer(bench, frame_timeout_s=plan.frame_timeout_s, checkpoint=control.checkpoint)
    dark = np.zeros(plan.frame_shape, np.float64)
    if params.dark_frames:
        _, frames = dark_reader.take(stage.piezo_setpoints[0], params.dark_frames, laser_on=False)
        for frame in frames:
            dark += frame.data
    dark /= max(params.dark_frames, 1)

    if stage.delay_um is not None:  # the calibrated zero path difference
        bench.delay_stage.move_to(stage.delay_um)

    def settle_pump() -> None:
        switch_pump(bench, on=True, power_w=plan.laser_power_w, settle_fraction=calibration.laser_settle_fraction,
                    settle_timeout_s=calibration.laser_settle_timeout_s, checkpoint=control.checkpoint)

    def power_check(measured_w: float) -> None:  # the pump drifted off: wait for it again, never image a ramp
        if abs(measured_w - plan.laser_power_w) > calibration.laser_settle_fraction * plan.laser_power_w:
            bench.laser.wait_until_power_settled(tolerance_fraction=calibration.laser_settle_fraction,
                                                 timeout_s=calibration.laser_settle_timeout_s,
                                                 checkpoint=control.checkpoint)

    settle_pump()
    acquirer = StepAcquirer(bench, frame_timeout_s=plan.frame_timeout_s, checkpoint=control.checkpoint,
                            power_check=power_check)
    rolling = RollingDemodulator(stage.n_steps, plan.frame_shape, step_phases_rad=np.array(stage.step_phases_rad),
                                 dark_adu=dark)
    n = 0
    while params.max_frames == 0 or n < params.max_frames:
        step = n % stage.n_steps
        readback, frames = acquirer.take(stage.piezo_setpoints[step], 1, laser_on=True)
        frame = next(frames)
        info = FrameInfo("live", step, n // stage.n_steps, frame.frame_id, frame.timestamp_s, readback.delay_um,
                         readback.piezo_position, readback.laser_power_w)
        frame.data.flags.writeable = False  # read-only for every reader (camera frames are fresh arrays)
        if latest_frame is not None:
            latest_frame.publish((frame.data, info))
        events.frame_acquired.emit(frame.data, info)
        rolling.push(step, frame.data)
        if rolling.ready:
            maps = rolling.maps()
            visibility, phase = maps.visibility.astype(np.float32), maps.phase_rad.astype(np.float32)
            results["visibility"], results["phase"] = visibility, phase
            if latest_maps is not None:
                counts = tuple(1 for _ in range(stage.n_steps))
                latest_maps.publish(PreviewMaps("live", visibility, phase, np.full(visibility.shape, np.nan, np.float32),
                                                counts, stage.n_steps, stage.n_steps))
        n += 1

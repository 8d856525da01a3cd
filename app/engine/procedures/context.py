"""What a procedure body may use: the bench it owns, the run's control, records, events and one burst.

A *procedure* is a sequence whose next setting depends on the last measurement (closed loop: pupil
registration, LUT calibration, adaptive optics), so it cannot be a precomputed plan of blocks. Its body
runs in the runner's worker thread, which owns the bench (decision 0040), and uses only this context
(decision 0049): frames through :class:`~app.engine.acquire_step.StepAcquirer` (pause/abort checked
before every frame), the pump through ``switch_pump``, records through the run's file sink (each record
written and flushed before the body goes on; ``measurements_done`` says how many rows hold data).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from app.engine.acquire_step import StepAcquirer, switch_pump
from app.engine.control import Control
from app.engine.events import FrameInfo, Progress, RunnerEvents
from app.engine.plan import Plan
from app.engine.results import ResultStore
from app.pipeline.demodulate import FringeMaps
from app.signals import LatestValue


@dataclass
class ProcedureContext:
    """The run's bench, parameters, plan, file sink, control, events and results (worker thread only)."""

    bench: object
    params: object
    plan: Plan
    sink: object  # FileSink or NoFile
    events: RunnerEvents
    control: Control
    results: ResultStore
    calibration: object  # effective [calibration]
    latest_frame: LatestValue | None = None
    notes: dict = field(default_factory=dict)  # what the body wants the runner to report (e.g. files written)

    def __post_init__(self):
        self._t0 = time.monotonic()
        self.acquirer = StepAcquirer(self.bench, frame_timeout_s=self.plan.frame_timeout_s,
                                     checkpoint=self.control.checkpoint)

    # ----------------------------------------------------------------------------- records
    def record(self, name: str, data, index: int | None = None) -> None:
        """One result (or one row of it) into memory and the file (flushed), then ``result_ready``."""
        self.results.keep(name, data, index)
        self.sink.write_result(name, data, index)
        self.events.result_ready.emit(name, index)

    def log(self, message: str, level: str = "info") -> None:
        """A line in the run file's log and on ``events.warning`` (what a console or GUI shows)."""
        self.sink.log(level, message)
        self.events.warning.emit(message)

    def progress(self, done: int, total: int, label: str) -> None:
        """Measurements done of planned (``Progress.frames_*`` count measurements for procedures)."""
        elapsed = time.monotonic() - self._t0
        eta = elapsed / done * (total - done) if done else None
        self.events.progress.emit(Progress(done, total, elapsed, eta, label))

    # ----------------------------------------------------------------------------- bench
    def set_up(self, *, sample_in: bool | None) -> None:
        """Camera running, delay stage at zero path difference, sample in/out (None: leave it)."""
        bench, cal = self.bench, self.calibration
        if self.plan.exposure_s is not None:
            bench.camera.set_exposure_s(self.plan.exposure_s)
        bench.camera.set_trigger_mode("free_run")
        bench.camera.start()
        if sample_in is not None and bench.sample_stage is not None and cal.reference_method == "sample_stage":
            bench.sample_stage.move_to(cal.sample_in_position_um if sample_in else cal.sample_out_position_um)
        bench.delay_stage.move_to(cal.zero_path_delay_um)
        bench.delay_stage.wait_settled()

    def show_quietly(self, mask_rad, label: str) -> None:
        """Put a mask back on the SLM on the way out; a failure is logged, never raised over the real error."""
        try:
            self.bench.slm.show(mask_rad, wait=False, label=label)
        except Exception as exc:  # noqa: BLE001 - the run is ending already; its own error matters more
            self.sink.log("warning", f"the SLM mask could not be restored ({exc})")

    def pump(self, on: bool) -> None:
        cal = self.calibration
        switch_pump(self.bench, on=on, power_w=self.plan.laser_power_w, settle_fraction=cal.laser_settle_fraction,
                    settle_timeout_s=cal.laser_settle_timeout_s, checkpoint=self.control.checkpoint)
        self.acquirer.resync()

    def frames(self, piezo_position: float, n: int, *, laser_on: bool, label: str = "procedure", step: int = 0):
        """``n`` frames at a piezo setpoint (stale ones discarded), each published to displays."""
        readback, frames = self.acquirer.take(piezo_position, n, laser_on=laser_on)
        for frame in frames:
            info = FrameInfo(label, step, 0, frame.frame_id, frame.timestamp_s, readback.delay_um,
                             readback.piezo_position, readback.laser_power_w)
            frame.data.flags.writeable = False
            if self.latest_frame is not None:
                self.latest_frame.publish((frame.data, info))
            self.events.frame_acquired.emit(frame.data, info)
            yield frame


def mean_phasor(maps: FringeMaps) -> complex:
    """The ROI's fringe as one phasor: mean of mean x V x exp(i phase) (bright pixels weigh more)."""
    return complex(np.mean(maps.mean * maps.visibility * np.exp(1j * maps.phase_rad)))


def burst_metric(ctx: ProcedureContext, *, roi_px: int, steps: int, frames_per_step: int, dark_frames: int,
                 metric: str = "visibility", carrier_rad: float = np.pi):
    """The AO metric / phase meter of a procedure: a piezo burst through ``ctx.frames`` and ``ctx.pump``
    (``carrier_rad``: the uniform phase added to every mask, 0 when the caller places the piston itself)."""
    from app.wavefront.loop import VisibilityMetric

    cal = ctx.calibration
    return VisibilityMetric(ctx.bench, piezo_start=cal.piezo_start, piezo_travel_per_2pi=cal.piezo_travel_per_2pi,
                            n_steps=steps, frames_per_step=frames_per_step, dark_frames=dark_frames,
                            power_w=ctx.plan.laser_power_w, roi_px=roi_px, frame_timeout_s=ctx.plan.frame_timeout_s,
                            checkpoint=ctx.control.checkpoint, frames=ctx.frames, pump=ctx.pump, metric=metric,
                            carrier_rad=carrier_rad)


def procedure_plan(sequence: str, p, facts, results: list, *, sample_in: bool | None):
    """A procedure's plan: no blocks, its result datasets (pre-created in the file) and the bench limits of
    its bursts (piezo steps, zero-path delay, sample position, pump power) checked before anything moves."""
    from app.engine.params import ParameterError
    from app.engine.plan import Plan, PlanStage, ResultSpec, equal_steps
    from app.engine.sequences import check_laser_power, check_stages

    if facts.slm_shape is None:
        raise ParameterError(f"{sequence}: the bench has no SLM")
    cal = facts.calibration
    power_w = float(p.laser_power_w or cal.laser_power_w)
    setpoints, phases = equal_steps(p.steps, cal.piezo_start, cal.piezo_travel_per_2pi)
    stage_sample = sample_in if facts.has_sample_stage and cal.reference_method == "sample_stage" else None
    burst = PlanStage("burst", "sample", setpoints, phases, p.frames_per_step, sample_in=stage_sample,
                      delay_um=cal.zero_path_delay_um)
    check_stages(sequence, [burst], facts)
    check_laser_power(sequence, power_w, facts)
    done = ResultSpec("measurements_done", (), "1", "uint32", "bursts whose records are written (rows beyond: none)")
    return Plan(sequence=sequence, stages=(), results=(*results, done), frame_shape=facts.frame_shape,
                laser_power_w=power_w, exposure_s=p.exposure_s, frame_timeout_s=p.frame_timeout_s)

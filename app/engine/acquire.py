"""Executes a plan's blocks on the bench: set up each stage, take frames, accumulate, flush, suspend.

Checkpoints between frames honour pause and abort (:class:`Control`). A block is committed to the file
when complete; at the end of each cycle the visibility suspender and the phase lock look at that
cycle's frames. A tripped suspender discards the current cycle (its exact integer sums are subtracted
again), waits for every condition to clear, and repeats the cycle. Frames are taken only through
:class:`~app.engine.acquire_step.StepAcquirer`; file writes only through the run's
:mod:`~app.engine.file_sink`. Only the current stage's sums are in memory (the dark and reference
sums the analysis needs are kept by :class:`Analysis`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from app.engine.acquire_step import StepAcquirer, switch_pump
from app.engine.analysis import Analysis
from app.engine.control import Control
from app.engine.events import CycleDiscarded, FrameInfo, Progress, RunnerEvents, StepInfo
from app.engine.plan import Plan, PlanStage
from app.engine.preview import PreviewContext, Previewer, SumsSnapshot
from app.engine.results import ResultStore
from app.engine.stage_sums import StageSums
from app.engine.suspenders import Suspenders
from app.pipeline import StepAccumulator, complex_field
from app.signals import LatestValue
from drivers.interfaces import PowerNotSettled

VISIBILITY_CHECKED_STAGES = ("reference", "sample")  # where low visibility means misalignment
PREVIEWED_STAGES = ("reference", "sample", "delay")  # stepped stages with equal phase steps


class Suspended(Exception):
    """A suspender tripped; the message says which and why."""


@dataclass
class ResumeState:
    """Where to start: block index and the step sums taken so far (empty for a new run)."""

    block: int = 0
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    piezo_offsets: dict[str, float] = field(default_factory=dict)
    last_frame_id: int = 0
    saturated: dict[str, np.ndarray] = field(default_factory=dict)  # per stage, as committed


@dataclass
class LiveOutputs:
    """Where subscribers pull frames and maps from (the runner's latest-value slots) and how often."""

    latest_frame: LatestValue | None = None
    previewer: Previewer | None = None
    preview_interval_s: float = 0.2


def slm_base_mask(slm, plan: Plan) -> np.ndarray | None:
    """The mask SLM steps add to: the plan's correction (shown now, centred so that neither it nor it plus
    the steps wraps where it can be avoided), else what the SLM shows; None when the plan neither shows
    a correction nor steps with the SLM (the SLM is left alone)."""
    steps = [max(stage.slm_steps_rad) for stage in plan.stages if stage.slm_steps_rad is not None]
    if plan.slm_correction_json is not None:
        from app.wavefront.masks import Correction, centred_for_slm, compose_mask

        correction = Correction.from_json(plan.slm_correction_json)
        base = centred_for_slm(compose_mask(tuple(slm.shape), correction=correction), max(steps, default=0.0))
        slm.show(base, wait=True, label="correction")
        return base.astype(np.float64)
    if steps:
        return slm.current_phase_rad().astype(np.float64)
    return None


def slm_step_mask(base_rad: np.ndarray, step_rad: float) -> np.ndarray:
    """``base_rad`` plus a uniform SLM phase (float32 radians; the SLM contract wraps and quantises)."""
    return (base_rad + float(step_rad)).astype(np.float32)


class Acquisition:
    def __init__(self, bench, plan: Plan, sink, events: RunnerEvents, control: Control, suspenders: Suspenders,
                 analysis: Analysis, results: ResultStore, start: ResumeState, *, calibration,
                 save_raw: bool = False, outputs: LiveOutputs | None = None):
        self.bench, self.plan, self.sink, self.events = bench, plan, sink, events
        self.bench_calibration, self.save_raw = calibration, save_raw  # effective [calibration]
        self.control, self.suspenders, self.analysis, self.results = control, suspenders, analysis, results
        self.start = start
        self.outputs = outputs or LiveOutputs()
        self._adc_max = 2 ** bench.camera.bit_depth() - 1
        self.acquirer = StepAcquirer(bench, frame_timeout_s=plan.frame_timeout_s, checkpoint=control.checkpoint,
                                     power_check=self._check_power)
        self.sums: StageSums | None = None  # the current stage's exact sums (None between stages)
        self._sums_label: str | None = None
        self._preview_ctx: PreviewContext | None = None
        self._next_preview = 0.0
        self._dropped_at_stage_start = 0
        self.offset = dict(start.piezo_offsets)  # phase-lock piezo offset per stage label
        self._lock_ref: dict[str, np.ndarray] = {}
        self._frames_done = plan.frames_before(start.block)
        self._session_frames = 0
        self._t0 = time.monotonic()

    # ----------------------------------------------------------------------------- main loop
    def run(self) -> None:
        bench, plan = self.bench, self.plan
        if plan.exposure_s is not None:
            bench.camera.set_exposure_s(plan.exposure_s)
        bench.camera.set_trigger_mode("free_run")
        bench.camera.start()
        if self.start.block > 0:
            bench.camera.continue_frame_numbering(self.start.last_frame_id)
        self._slm_base = slm_base_mask(bench.slm, plan)
        first = plan.blocks[self.start.block].stage if self.start.block < len(plan.blocks) else len(plan.stages)
        for stage in plan.stages[:first]:  # stages finished before a resume: rebuild what later ones need
            self._open_sums(stage)
            self._stage_results(stage)
            self.sums = None
        i, current, cycle_start = self.start.block, None, None
        while i < len(plan.blocks):
            block = plan.blocks[i]
            stage = plan.stages[block.stage]
            if current is not stage:
                if self._sums_label != stage.label:
                    self._open_sums(stage)
                self._set_up_bench(stage)
                current = stage
            if block.step == 0 or cycle_start is None:
                # A rollback returns to the cycle's first block, or to the resume point if the run was
                # resumed mid-cycle (the blocks before it are on disk and are not taken again).
                first_block = max(i - block.step, self.start.block)
                cycle_start = (first_block, self._frames_done, StepAccumulator(stage.n_steps, plan.frame_shape))
                self.sink.mark_cycle_start(stage.label)
            try:
                self._take_block(i, stage, block, cycle_start[2])
                if block.step == stage.n_steps - 1:
                    self._cycle_done(stage, block.cycle, cycle_start[2])
            except Suspended as why:
                i = self._rollback(stage, cycle_start)
                self.events.cycle_discarded.emit(CycleDiscarded(stage.label, block.cycle, str(why)))
                self._wait_until_clear(stage, str(why))
                current, cycle_start = None, None
                continue
            if i + 1 == len(plan.blocks) or plan.blocks[i + 1].stage != block.stage:
                self._finish_stage(stage)
            i += 1
        for name, (data, index) in self.analysis.run_done().items():
            self._store(name, data, index)

    # ----------------------------------------------------------------------------- stages and blocks
    def _open_sums(self, stage: PlanStage) -> None:
        """The stage's accumulator, created on entry (with the sums already on disk when resuming)."""
        self.sums = StageSums(stage.n_steps, self.plan.frame_shape, self.start.sums.get(stage.label),
                              self.start.counts.get(stage.label), saturation_adu=self._adc_max)
        committed = self.start.saturated.get(stage.label)
        if committed is not None:  # saturation committed before a resume stays flagged
            np.logical_or(self.sums.saturated, committed, out=self.sums.saturated)
        self._sums_label = stage.label
        self._dropped_at_stage_start = self.acquirer.dropped_frames
        self._preview_ctx = None
        if stage.kind in PREVIEWED_STAGES and self.outputs.previewer is not None:
            a = self.analysis
            self._preview_ctx = PreviewContext(
                dark=a.dark_sums, reference=a.reference_sums if stage.kind == "sample" else None,
                step_phases_rad=stage.step_phases_rad, gain_e_per_adu=a.gain_e_per_adu,
                read_noise_e=a.read_noise_e or 0.0, min_reference_visibility=a.min_reference_visibility)
            self._next_preview = 0.0

    def _set_up_bench(self, stage: PlanStage) -> None:
        bench, cal = self.bench, self.bench_calibration
        if stage.start_after_s > 0:
            self.control.sleep_until(self._t0 + stage.start_after_s)
        if "start_time_s" in self.results:
            self._store("start_time_s", time.monotonic() - self._t0, stage.index)
        if stage.sample_in is not None and bench.sample_stage is not None:
            bench.sample_stage.move_to(cal.sample_in_position_um if stage.sample_in else cal.sample_out_position_um)
        if stage.delay_um is not None:
            bench.delay_stage.move_to(stage.delay_um)
            bench.delay_stage.wait_settled()
        switch_pump(bench, on=stage.laser_on, power_w=self.plan.laser_power_w, settle_fraction=cal.laser_settle_fraction,
                    settle_timeout_s=cal.laser_settle_timeout_s, checkpoint=self.control.checkpoint)

    def _check_power(self, measured_w: float) -> None:
        self._raise_if(self.suspenders.check_laser(self.plan.laser_power_w, measured_w))

    def _take_block(self, index: int, stage: PlanStage, block, cycle_acc: StepAccumulator) -> None:
        sums, sink, plan = self.sums, self.sink, self.plan
        piezo = stage.piezo_setpoints[block.step] + self.offset.get(stage.label, 0.0)
        if stage.slm_steps_rad is not None:  # SLM phase stepping: waits the SLM's settle time; stale frames go
            self.bench.slm.show(slm_step_mask(self._slm_base, stage.slm_steps_rad[block.step]), wait=True,
                                label=f"phase step {block.step}")
        readback, frames = self.acquirer.take(piezo, block.frames, laser_on=stage.laser_on)
        latest = self.outputs.latest_frame
        for frame in frames:
            self._raise_if(self.suspenders.check_saturation(frame.data))
            sums.add(block.step, frame.data)
            cycle_acc.add(block.step, frame.data)
            exposure = float(frame.metadata.get("exposure_s", np.nan))
            sink.append_frame((block.stage, block.step, block.cycle, frame.frame_id, frame.timestamp_s,
                               readback.delay_um, readback.piezo_position, readback.laser_power_w, exposure),
                              frame.data if self.save_raw else None)
            self._frames_done += 1
            self._session_frames += 1
            info = FrameInfo(stage.label, block.step, block.cycle, frame.frame_id, frame.timestamp_s,
                             readback.delay_um, readback.piezo_position, readback.laser_power_w)
            frame.data.flags.writeable = False  # read-only from here on (camera frames are fresh arrays)
            if latest is not None:
                latest.publish((frame.data, info))
            self.events.frame_acquired.emit(frame.data, info)
            self._maybe_preview(stage)
            self._progress(stage.label)
        sink.commit_block(stage.label, block.step, sums.step_sum(block.step), int(sums.counts[block.step]),
                          sums.saturated, blocks_done=index + 1, frames_done=self._frames_done)
        self.events.step_done.emit(StepInfo(stage.label, block.step, block.cycle, index + 1, len(plan.blocks)))

    def _maybe_preview(self, stage: PlanStage, *, final: bool = False) -> None:
        """When a preview is due, hand a copy of the exact running sums to the preview thread."""
        if self._preview_ctx is None:
            return
        now = time.monotonic()
        if not final and now < self._next_preview:
            return
        self._next_preview = now + self.outputs.previewer.next_interval_s(self.outputs.preview_interval_s)
        sums = self.sums
        planned = stage.frames_per_step * stage.n_steps
        self.outputs.previewer.submit(SumsSnapshot(stage.label, np.array(sums.sums), np.array(sums.counts),
                                                   np.array(sums.saturated), planned, self._preview_ctx, final))

    def _progress(self, label: str) -> None:
        elapsed = time.monotonic() - self._t0
        total = self.plan.total_frames()
        rate = self._session_frames / elapsed if elapsed > 0 else 0.0
        eta = (total - self._frames_done) / rate if rate > 0 else None
        self.events.progress.emit(Progress(self._frames_done, total, elapsed, eta, label))

    def _cycle_done(self, stage: PlanStage, cycle: int, cycle_acc: StepAccumulator) -> None:
        if stage.kind in ("dark", "sweep") or not cycle_acc.counts.all():  # not a whole cycle (resumed mid-way)
            return
        dark = self.analysis.dark
        means = cycle_acc.mean_frames(dark)
        if stage.kind in VISIBILITY_CHECKED_STAGES:  # a delay far from any reflector has V ~ 0 by design
            self._raise_if(self.suspenders.check_visibility(means, stage.step_phases_rad))
        if stage.phase_lock:
            self._phase_lock(stage, cycle, means)

    def _phase_lock(self, stage: PlanStage, cycle: int, means: np.ndarray) -> None:
        """Global phase of this cycle against the stage's first; shift the piezo to cancel the drift."""
        field_now = complex_field(means, stage.step_phases_rad)
        label = stage.label
        offset = self.offset.get(label, 0.0)
        if label not in self._lock_ref:
            self._lock_ref[label] = field_now
            drift = 0.0
        else:
            drift = float(np.angle(np.vdot(self._lock_ref[label], field_now)))
        self.sink.stage_value(label, "cycle_phase_rad", cycle, drift)
        self.sink.stage_value(label, "piezo_offset", cycle, offset)
        per_rad = self.bench_calibration.piezo_travel_per_2pi / (2 * np.pi)
        new = offset - drift * per_rad
        lo, hi = self.bench.phase_piezo.limits()
        if not (lo <= min(stage.piezo_setpoints) + new and max(stage.piezo_setpoints) + new <= hi):
            self._warn(f"phase lock: correction to {new:+.3f} would leave the piezo range; not applied")
            return
        self.offset[label] = new
        if abs(drift) > 0.3:
            self._warn(f"phase lock: {label} cycle {cycle} drifted {drift:+.2f} rad; piezo offset now {new:+.3f}")

    def _rollback(self, stage: PlanStage, cycle_start) -> int:
        """Subtract the discarded cycle's frames again; the file goes back to the cycle's start."""
        block_index, frames_done, cycle_acc = cycle_start
        self.sums.subtract(cycle_acc)
        self._frames_done = frames_done
        self.sink.rollback_cycle(stage.label, self.sums.sums, self.sums.counts, blocks_done=block_index,
                                 frames_done=frames_done)
        return block_index

    def _wait_until_clear(self, stage: PlanStage, why: str) -> None:
        self._warn(f"suspended: {why}; the current cycle is discarded and repeated when this clears")
        cfg = self.suspenders.config
        deadline = time.monotonic() + cfg.max_suspended_s
        with self.control.suspended():
            while True:
                self.control.sleep_until(time.monotonic() + cfg.recheck_interval_s)
                problem = self._recheck(stage)
                self.acquirer.resync()  # the re-check's frames are not losses
                if problem is None:
                    break
                if time.monotonic() > deadline:
                    raise Suspended(f"suspended for more than {cfg.max_suspended_s:g} s: {problem}")
        self._warn("resumed: suspending condition cleared")

    def _recheck(self, stage: PlanStage) -> str | None:
        """Look at the bench without accumulating: laser power, a frame, a cycle of N frames."""
        bench, cfg = self.bench, self.suspenders.config
        if stage.laser_on:
            if cfg.laser_power:  # give the laser time to recover, on its own clock (simulated or real)
                try:
                    bench.laser.wait_until_power_settled(tolerance_fraction=cfg.laser_power_tolerance,
                                                         timeout_s=max(cfg.recheck_interval_s, 0.05),
                                                         checkpoint=self.control.raise_if_aborted)
                except PowerNotSettled:
                    pass  # still out of tolerance: reported just below (a dead link still raises)
            problem = self.suspenders.check_laser(self.plan.laser_power_w, bench.laser.measured_power_w())
            if problem:
                return problem
        probe = StepAccumulator(stage.n_steps, self.plan.frame_shape)
        steps = range(stage.n_steps) if cfg.visibility and stage.kind in VISIBILITY_CHECKED_STAGES else [0]
        probe_reader = StepAcquirer(bench, frame_timeout_s=self.plan.frame_timeout_s,
                                    checkpoint=self.control.raise_if_aborted)  # power was checked just above
        for k in steps:
            _, frames = probe_reader.take(stage.piezo_setpoints[k] + self.offset.get(stage.label, 0.0), 1,
                                          laser_on=stage.laser_on)
            frame = next(frames)
            problem = self.suspenders.check_saturation(frame.data)
            if problem:
                return problem
            probe.add(k, frame.data)
        if len(steps) == stage.n_steps:
            return self.suspenders.check_visibility(probe.mean_frames(self.analysis.dark), stage.step_phases_rad)
        return None

    # ----------------------------------------------------------------------------- helpers
    def _finish_stage(self, stage: PlanStage) -> None:
        """Results written, final preview handed over, dropped frames reported; the sums are let go."""
        self._maybe_preview(stage, final=True)
        self._stage_results(stage)
        dropped = self.acquirer.dropped_frames - self._dropped_at_stage_start
        if dropped:
            self._warn(f"{stage.label}: the camera dropped {dropped} frame(s) (gaps in frame ids); "
                       "the sums hold only frames that arrived")
        self.events.stage_done.emit(stage.label)
        self.sums, self._sums_label, self._preview_ctx = None, None, None

    def _stage_results(self, stage: PlanStage) -> None:
        for name, (data, index) in self.analysis.stage_done(stage, self.sums).items():
            self._store(name, data, index)

    def _store(self, name: str, data, index) -> None:
        if name not in self.results:
            return
        self.results.keep(name, data, index)
        self.sink.write_result(name, data, index)
        self.events.result_ready.emit(name, index)

    def _raise_if(self, problem: str | None) -> None:
        if problem:
            raise Suspended(problem)

    def _warn(self, message: str) -> None:
        self.sink.log("warning", message)
        self.events.warning.emit(message)

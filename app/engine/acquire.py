"""Executes a plan's blocks on the bench: set up each stage, take frames, accumulate, flush, suspend.

Checkpoints between frames honour pause and abort (:class:`Control`). A block is flushed to disk when
complete; at the end of each cycle the visibility suspender and the phase lock look at that cycle's
frames. A tripped suspender discards the current cycle (its exact integer sums are subtracted again),
waits for every condition to clear, and repeats the cycle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from app.engine.analysis import Analysis
from app.engine.control import Control
from app.engine.events import FrameInfo, Progress, RunnerEvents, StepInfo
from app.engine.plan import Plan, Stage
from app.engine.stage_sums import StageSums
from app.engine.suspenders import Suspenders
from app.pipeline import StepAccumulator, complex_field
from app.storage.runfile import RunWriter
from drivers.interfaces import InterlockError, PowerNotSettled


VISIBILITY_CHECKED_STAGES = ("reference", "sample")  # where low visibility means misalignment


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


class Acquisition:
    def __init__(self, bench, plan: Plan, writer: RunWriter | None, events: RunnerEvents, control: Control,
                 suspenders: Suspenders, analysis: Analysis, results: dict, start: ResumeState, *,
                 calibration, save_raw: bool = False):
        self.bench, self.plan, self.writer, self.events = bench, plan, writer, events
        self.bench_calibration, self.save_raw = calibration, save_raw  # effective [calibration]
        self.control, self.suspenders, self.analysis, self.results = control, suspenders, analysis, results
        self.start = start
        adc_max = 2 ** bench.camera.bit_depth() - 1
        self.acc = {s.label: StageSums(s.n_steps, plan.frame_shape, start.sums.get(s.label), start.counts.get(s.label),
                                       saturation_adu=adc_max)
                    for s in plan.stages}
        for label, saturated in start.saturated.items():  # saturation committed before a resume
            np.logical_or(self.acc[label].saturated, saturated, out=self.acc[label].saturated)
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
        for stage in plan.stages[: plan.blocks[self.start.block].stage if self.start.block < len(plan.blocks) else None]:
            self._stage_results(stage)  # stages finished before a resume: rebuild what later ones need
        i, current, cycle_start = self.start.block, None, None
        while i < len(plan.blocks):
            block = plan.blocks[i]
            stage = plan.stages[block.stage]
            if current is not stage:
                self._enter_stage(stage)
                current = stage
            if block.step == 0 or cycle_start is None:
                # A rollback returns to the cycle's first block, or to the resume point if the run was
                # resumed mid-cycle (the blocks before it are on disk and are not taken again).
                first = max(i - block.step, self.start.block)
                cycle_start = (first, self._frames_done, StepAccumulator(stage.n_steps, plan.frame_shape))
                if self.writer is not None:
                    self.writer.mark_cycle_start(stage.label)
            try:
                self._take_block(i, stage, block, cycle_start[2])
                if block.step == stage.n_steps - 1:
                    self._cycle_done(stage, block.cycle, cycle_start[2])
            except Suspended as why:
                i = self._rollback(stage, cycle_start)
                self._wait_until_clear(stage, str(why))
                current, cycle_start = None, None
                continue
            if i + 1 == len(plan.blocks) or plan.blocks[i + 1].stage != block.stage:
                self._stage_results(stage)
                self.events.stage_done.emit(stage.label)
            i += 1
        for name, (data, index) in self.analysis.run_done().items():
            self._store(name, data, index)

    # ----------------------------------------------------------------------------- stages and blocks
    def _enter_stage(self, stage: Stage) -> None:
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
        if stage.laser_on:
            bench.laser.set_power_w(self.plan.laser_power_w)
            bench.laser.set_emission(True)
            bench.laser.wait_until_power_settled(tolerance_fraction=cal.laser_settle_fraction,
                                                 timeout_s=cal.laser_settle_timeout_s,
                                                 checkpoint=self.control.checkpoint)
        else:
            bench.laser.set_emission(False)

    def _take_block(self, index: int, stage: Stage, block, cycle_acc: StepAccumulator) -> None:
        bench, acc = self.bench, self.acc[stage.label]
        piezo = stage.piezo_v[block.step] + self.offset.get(stage.label, 0.0)
        bench.phase_piezo.move_to(piezo)
        bench.phase_piezo.wait_settled()
        bench.camera.discard_stale_frames(timeout_s=self.plan.frame_timeout_s)  # free run queues old frames
        if stage.laser_on and not bench.laser.interlock_closed():
            raise InterlockError("the interlock opened during the run; emission stopped", device=bench.laser.name)
        power_w = bench.laser.measured_power_w()
        if stage.laser_on:
            self._raise_if(self.suspenders.check_laser(self.plan.laser_power_w, power_w))
        piezo_rb = bench.phase_piezo.position()
        delay_rb = bench.delay_stage.position()
        for _ in range(block.frames):
            self.control.checkpoint()
            frame = bench.camera.read_frame(timeout_s=self.plan.frame_timeout_s)
            self._raise_if(self.suspenders.check_saturation(frame.data))
            acc.add(block.step, frame.data)
            cycle_acc.add(block.step, frame.data)
            exposure = float(frame.metadata.get("exposure_s", np.nan))
            if self.writer is not None:
                self.writer.append_frame((self.plan.stages.index(stage), block.step, block.cycle, frame.frame_id,
                                          frame.timestamp_s, delay_rb, piezo_rb, power_w, exposure),
                                         frame.data if self.save_raw else None)
            self._frames_done += 1
            self._session_frames += 1
            self.events.frame_acquired.emit(frame.data, FrameInfo(stage.label, block.step, block.cycle, frame.frame_id,
                                                                  frame.timestamp_s, delay_rb, piezo_rb, power_w))
            self._progress(stage.label)
        if self.writer is not None:
            self.writer.commit_block(stage.label, block.step, acc.step_sum(block.step), int(acc.counts[block.step]),
                                     acc.saturated, blocks_done=index + 1, frames_done=self._frames_done)
        self.events.step_done.emit(StepInfo(stage.label, block.step, block.cycle, index + 1, len(self.plan.blocks)))

    def _progress(self, label: str) -> None:
        elapsed = time.monotonic() - self._t0
        total = self.plan.total_frames()
        rate = self._session_frames / elapsed if elapsed > 0 else 0.0
        eta = (total - self._frames_done) / rate if rate > 0 else None
        self.events.progress.emit(Progress(self._frames_done, total, elapsed, eta, label))

    def _cycle_done(self, stage: Stage, cycle: int, cycle_acc: StepAccumulator) -> None:
        if stage.kind in ("dark", "sweep") or not cycle_acc.counts.all():  # not a whole cycle (resumed mid-way)
            return
        dark = self.analysis.dark
        means = cycle_acc.mean_frames(dark)
        if stage.kind in VISIBILITY_CHECKED_STAGES:  # a delay far from any reflector has V ~ 0 by design
            self._raise_if(self.suspenders.check_visibility(means, stage.step_phases_rad))
        if stage.phase_lock:
            self._phase_lock(stage, cycle, means)

    def _phase_lock(self, stage: Stage, cycle: int, means: np.ndarray) -> None:
        """Global phase of this cycle against the stage's first; shift the piezo to cancel the drift."""
        field_now = complex_field(means, stage.step_phases_rad)
        label = stage.label
        offset = self.offset.get(label, 0.0)
        if label not in self._lock_ref:
            self._lock_ref[label] = field_now
            drift = 0.0
        else:
            drift = float(np.angle(np.vdot(self._lock_ref[label], field_now)))
        if self.writer is not None:
            self.writer.write_stage_array(label, "cycle_phase_rad", cycle, drift)
            self.writer.write_stage_array(label, "piezo_offset", cycle, offset)
        per_rad = self.bench_calibration.piezo_volts_per_2pi / (2 * np.pi)
        new = offset - drift * per_rad
        lo, hi = self.bench.phase_piezo.limits()
        if not (lo <= min(stage.piezo_v) + new and max(stage.piezo_v) + new <= hi):
            self._warn(f"phase lock: correction to {new:+.3f} would leave the piezo range; not applied")
            return
        self.offset[label] = new
        if abs(drift) > 0.3:
            self._warn(f"phase lock: {label} cycle {cycle} drifted {drift:+.2f} rad; piezo offset now {new:+.3f}")

    def _rollback(self, stage: Stage, cycle_start) -> int:
        """Subtract the discarded cycle's frames again; the file goes back to the cycle's start."""
        block_index, frames_done, cycle_acc = cycle_start
        acc = self.acc[stage.label]
        acc.subtract(cycle_acc)
        self._frames_done = frames_done
        if self.writer is not None:
            self.writer.rollback_cycle(stage.label, blocks_done=block_index, frames_done=frames_done)
        return block_index

    def _wait_until_clear(self, stage: Stage, why: str) -> None:
        self._warn(f"suspended: {why}; the current cycle is discarded and repeated when this clears")
        cfg = self.suspenders.config
        deadline = time.monotonic() + cfg.max_suspended_s
        with self.control.suspended():
            while True:
                self.control.sleep_until(time.monotonic() + cfg.recheck_interval_s)
                problem = self._recheck(stage)
                if problem is None:
                    break
                if time.monotonic() > deadline:
                    raise Suspended(f"suspended for more than {cfg.max_suspended_s:g} s: {problem}")
        self._warn("resumed: suspending condition cleared")

    def _recheck(self, stage: Stage) -> str | None:
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
        steps = range(stage.n_steps) if self.suspenders.config.visibility and stage.kind in VISIBILITY_CHECKED_STAGES else [0]
        for k in steps:
            bench.phase_piezo.move_to(stage.piezo_v[k] + self.offset.get(stage.label, 0.0))
            bench.phase_piezo.wait_settled()
            bench.camera.discard_stale_frames(timeout_s=self.plan.frame_timeout_s)
            frame = bench.camera.read_frame(timeout_s=self.plan.frame_timeout_s)
            problem = self.suspenders.check_saturation(frame.data)
            if problem:
                return problem
            probe.add(k, frame.data)
        if len(steps) == stage.n_steps:
            return self.suspenders.check_visibility(probe.mean_frames(self.analysis.dark), stage.step_phases_rad)
        return None

    # ----------------------------------------------------------------------------- helpers
    def _stage_results(self, stage: Stage) -> None:
        for name, (data, index) in self.analysis.stage_done(stage, self.acc[stage.label]).items():
            self._store(name, data, index)

    def _store(self, name: str, data, index) -> None:
        if name not in self.results:
            return
        if index is None:
            self.results[name] = np.asarray(data)
        else:
            self.results[name][index] = data
        if self.writer is not None:
            self.writer.write_result(name, data, index)

    def _raise_if(self, problem: str | None) -> None:
        if problem:
            raise Suspended(problem)

    def _warn(self, message: str) -> None:
        if self.writer is not None:
            self.writer.log("warning", message)
        self.events.warning.emit(message)

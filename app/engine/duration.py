"""How long a planned run will take, from the plan and the bench's cached facts (no device I/O).

The estimate walks the plan as the runner does (:mod:`app.engine.acquire`): per stage the sample and delay
moves and the pump switch-on wait, per block one phase-piezo move, then the block's frames at the camera's
frame period. Its inputs are the devices' cached readbacks (camera rate and exposure, stage positions,
laser state) and capability records (stage speed and settle time, the pump's power ramp); what a device
does not report is counted as zero and named in ``assumptions``. Not counted: computing results, suspended
cycles, pauses, and frames a free-running camera drops after a move.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field, replace

from drivers.contracts.laser import Laser

# the runner waits for the pump by polling at the contract's default interval
LASER_POLL_S = float(inspect.signature(Laser.wait_until_power_settled).parameters["poll_interval_s"].default)


@dataclass(frozen=True)
class AxisTiming:
    """Where a stage is and how fast it gets elsewhere (None: the device does not say)."""

    position: float | None
    velocity_per_s: float | None
    settle_time_s: float | None

    def move_s(self, target: float) -> float:
        """Travel plus settle time from the current position (0 when already there), as the simulator moves."""
        if self.position is not None and target == self.position:
            return 0.0
        travel = 0.0
        if self.velocity_per_s and math.isfinite(self.velocity_per_s) and self.position is not None:
            travel = abs(target - self.position) / self.velocity_per_s
        return travel + (self.settle_time_s or 0.0)


@dataclass(frozen=True)
class BenchTiming:
    frame_period_s: float | None  # 1 / the camera's reported frame rate
    exposure_s: float | None  # the camera's current exposure
    piezo: AxisTiming
    delay: AxisTiming
    sample: AxisTiming | None
    emission_on: bool
    laser_power_w: float
    ramp_time_s: float | None
    ramp_shape: str
    settle_fraction: float
    notes: tuple[str, ...] = ()  # what the devices did not report


@dataclass(frozen=True)
class DurationEstimate:
    total_s: float
    parts_s: dict[str, float]  # frames, piezo steps, stage moves, pump settling, waits
    frames: int
    frame_period_s: float
    assumptions: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        parts = ", ".join(f"{k} {duration_text(v)}" for k, v in self.parts_s.items() if v > 0)
        return f"about {duration_text(self.total_s)} ({parts})"


def duration_text(seconds: float) -> str:
    """'4.2 s', '3 min 05 s', '2 h 07 min'."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s // 60 % 60:02d} min"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{seconds:.1f} s"


def _axis(readback, caps) -> AxisTiming:
    return AxisTiming(None if readback is None else readback.position,
                      None if caps is None else caps.velocity_per_s, None if caps is None else caps.settle_time_s)


def bench_timing(readbacks: dict, capabilities: dict, settle_fraction: float) -> BenchTiming:
    """From ``bench.readbacks()`` and the devices' ``capabilities()`` records (no I/O, any thread)."""
    notes = []
    cam = readbacks.get("camera")
    rate = getattr(cam, "frame_rate_hz", None)
    period = 1.0 / rate if rate else None
    exposure = getattr(cam, "exposure_s", None)
    if period is None:
        notes.append("the camera reports no frame rate: frame period = exposure (readout time not counted)")
    axes = {}
    for role in ("phase_piezo", "delay_stage", "sample_stage"):
        caps = capabilities.get(role)
        if role in readbacks and (caps is None or caps.velocity_per_s is None or caps.settle_time_s is None):
            notes.append(f"{role} does not report its speed or settle time: its moves are counted as instant")
        axes[role] = _axis(readbacks.get(role), caps)
    laser, laser_caps = readbacks.get("laser"), capabilities.get("laser")
    ramp = None if laser_caps is None else laser_caps.power_ramp_time_s
    if ramp is None:
        notes.append("the laser does not report its power ramp: the wait for the pump to settle is not counted")
    return BenchTiming(
        frame_period_s=period, exposure_s=exposure, piezo=axes["phase_piezo"], delay=axes["delay_stage"],
        sample=axes["sample_stage"] if "sample_stage" in readbacks else None,
        emission_on=bool(getattr(laser, "emission", False)),
        laser_power_w=float(getattr(laser, "setpoint_w", None) or 0.0), ramp_time_s=ramp,
        ramp_shape="exponential" if laser_caps is None else laser_caps.power_ramp_shape,
        settle_fraction=settle_fraction, notes=tuple(notes))


def pump_settle_s(from_w: float, to_w: float, timing: BenchTiming) -> float:
    """Time until the power is within ``settle_fraction`` of ``to_w``, rounded up to the runner's polls."""
    tau, f = timing.ramp_time_s, timing.settle_fraction
    if not tau or to_w <= 0:
        return 0.0
    step = abs(from_w - to_w) / to_w  # relative distance left at the start of the ramp
    if step <= f:
        return 0.0
    if timing.ramp_shape == "linear":
        t = tau * (1.0 - f / step)
    else:
        t = tau * math.log(step / f)
    return math.ceil(t / LASER_POLL_S - 1e-9) * LASER_POLL_S


def estimate_duration(plan, timing: BenchTiming, *, sample_in_um: float | None = None,
                      sample_out_um: float | None = None) -> DurationEstimate:
    """Walk ``plan`` as the runner would, from the bench state in ``timing``."""
    assumptions = list(timing.notes)
    period = timing.frame_period_s or timing.exposure_s or 0.0
    if plan.exposure_s is not None:
        readout = (timing.frame_period_s - timing.exposure_s) if timing.frame_period_s and timing.exposure_s else 0.0
        period = plan.exposure_s + max(readout, 0.0)
        assumptions.append(f"frame period {period * 1e3:.4g} ms = the run's exposure + the camera's current readout "
                           f"time ({readout * 1e3:.3g} ms)")
    else:
        assumptions.append(f"frame period {period * 1e3:.4g} ms (the camera's current rate)")
    parts = dict.fromkeys(("frames", "piezo steps", "stage moves", "pump settling", "waits"), 0.0)
    piezo, delay, sample = timing.piezo.position, timing.delay.position, None if timing.sample is None else timing.sample.position
    power = timing.laser_power_w if timing.emission_on else 0.0
    t, current = 0.0, None
    for block in plan.blocks:
        stage = plan.stages[block.stage]
        if block.stage != current:  # the runner sets the bench up for each stage once
            current = block.stage
            if stage.start_after_s > t:
                parts["waits"] += stage.start_after_s - t
                t = stage.start_after_s
            dt = 0.0
            if stage.sample_in is not None and timing.sample is not None:
                target = sample_in_um if stage.sample_in else sample_out_um
                if target is not None:
                    dt += replace(timing.sample, position=sample).move_s(target)
                    sample = target
            if stage.delay_um is not None:
                dt += replace(timing.delay, position=delay).move_s(stage.delay_um)
                delay = stage.delay_um
            parts["stage moves"] += dt
            settle = pump_settle_s(power, plan.laser_power_w, timing) if stage.laser_on else 0.0
            parts["pump settling"] += settle
            power = plan.laser_power_w if stage.laser_on else 0.0
            t += dt + settle
        target = stage.piezo_setpoints[block.step]
        step_s = replace(timing.piezo, position=piezo).move_s(target)
        piezo = target
        frames_s = block.frames * period
        parts["piezo steps"] += step_s
        parts["frames"] += frames_s
        t += step_s + frames_s
    return DurationEstimate(total_s=t, parts_s=parts, frames=plan.total_frames(), frame_period_s=period,
                            assumptions=tuple(assumptions))


def estimate_for_bench(runner, capabilities: dict, sequence: str, params):
    """Plan ``params`` on ``runner``'s bench and estimate from its cached state (no device I/O); a text for a
    live sequence without a frame limit. ParameterError for parameters the bench cannot run."""
    from app.engine.calibration import effective_calibration

    bench = runner.bench
    validated, plan = runner.plan(sequence, params, results_in_memory=sequence == "live")
    if sequence == "live" and not validated.max_frames:
        return "live runs until you stop it"
    cal = effective_calibration(bench.config)
    timing = bench_timing(bench.readbacks(), capabilities, cal.laser_settle_fraction)
    return estimate_duration(plan, timing, sample_in_um=cal.sample_in_position_um,
                             sample_out_um=cal.sample_out_position_um)

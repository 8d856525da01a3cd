"""Each sequence's parameters -> a :class:`Plan`, checked against the bench's limits before any move.

``BenchFacts`` is what planning may know about the bench (limits, frame shape, calibration). All of it
is read in one place, :func:`bench_facts`, from values the devices cache (no serial query), so planning
can run on a GUI thread; every position a plan will visit is checked there, before anything moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.config.schema import CalibrationConfig
from app.engine.calibration import effective_calibration
from app.engine import params as P
from app.engine.params import ParameterError
from app.engine.plan import Plan, ResultSpec, PlanStage, equal_steps
from app.engine.procedures import PROCEDURES, procedure_module


@dataclass(frozen=True)
class BenchFacts:
    """Limits and settings planning needs; no device is moved to get them."""

    frame_shape: tuple[int, int]
    piezo_limits: tuple[float, float]
    piezo_unit: str
    delay_limits_um: tuple[float, float]
    laser_limits_w: tuple[float, float]
    has_sample_stage: bool
    calibration: CalibrationConfig
    sample_limits_um: tuple[float, float] | None = None
    slm_shape: tuple[int, int] | None = None  # (rows, cols) of the SLM panel
    slm_levels: int = 256  # entries of its LUT (phase levels per 2 pi)
    slm_pupil_centre_px: tuple[float, float] | None = None  # [slm] pupil_centre_px, where the config has one
    slm_pupil_radius_px: float | None = None  # [slm] pupil_radius_px
    slm_lut_path: str | None = None  # [slm] lut_path (the LUT file the SLM driver loads), resolved


def bench_facts(bench) -> BenchFacts:
    """Everything planning knows about ``bench``: the devices' capability records (fixed at connect),
    the camera's cached ROI and binning and the effective calibration. No device I/O, so
    ``Runner.start()`` can plan on any thread (decision 0040)."""
    camera_state = bench.camera.cached_state
    if camera_state.roi is not None and camera_state.binning:
        roi, binning = camera_state.roi, camera_state.binning
        frame_shape = (roi.height // binning, roi.width // binning)
    else:  # a bench built by hand that never read its camera
        frame_shape = tuple(bench.camera.frame_shape())
    piezo, delay = bench.phase_piezo.capabilities(), bench.delay_stage.capabilities()
    sample = None if bench.sample_stage is None else bench.sample_stage.capabilities()
    return BenchFacts(
        frame_shape=tuple(frame_shape),
        piezo_limits=tuple(piezo.limits),
        piezo_unit=piezo.unit,
        delay_limits_um=tuple(delay.limits),
        laser_limits_w=tuple(bench.laser.capabilities().power_range_w),
        has_sample_stage=sample is not None,
        calibration=effective_calibration(bench.config),
        sample_limits_um=None if sample is None else tuple(sample.limits),
        **_slm_facts(bench),
    )


def _slm_facts(bench) -> dict:
    """The SLM's shape and LUT size (capability record) and the pupil / LUT file its config names."""
    slm = getattr(bench, "slm", None)
    if slm is None:
        return {}
    caps = slm.capabilities()
    section = getattr(getattr(bench.config, "settings", None), "slm", None)
    centre = getattr(section, "pupil_centre_px", None)
    lut_path = getattr(section, "lut_path", None)
    if lut_path is not None and not Path(lut_path).is_absolute():
        lut_path = str(Path(bench.config.path).parent / lut_path)
    return dict(slm_shape=tuple(caps.shape), slm_levels=int(caps.levels),
                slm_pupil_centre_px=None if centre is None else (float(centre[0]), float(centre[1])),
                slm_pupil_radius_px=getattr(section, "pupil_radius_px", None), slm_lut_path=lut_path)


def build_plan(sequence: str, params, facts: BenchFacts) -> Plan:
    """Expand validated parameters into a plan; ParameterError if the bench cannot do it."""
    if sequence in PROCEDURES:
        plan = procedure_module(sequence).plan(params, facts)
    else:
        plan = _BUILDERS[sequence](params, facts)
    _check_limits(sequence, plan, facts)
    return plan


# ------------------------------------------------------------------------------------ stages
def _dark(frames: int, facts: BenchFacts) -> PlanStage:
    v0 = facts.calibration.piezo_start
    return PlanStage("dark", "dark", (v0,), (0.0,), frames, cycles=1, laser_on=False)


def _stepped(label: str, kind, p, facts: BenchFacts, *, sample_in: bool | None, **extra) -> PlanStage:
    cal = facts.calibration
    volts, phases = equal_steps(p.steps, cal.piezo_start, cal.piezo_travel_per_2pi)
    extra.setdefault("delay_um", cal.zero_path_delay_um)  # at zero path difference unless the stage scans delay
    if getattr(p, "phase_stepper", "piezo") == "slm":  # the piezo stays put; the SLM adds phase / passes
        volts = (cal.piezo_start,) * len(volts)
        extra["slm_steps_rad"] = tuple(float(phi) / p.slm_passes for phi in phases)
    return PlanStage(label, kind, volts, phases, p.frames_per_step, cycles=p.n_cycles(),
                 sample_in=sample_in, phase_lock=p.phase_lock, **extra)


def _reference(p, facts: BenchFacts) -> PlanStage:
    method = facts.calibration.reference_method
    if method == "sample_stage" and not facts.has_sample_stage:
        raise ParameterError("a reference run needs a [sample_stage] ([calibration] reference_method = "
                             "'sample_stage'); add one or set reference_method = 'bench_as_is'")
    return _stepped("reference", "reference", p, facts, sample_in=False if method == "sample_stage" else None)


def _sample_in(facts: BenchFacts) -> bool | None:
    return True if facts.has_sample_stage and facts.calibration.reference_method == "sample_stage" else None


def _image(facts, name, unit, description="") -> ResultSpec:
    return ResultSpec(name, facts.frame_shape, unit, description=description)


def _dark_results(facts) -> list[ResultSpec]:
    return [_image(facts, "dark", "ADU", "mean dark frame (laser off)")]


def _reference_results(facts) -> list[ResultSpec]:
    return [_image(facts, "reference_visibility", "1"), _image(facts, "reference_phase", "rad")]


def _object_results(facts, stack: int | None = None) -> list[ResultSpec]:
    """The pipeline's full reconstruction (``app.pipeline.reconstruct``), as ``qiup reprocess`` writes it."""
    shape = facts.frame_shape if stack is None else (stack, *facts.frame_shape)
    return [ResultSpec("visibility", shape, "1"), ResultSpec("amplitude", shape, "1", description="V / V_ref"),
            ResultSpec("phase", shape, "rad", description="relative to the reference run"),
            ResultSpec("phase_unwrapped", shape, "rad", description="phase unwrapped inside the mask"),
            ResultSpec("sigma_phase", shape, "rad", description="1-sigma phase uncertainty (shot + read noise)"),
            ResultSpec("sigma_visibility", shape, "1", description="1-sigma uncertainty of the visibility"),
            ResultSpec("sigma_amplitude", shape, "1", description="1-sigma uncertainty of the amplitude"),
            ResultSpec("mask", shape, "bool", dtype="uint8",
                       description="1 where V_ref is usable and the pixel is neither hot nor saturated"),
            ResultSpec("hot_pixels", shape, "bool", dtype="uint8", description="1 for hot pixels (from the dark)"),
            ResultSpec("saturated", shape, "bool", dtype="uint8", description="1 where any frame hit the ADC maximum")]


# ------------------------------------------------------------------------------------ sequences
def _plan(sequence, p, facts, stages, results, power=True) -> Plan:
    power_w = (getattr(p, "laser_power_w", None) or facts.calibration.laser_power_w) if power else 0.0
    return Plan(sequence=sequence, stages=tuple(stages), results=tuple(results), frame_shape=facts.frame_shape,
                laser_power_w=float(power_w), exposure_s=p.exposure_s, frame_timeout_s=p.frame_timeout_s,
                slm_correction_json=_slm_correction_json(sequence, p, facts))


def _slm_correction_json(sequence: str, p, facts: BenchFacts) -> str | None:
    """The ``slm_correction`` file's correction as JSON (kept in the plan: a resume shows the same one)."""
    path = getattr(p, "slm_correction", None)
    if path is None:
        return None
    from app.wavefront.masks import Correction, MaskFileError

    try:
        correction = Correction.load(path)
    except MaskFileError as exc:
        raise ParameterError(f"{sequence}: parameter slm_correction: {exc}") from None
    if facts.slm_shape is not None and tuple(correction.slm_shape) != tuple(facts.slm_shape):
        raise ParameterError(f"{sequence}: parameter slm_correction: {path} was made for an SLM of "
                             f"{tuple(correction.slm_shape)}, this one is {tuple(facts.slm_shape)}")
    return correction.to_json()


def plan_dark(p: P.DarkParams, facts: BenchFacts) -> Plan:
    return _plan("dark", p, facts, [_dark(p.frames, facts)], _dark_results(facts), power=False)


def plan_reference(p: P.ReferenceParams, facts: BenchFacts) -> Plan:
    return _plan("reference", p, facts, [_dark(p.n_dark_frames(), facts), _reference(p, facts)],
                 _dark_results(facts) + _reference_results(facts))


def _dark_then_reference(p, facts) -> tuple[list, list[ResultSpec]]:
    """The stages every object measurement starts with: dark (laser off), then the reference if asked."""
    stages, results = [_dark(p.n_dark_frames(), facts)], _dark_results(facts)
    if p.reference:
        stages.append(_reference(p, facts))
        results += _reference_results(facts)
    return stages, results


def plan_phase_stepping(p: P.PhaseSteppingParams, facts: BenchFacts) -> Plan:
    stages, results = _dark_then_reference(p, facts)
    stages.append(_stepped("sample", "sample", p, facts, sample_in=_sample_in(facts)))
    return _plan("phase-stepping", p, facts, stages, results + _object_results(facts))


def plan_time_series(p: P.TimeSeriesParams, facts: BenchFacts) -> Plan:
    stages, results = _dark_then_reference(p, facts)
    for t in range(p.repeats):
        stages.append(_stepped(f"sample_{t:04d}", "sample", p, facts, sample_in=_sample_in(facts),
                               start_after_s=t * p.interval_s, index=t))
    results += _object_results(facts, stack=p.repeats)
    results.append(ResultSpec("start_time_s", (p.repeats,), "s", "float64", "start of each repeat from run start"))
    return _plan("time-series", p, facts, stages, results)


def plan_delay_scan(p: P.DelayScanParams, facts: BenchFacts) -> Plan:
    delays = p.delays()
    stages = [_dark(p.n_dark_frames(), facts)]
    for z, delay in enumerate(delays):
        stages.append(_stepped(f"delay_{z:04d}", "delay", p, facts, sample_in=_sample_in(facts),
                               delay_um=float(delay), index=z))
    volume = (len(delays), *facts.frame_shape)
    results = _dark_results(facts) + [
        ResultSpec("delays_um", (len(delays),), "um", "float64"),
        ResultSpec("volume", volume, "ADU", description="envelope |T(z)|: fringe amplitude at each delay"),
        ResultSpec("field_phase", volume, "rad", description="fringe phase arg T(z) at each delay"),
        _image(facts, "depth_um", "um", "delay of the envelope peak"),
        _image(facts, "reflectivity", "ADU", "envelope peak height"),
    ]
    return _plan("delay-scan", p, facts, stages, results)


def plan_fringe_calibration(p: P.FringeCalibrationParams, facts: BenchFacts) -> Plan:
    cal = facts.calibration
    span = p.fringes * cal.piezo_travel_per_2pi
    volts = cal.piezo_start + np.linspace(0.0, span, p.points)
    phases = 2 * np.pi * (volts - volts[0]) / cal.piezo_travel_per_2pi
    sweep = PlanStage("sweep", "sweep", tuple(map(float, volts)), tuple(map(float, phases)), p.frames_per_point,
                  cycles=1, sample_in=None, delay_um=cal.zero_path_delay_um)
    results = _dark_results(facts) + [
        ResultSpec("piezo_per_2pi", (), facts.piezo_unit, "float64", "measured piezo travel per fringe"),
        ResultSpec("sweep_piezo", (p.points,), facts.piezo_unit, "float64"),
    ]
    return _plan("fringe-calibration", p, facts, [_dark(p.dark_frames, facts), sweep], results)


def plan_live(p: P.LiveParams, facts: BenchFacts) -> Plan:
    cal = facts.calibration
    volts, phases = equal_steps(p.steps, cal.piezo_start, cal.piezo_travel_per_2pi)
    stage = PlanStage("live", "sample", volts, phases, 1, cycles=1, delay_um=cal.zero_path_delay_um)
    return _plan("live", p, facts, [stage], [])


_BUILDERS = {
    "dark": plan_dark,
    "reference": plan_reference,
    "phase-stepping": plan_phase_stepping,
    "delay-scan": plan_delay_scan,
    "fringe-calibration": plan_fringe_calibration,
    "time-series": plan_time_series,
    "live": plan_live,
}
assert set(_BUILDERS) | set(PROCEDURES) == set(P.SEQUENCES)


def _in_range(value: float, limits: tuple[float, float]) -> bool:
    lo, hi = limits
    return bool(np.isfinite(value)) and lo <= value <= hi


def _check_limits(sequence: str, plan: Plan, facts: BenchFacts) -> None:
    """Every setpoint, delay, sample position and the pump power against the device limits."""
    check_stages(sequence, plan.stages, facts)
    if any(s.laser_on for s in plan.stages):
        check_laser_power(sequence, plan.laser_power_w, facts)


def check_stages(sequence: str, stages, facts: BenchFacts) -> None:
    """The limits themselves, then every stage's piezo setpoints, delay and sample position."""
    for name, limits in (("phase piezo", facts.piezo_limits), ("delay stage", facts.delay_limits_um),
                         ("laser", facts.laser_limits_w), ("sample stage", facts.sample_limits_um)):
        if limits is not None and not (np.all(np.isfinite(limits)) and limits[0] <= limits[1]):
            raise ParameterError(f"{sequence}: the {name}'s limits {limits} are not a range (min <= max); check its config")
    lo, hi = facts.piezo_limits
    unit = facts.piezo_unit
    cal = facts.calibration
    for stage in stages:
        bad = [v for v in stage.piezo_setpoints if not _in_range(v, facts.piezo_limits)]
        if bad:
            raise ParameterError(f"{sequence}: piezo setpoint {bad[0]:g} {unit} is outside the phase piezo's limits "
                                 f"[{lo:g}, {hi:g}] {unit} (check [calibration] piezo_start / piezo_travel_per_2pi)")
        if stage.delay_um is not None and not _in_range(stage.delay_um, facts.delay_limits_um):
            dlo, dhi = facts.delay_limits_um
            raise ParameterError(f"{sequence}: delay {stage.delay_um:g} um is outside the delay stage's limits "
                                 f"[{dlo:g}, {dhi:g}] um")
        if stage.sample_in is not None and facts.sample_limits_um is not None:
            key = "sample_in_position_um" if stage.sample_in else "sample_out_position_um"
            position = getattr(cal, key)
            if not _in_range(position, facts.sample_limits_um):
                slo, shi = facts.sample_limits_um
                raise ParameterError(f"{sequence}: [calibration] {key} = {position:g} um is outside the sample "
                                     f"stage's limits [{slo:g}, {shi:g}] um")


def check_laser_power(sequence: str, power_w: float, facts: BenchFacts) -> None:
    plo, phi = facts.laser_limits_w
    if not (np.isfinite(power_w) and plo < power_w <= phi):
        raise ParameterError(f"{sequence}: laser power {power_w:g} W is outside the laser's limits ({plo:g}, {phi:g}] W")

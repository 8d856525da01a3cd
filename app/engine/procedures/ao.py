"""The ``adaptive-optics`` sequence: sensorless modal correction through the runner (issue 12, item 5).

Booth's 2N+1 or N+1 method (:func:`app.wavefront.loop.run_modal_correction`) with the ROI visibility of a
short piezo burst (or the sharpness of the visibility map) as the metric. Every measurement's metric and
coefficients are written to the run file as it is taken; the correction (with wavelength, LUT hash,
pupil, basis and normalisation) goes into the file as JSON and into a mask file later runs and the SLM
panel load (``slm_correction=...``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.engine.params import ParameterError
from app.engine.plan import ResultSpec
from app.engine.procedures.context import ProcedureContext, burst_metric, procedure_plan
from drivers.slm_lut import lut_sha256

CORRECTION_JSON_BYTES = 65536


def measurement_count(p) -> int:
    """Before, every cycle's measurements, after."""
    n = len(p.modes)
    return 2 + p.cycles * (2 * n + 1 if p.method == "2n+1" else n + 1)


def roi_shape(p, facts) -> tuple[int, int]:
    h, w = facts.frame_shape
    return min(p.roi_px, h), min(p.roi_px, w)


def resolve_pupil(p, facts, sequence: str = "adaptive-optics") -> tuple[tuple[float, float], float]:
    """(row, col) centre and radius of the pupil on the SLM: parameters, then ``pupil_from``, then [slm]."""
    centre, radius = facts.slm_pupil_centre_px, facts.slm_pupil_radius_px
    if p.pupil_from is not None:
        centre, radius = pupil_from_run_file(p.pupil_from, sequence)
    centre = tuple(p.pupil_centre_px) if p.pupil_centre_px is not None else centre
    radius = p.pupil_radius_px if p.pupil_radius_px is not None else radius
    h, w = facts.slm_shape
    if centre is None:
        centre = ((h - 1) / 2.0, (w - 1) / 2.0)
    if radius is None:
        raise ParameterError(f"{sequence}: the pupil radius is unknown: give pupil_radius_px=..., pupil_from=<a "
                             "pupil-registration run file>, or set [slm] pupil_radius_px")
    if not (0 <= centre[0] < h and 0 <= centre[1] < w):
        raise ParameterError(f"{sequence}: pupil centre {centre} (row, col) lies outside the {h} x {w} SLM")
    return (float(centre[0]), float(centre[1])), float(radius)


def pupil_from_run_file(path: str, sequence: str) -> tuple[tuple[float, float], float]:
    from app.storage import RunFileError, read_run_file

    try:
        run = read_run_file(path)
        if run.sequence != "pupil-registration":
            raise ParameterError(f"{sequence}: parameter pupil_from: {path} is a {run.sequence} run, "
                                 "not a pupil-registration run")
        centre = np.asarray(run["pupil_centre_yx_px"], np.float64)
        radius = float(run["pupil_radius_px"])
    except (RunFileError, OSError, KeyError) as exc:
        raise ParameterError(f"{sequence}: parameter pupil_from: {path} is not a readable pupil-registration run "
                             f"file ({exc})") from None
    if not (np.all(np.isfinite(centre)) and np.isfinite(radius)):
        raise ParameterError(f"{sequence}: parameter pupil_from: {path} holds no pupil (the registration did not finish)")
    return (float(centre[0]), float(centre[1])), radius


def plan(p, facts):
    n, total = len(p.modes), measurement_count(p)
    resolve_pupil(p, facts)
    roi = roi_shape(p, facts)
    results = [
        ResultSpec("metric", (total,), "1", "float64", f"{p.metric} of each measurement: before, the optimiser's, after"),
        ResultSpec("coefficients_rad_rms", (total, n), "rad", "float64",
                   "correction shown at each measurement (Noll modes of noll_indices, rad RMS of SLM phase)"),
        ResultSpec("noll_indices", (n,), "1", "uint16"),
        ResultSpec("correction_rad_rms", (n,), "rad", "float64", "the correction found (rad RMS of SLM phase)"),
        ResultSpec("correction_json", (), "", f"S{CORRECTION_JSON_BYTES}", "the correction file's text (JSON)"),
        ResultSpec("pupil_centre_yx_px", (2,), "px", "float64", "pupil centre on the SLM (row, col)"),
        ResultSpec("pupil_radius_px", (), "px", "float64"),
        ResultSpec("visibility_before", roi, "1", description="ROI visibility map before the correction"),
        ResultSpec("visibility_after", roi, "1", description="ROI visibility map with the correction"),
    ]
    return procedure_plan("adaptive-optics", p, facts, results, sample_in=p.sample_in)


def run(ctx: ProcedureContext) -> None:
    from app.engine.sequences import bench_facts
    from app.wavefront.beam_modes import beam_search_modes, centre_piston, gaussian_beam_intensity
    from app.wavefront.loop import run_modal_correction
    from app.wavefront.masks import compose_mask
    from app.wavefront.zernike import Pupil, ZernikeBasis

    p, bench = ctx.params, ctx.bench
    shape = tuple(bench.slm.shape)
    facts = bench_facts(bench)
    centre, radius = resolve_pupil(p, facts)
    basis = ZernikeBasis(tuple(p.modes), Pupil(centre, radius), shape)
    intensity = gaussian_beam_intensity(shape, basis.pupil)  # the pupil's Gaussian beam (1/e^2 radius = pupil radius)
    search_modes = (beam_search_modes(basis, intensity, p.extent_radii, p.slm_passes, p.bias_rad)
                    if p.search == "pump-weighted" else None)  # decision 0050: orthonormal over it, secant curvatures

    def show(mask: np.ndarray) -> np.ndarray:
        return centre_piston(mask, intensity)  # decision 0050: beam-weighted circular mean at pi
    ctx.record("noll_indices", np.asarray(p.modes, np.uint16))
    ctx.record("pupil_centre_yx_px", np.asarray(centre))
    ctx.record("pupil_radius_px", radius)
    shown_before = bench.slm.current_phase_rad()
    ctx.set_up(sample_in=p.sample_in)
    metric = burst_metric(ctx, roi_px=p.roi_px, steps=p.steps, frames_per_step=p.frames_per_step,
                          dark_frames=p.dark_frames, metric=p.metric, carrier_rad=0.0)  # the piston is show()'s
    total, row = measurement_count(p), [0]

    def on_measurement(coefficients: np.ndarray, value: float) -> None:
        i = row[0]
        ctx.record("metric", value, i)
        ctx.record("coefficients_rad_rms", coefficients, i)
        if i in (0, total - 1):
            ctx.record("visibility_before" if i == 0 else "visibility_after", metric.last_visibility_map)
        row[0] += 1
        ctx.record("measurements_done", row[0])
        ctx.progress(row[0], total, "adaptive-optics")

    def on_step(cycle: int, step, current: np.ndarray) -> None:
        clipped = ", ".join(str(p.modes[k]) for k in step.clipped_modes)
        ctx.log(f"cycle {cycle + 1}/{p.cycles}: largest step {np.max(np.abs(step.delta_rad_rms)):.3f} rad"
                + (f"; wild-step guard clipped Noll {clipped} to {p.max_step_factor:g} x bias" if clipped else ""))

    done = False
    try:
        result = run_modal_correction(
            bench, basis, p.method, bias_rad=p.bias_rad, cycles=p.cycles, metric=metric, pass_count=p.slm_passes,
            wavelength_nm=p.wavelength_nm, lut_sha256=lut_sha256(bench.slm.lut), max_step_factor=p.max_step_factor,
            search_modes=search_modes, extent_radii=p.extent_radii, on_measurement=on_measurement, on_step=on_step,
            mask_transform=show)
        done = True
    finally:
        if not (done and p.apply):  # an aborted or failed search leaves the SLM as it found it
            ctx.show_quietly(shown_before, "restored")
    correction = result.correction
    correction.metadata.update(metric=p.metric, roi_px=p.roi_px, sample_in=p.sample_in,
                               run_file=str(ctx.sink.path) if ctx.sink.path is not None else "")
    text = correction.to_json()
    ctx.record("correction_rad_rms", np.asarray(correction.coefficients_rad_rms))
    ctx.record("correction_json", np.bytes_(text.encode("utf-8")))
    target = Path(p.mask_file) if p.mask_file else (None if ctx.sink.path is None
                                                    else ctx.sink.path.with_suffix(".correction.json"))
    if target is not None:
        correction.save(target)
        ctx.notes["mask_file"] = target
    if p.apply:
        bench.slm.show(show(compose_mask(shape, correction=correction)), wait=False, label="ao correction")
    ctx.log(f"adaptive optics ({p.method}, {len(p.modes)} modes, {p.cycles} cycles): {p.metric} "
            f"{result.visibility_before:.4g} -> {result.visibility_after:.4g} in {result.n_measurements} bursts"
            + (f"; correction saved to {target}" if target is not None else ""))

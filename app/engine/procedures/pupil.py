"""The ``pupil-registration`` sequence: where the pump beam sits on the SLM (issue 12, item 3).

A half-plane step of pi in the interference phase (pi / passes on the SLM) is scanned across the panel,
first coarsely over the whole axis (the dip is found without trusting the config), then finely around
the dip; :func:`app.wavefront.pupil_fit.fit_edge_scan` gives the centre and radius per axis. Rows first
(y), then columns (x). Every visibility is written to the run file as it is measured.
"""

from __future__ import annotations

import numpy as np

from app.engine.plan import ResultSpec
from app.engine.procedures.context import ProcedureContext, burst_metric, procedure_plan

AXES = ("y", "x")


def plan(p, facts):
    n = p.coarse_points + p.points
    results = [spec for axis in AXES for spec in (
        ResultSpec(f"{axis}_edge_px", (n,), "px", "float64", f"edge position along {axis}: coarse scan, then fine"),
        ResultSpec(f"{axis}_visibility", (n,), "1", "float64", "ROI-mean visibility with the edge there"))]
    results += [
        ResultSpec("pupil_centre_yx_px", (2,), "px", "float64", "pump-beam centre on the SLM (row, col)"),
        ResultSpec("pupil_radius_px", (), "px", "float64", "mean of the two axes' radii (1/e^2 for a Gaussian beam)"),
        ResultSpec("pupil_radius_yx_px", (2,), "px", "float64", "radius fitted along y and along x"),
        ResultSpec("edge_fit_residual", (2,), "1", "float64", "RMS residual of the y and x fits (visibility)"),
        ResultSpec("edge_step_rad", (2,), "rad", "float64", "interference phase step the edge delivered (fitted; "
                   "pi with a calibrated LUT)"),
    ]
    return procedure_plan("pupil-registration", p, facts, results, sample_in=False)


def run(ctx: ProcedureContext) -> None:
    from app.wavefront.pupil_fit import PupilFitError, edge_scan_masks, fit_edge_scan

    p, bench = ctx.params, ctx.bench
    shape = tuple(bench.slm.shape)
    total = 2 * (p.coarse_points + p.points)
    shown_before = bench.slm.current_phase_rad()
    ctx.set_up(sample_in=False)
    metric = burst_metric(ctx, roi_px=p.roi_px, steps=p.steps, frames_per_step=p.frames_per_step,
                          dark_frames=p.dark_frames)
    done, fits = [0], {}

    def scan(axis: str, positions: np.ndarray, offset: int) -> np.ndarray:
        values = []
        for k, position in enumerate(positions):
            (mask,) = edge_scan_masks(shape, axis, [position])
            values.append(metric(mask / p.slm_passes))
            ctx.record(f"{axis}_edge_px", float(position), offset + k)
            ctx.record(f"{axis}_visibility", values[-1], offset + k)
            done[0] += 1
            ctx.record("measurements_done", done[0])
            ctx.progress(done[0], total, f"pupil-registration {axis}")
        return np.asarray(values)

    try:
        for axis in AXES:
            length = shape[0] if axis == "y" else shape[1]
            coarse = np.linspace(0.0, length - 1.0, p.coarse_points)
            try:
                rough = fit_edge_scan(coarse, scan(axis, coarse, 0), "gaussian")
                fine = np.linspace(rough.centre_px - p.span_radii * rough.radius_px,
                                   rough.centre_px + p.span_radii * rough.radius_px, p.points)
                fits[axis] = fit_edge_scan(fine, scan(axis, fine, p.coarse_points), p.profile)
            except PupilFitError as exc:
                raise PupilFitError(f"pupil-registration along {axis}: {exc}") from None
            f = fits[axis]
            ctx.log(f"pupil along {axis}: centre {f.centre_px:.1f} px, radius {f.radius_px:.1f} px ({f.profile}, "
                    f"step {f.step_rad:.2f} rad, residual {f.residual_rms:.3g})")
    finally:
        metric.close()
        ctx.show_quietly(shown_before, "restored")
    y, x = fits["y"], fits["x"]
    ctx.record("pupil_radius_yx_px", np.array([y.radius_px, x.radius_px]))
    ctx.record("edge_fit_residual", np.array([y.residual_rms, x.residual_rms]))
    ctx.record("edge_step_rad", np.array([y.step_rad, x.step_rad]))
    ctx.record("pupil_radius_px", 0.5 * (y.radius_px + x.radius_px))
    ctx.record("pupil_centre_yx_px", np.array([y.centre_px, x.centre_px]))  # last: its presence means done
    ctx.log(f"pupil on the SLM: centre (row, col) ({y.centre_px:.1f}, {x.centre_px:.1f}) px, radius "
            f"{0.5 * (y.radius_px + x.radius_px):.1f} px")

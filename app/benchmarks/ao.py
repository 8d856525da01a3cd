"""``qiup bench ao``: sensorless AO (2N+1 and N+1) on the simulated bench with its imperfect SLM.

First the SLM's LUT is *calibrated through the bench* (the ``lut-calibration`` sequence's measurement and
fit, phase drift on); every bench after loads that LUT. Then the pump beam's pupil on the SLM is
*registered through the bench* (a pi/p half-plane step scanned across the SLM in x and y, visibility fitted
by ``pupil_fit.fit_edge_scan``) on the aberration-free bench (an uncorrected aberration biases the scan, see
:func:`register_pupil`; a real bench cannot remove its aberration, so this step is still easier than a
real one). N+1's curvature per search mode is then *measured through the bench* (aberration-free, calibrated
LUT, +-bias per mode: :func:`app.wavefront.modal.measured_curvatures`): it comes out ~18 % under the beam
model (LUT slope where the masks sit, crosstalk, the metric's noise), which had held N+1 at ~0.28 rad.
Every trial then uses that registered pupil, its Gaussian beam (orthonormalised search modes) and a mask
piston that keeps the SLM's wraps off the beam's centre. Each trial is a fresh simulated bench whose idler aberration is a random
draw over Noll 5-16 (scaled to the stated rad RMS), a 64 x 64 ROI at the field centre, the simulated
camera's noise, and the SLM's S-shaped response, crosstalk, flicker and response time. Residual: the true
W + p x correction projected on Noll 5-16 over the true pupil (rad RMS of wavefront). Visibility: mean of
4 bursts, relative to the aberration-free bench (no aberration, flat SLM). USAF: finest element resolved in
|t| = V / V_ref (it and every coarser one with bar contrast >= 0.2; finer bars of 1-2 px alias), aberrated /
corrected / aberration-free, on the first ``--usaf-trials``.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

NOLL = tuple(range(5, 17))
ROI = (992, 992, 64, 64)
METHODS = {"2n+1": dict(rms=1.0, cycles=2, target=0.15, extent=1.5),
           "n+1": dict(rms=0.7, cycles=3, target=0.20, extent=1.0)}  # N+1 diverges with the modes continued
VISIBILITY_TARGET = (0.95, 0.90)  # of the aberration-free value, 2N+1: on average, in the worst tenth
EVAL_BURSTS = 4  # bursts averaged for the before/after/free visibilities of the table (not the optimiser's)
USAF_ROI = (768, 768, 512, 512)
USAF_THRESHOLD = 0.2  # bar contrast in |t| that counts as resolved


def add_arguments(parser) -> None:
    parser.add_argument("--trials", type=int, default=50, help="random aberrations per method (default 50)")
    parser.add_argument("--bias", type=float, default=0.28, help="bias per mode, rad RMS of SLM phase (default 0.28)")
    parser.add_argument("--frames-per-step", type=int, default=2, help="frames per phase step (default 2)")
    parser.add_argument("--seed", type=int, default=12, help="random seed of the aberrations (default 12)")
    parser.add_argument("--usaf-trials", type=int, default=3, help="2N+1 trials also imaged on the USAF target "
                        "(default 3)")
    parser.add_argument("--workers", type=int, default=0, help="processes (default: the CPU count, at most 4)")


# ---------------------------------------------------------------------------------------------- bench
def _bench(aberration: dict[int, float], lut: np.ndarray | None = None, **options):
    """A fresh simulated bench with ``aberration``; its SLM loads ``lut`` (the one calibrated through the bench),
    or keeps its factory linear LUT when None (the LUT calibration's own bench)."""
    from drivers.slm_lut import integral_lut
    from sim_backends.quick import quick_bench

    bench = quick_bench(sample=options.pop("sample", "empty"), roi=options.pop("roi", ROI),
                        aberration_zernike_rad=aberration, **options)
    if lut is not None:
        bench.slm.lut = integral_lut(lut, bench.slm.gray_max)
    return bench


def _metric(bench, frames_per_step: int, **options):
    from app.wavefront.loop import VisibilityMetric

    options.setdefault("carrier_rad", 0.0)  # centre_piston places every mask's piston here, not a uniform pi
    return VisibilityMetric(bench, roi_px=64, frames_per_step=frames_per_step, **options)


def _random_aberration(rng: np.random.Generator, rms_rad: float) -> dict[int, float]:
    c = rng.normal(size=len(NOLL))
    c *= rms_rad / np.linalg.norm(c)
    return {j: float(v) for j, v in zip(NOLL, c)}


class _Truth:
    """The world's W projected on Noll 5-16 over the true pupil (ground truth for the residual only)."""

    def __init__(self, bench):
        from app.wavefront.zernike import Pupil, ZernikeBasis

        centre, radius = bench.world.slm_pupil_truth()
        self.basis = ZernikeBasis(NOLL, Pupil(tuple(centre), radius), bench.slm.shape)
        self.w = bench.world.aberration_on_slm_rad(bench.slm.shape).astype(np.float64)
        self.p = bench.world.pass_count

    def residual(self, slm_phase_rad) -> float:
        return float(np.linalg.norm(self.basis.project(self.w + self.p * np.asarray(slm_phase_rad, np.float64))))


# ---------------------------------------------------------------------------------------------- LUT
LUT_DRIFT_RAD_PER_S = 0.05  # the LUT criterion: phase drift switched on during the calibration
LUT_GRAY_STEP = 4


def calibrate_lut(frames_per_step: int) -> tuple[np.ndarray, dict]:
    """The SLM's LUT measured through a bench with phase drift on, by the ``lut-calibration`` sequence's own
    measurement (:func:`app.engine.procedures.lut.measure_levels`) and fit; (LUT, how well it matches the truth)."""
    from app.engine.procedures.lut import gray_levels, measure_levels
    from app.engine.procedures.params import LutCalibrationParams
    from app.wavefront.lut_fit import fit_lut

    bench = _bench({}, phase_drift_rad_per_s=LUT_DRIFT_RAD_PER_S)
    levels = len(bench.slm.lut)
    grays = gray_levels(LutCalibrationParams(gray_step=LUT_GRAY_STEP), levels)
    metric = _metric(bench, frames_per_step)
    try:
        metric.prepare()
        measured = measure_levels(bench.slm, metric.maps, grays, reference_gray=0)
    finally:
        metric.close()
    fitted = fit_lut(grays.astype(np.float64), measured, max_gray=levels - 1, levels=levels,
                     passes=bench.world.pass_count)
    true = bench.slm.response.phase_of_gray(np.arange(levels))
    true = true - true[0]
    stats = dict(rms_rad=float(np.sqrt(np.mean((fitted.response_rad - true) ** 2))),
                 gray_at_2pi=float(fitted.gray_at_2pi), true_gray_at_2pi=float(np.interp(2 * np.pi, true, np.arange(levels))),
                 measurements=2 * grays.size + 1)
    return fitted.lut, stats


# ---------------------------------------------------------------------------------------------- pupil
def _edge_scan(metric, shape, pass_count: int, pupil, under_rad) -> tuple:
    """A pi/p half-plane step (a pi step of the wavefront) scanned in x and y over ``under_rad``; the fits."""
    from app.wavefront.pupil_fit import edge_scan_masks, fit_edge_scan

    fits = []
    for axis, centre in (("x", pupil.centre_yx_px[1]), ("y", pupil.centre_yx_px[0])):
        positions = centre + pupil.radius_px * np.linspace(-1.6, 1.6, 25)
        v = [metric(under_rad + edge_scan_masks(shape, axis, [s])[0] / pass_count) for s in positions]
        fits.append(fit_edge_scan(positions, np.asarray(v), profile="gaussian"))
    return fits


def register_pupil(frames_per_step: int, lut: np.ndarray):
    """The pupil measured through an aberration-free bench by the half-plane scan (with 1 rad RMS of
    aberration present the scan is biased: radius ~18 % short, or ~9 % over a first correction made with
    the configured pupil). Returns (pupil, configured pupil, truth, measurements)."""
    from app.wavefront.zernike import Pupil

    bench = _bench({}, lut)
    shape, p = tuple(bench.slm.shape), bench.world.pass_count
    centre, radius = bench.world.slm_pupil_configured(shape)
    configured = Pupil(tuple(centre), radius)
    metric = _metric(bench, frames_per_step)
    try:
        fx, fy = _edge_scan(metric, shape, p, configured, np.zeros(shape, np.float32))
    finally:
        metric.close()
    pupil = Pupil((fy.centre_px, fx.centre_px), float(np.sqrt(fx.radius_px * fy.radius_px)))
    truth = bench.world.slm_pupil_truth(shape)
    return pupil, configured, Pupil(tuple(truth[0]), truth[1]), 50


# ---------------------------------------------------------------------------------------------- USAF
def finest_resolved(aberration, mask_rad, lut: np.ndarray) -> int:
    """Index of the finest USAF element resolved in V / V_ref (it and every coarser element with bar contrast
    >= threshold: :func:`sim_backends.usaf.finest_resolved`), -1 if none."""
    from app.wavefront.loop import VisibilityMetric
    from sim_backends.usaf import bar_contrast
    from sim_backends.usaf import finest_resolved as read_chart

    bench = _bench(aberration, lut, sample="usaf", roi=USAF_ROI)
    x, y, w, h = USAF_ROI
    metric = VisibilityMetric(bench, roi_px=max(w, h), frames_per_step=2, carrier_rad=0.0)  # the whole camera ROI
    try:
        bench.slm.show(np.asarray(mask_rad, np.float32), wait=True)
        bench.sample_stage.move_to(25_000.0)  # the sample out: the reference visibility
        v_ref = metric.visibility_map()
        bench.sample_stage.move_to(0.0)
        amplitude = metric.visibility_map() / np.maximum(v_ref, 1e-6)
    finally:
        metric.close()
    contrasts = [bar_contrast(amplitude, el, offset=(y, x)) for el in bench.world.usaf_elements()]
    return read_chart(contrasts, USAF_THRESHOLD)


# ---------------------------------------------------------------------------------------------- trials
_WORKER: dict = {}  # per process: the LUT, and the basis, beam and search modes of the registered pupil


def _search_setup(pupil, bias_rad: float):
    """(basis, beam intensity, search modes per method) of the registered pupil."""
    from app.wavefront.beam_modes import beam_search_modes, gaussian_beam_intensity
    from app.wavefront.zernike import ZernikeBasis

    shape = tuple(_bench({}).slm.shape)
    basis = ZernikeBasis(NOLL, pupil, shape)
    intensity = gaussian_beam_intensity(shape, pupil)
    return basis, intensity, {m: beam_search_modes(basis, intensity, spec["extent"], 2, bias_rad)
                              for m, spec in METHODS.items()}


def _setup(pupil, lut: np.ndarray, args_dict: dict) -> None:
    from dataclasses import replace

    basis, intensity, modes = _search_setup(pupil, args_dict["bias"])
    if args_dict.get("n1_curvature") is not None:  # measured through the bench (see measure_n1_curvature)
        modes["n+1"] = replace(modes["n+1"], curvature=np.asarray(args_dict["n1_curvature"]))
    _WORKER.update(args=args_dict, basis=basis, intensity=intensity, lut=lut, modes=modes)


CURVATURE_REPEATS = 2


def measure_n1_curvature(pupil, lut, bias_rad: float, frames_per_step: int) -> tuple[np.ndarray, np.ndarray]:
    """N+1's curvature per search mode measured through the aberration-free bench with the calibrated LUT
    (:func:`app.wavefront.modal.measured_curvatures`, masks shown as in the trials); (measured, model)."""
    from app.wavefront.beam_modes import centre_piston
    from app.wavefront.masks import compose_mask
    from app.wavefront.modal import measured_curvatures

    basis, intensity, modes = _search_setup(pupil, bias_rad)
    search, extent = modes["n+1"], METHODS["n+1"]["extent"]
    bench = _bench({}, lut)
    shape = tuple(bench.slm.shape)
    metric = _metric(bench, frames_per_step)

    def measure(coefficients):
        phase = basis.continued_wavefront_rad(search.to_basis @ coefficients, extent)
        return metric(centre_piston(compose_mask(shape, user_masks_rad=[phase]), intensity))

    try:
        measured = measured_curvatures(measure, basis.n_modes, bias_rad, repeats=CURVATURE_REPEATS)
    finally:
        metric.close()
    return measured, np.asarray(search.curvature)


def _mean_visibility(bench, mask, frames_per_step: int) -> float:
    metric = _metric(bench, frames_per_step)
    try:
        return float(np.mean([metric(mask) for _ in range(EVAL_BURSTS)]))
    finally:
        metric.close()


def _trial(job: tuple) -> dict:
    from app.wavefront.beam_modes import centre_piston
    from app.wavefront.loop import run_modal_correction

    method, aberration, with_usaf = job
    args, basis, intensity = _WORKER["args"], _WORKER["basis"], _WORKER["intensity"]
    spec, fps, lut = METHODS[method], args["frames_per_step"], _WORKER["lut"]
    bench = _bench(aberration, lut)
    truth = _Truth(bench)
    shape = tuple(bench.slm.shape)
    flat = np.zeros(shape, np.float32)

    def show(mask):
        return centre_piston(mask, intensity)

    run = run_modal_correction(bench, basis, method, bias_rad=args["bias"], cycles=spec["cycles"],
                               metric=_metric(bench, fps), pass_count=truth.p, search_modes=_WORKER["modes"][method],
                               extent_radii=spec["extent"], mask_transform=show)
    assert not bench.world.state.laser_emission
    corrected = show(run.correction.phase_rad())
    conjugate = bench.world.conjugate_slm_phase_rad(shape)
    out = dict(method=method, v_none=_mean_visibility(bench, flat, fps), res_none=truth.residual(flat),
               v_conj=_mean_visibility(bench, show(conjugate), fps), res_conj=truth.residual(conjugate),
               v_after=_mean_visibility(bench, corrected, fps), res_after=truth.residual(run.correction.phase_rad()),
               measurements=run.n_measurements - 2)  # the optimiser's; its before/after are not search steps
    if with_usaf:
        out["usaf"] = (finest_resolved(aberration, flat, lut), finest_resolved(aberration, corrected, lut))
    return out


# ---------------------------------------------------------------------------------------------- table
def _worst_tenth(values: np.ndarray, high_is_bad: bool) -> float:
    """Mean of the worst 10 % of the trials (at least one)."""
    k = max(1, int(round(0.1 * values.size)))
    ordered = np.sort(values)
    return float(ordered[-k:].mean() if high_is_bad else ordered[:k].mean())


def main(args) -> int:
    for name, default in (("trials", 50), ("bias", 0.28), ("frames_per_step", 2), ("seed", 12), ("usaf_trials", 3),
                          ("workers", 0)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.trials < 1 or args.bias <= 0 or args.frames_per_step < 1 or args.usaf_trials < 0 or args.workers < 0:
        from app.cli import CliError

        raise CliError("qiup bench ao: --trials >= 1, --bias > 0 rad, --frames-per-step >= 1, --usaf-trials >= 0, "
                       "--workers >= 0")
    started = time.perf_counter()
    workers = args.workers or min(4, os.cpu_count() or 1)
    settings = dict(bias=float(args.bias), frames_per_step=int(args.frames_per_step))
    lut, lut_stats = calibrate_lut(args.frames_per_step)
    pupil, configured, truth, reg_measurements = register_pupil(args.frames_per_step, lut)
    n1_curvature, n1_model = measure_n1_curvature(pupil, lut, settings["bias"], settings["frames_per_step"])
    settings["n1_curvature"] = n1_curvature.tolist()
    print(f"N+1 curvature measured through the aberration-free bench ({CURVATURE_REPEATS * 3 * len(NOLL)} "
          f"measurements): measured / beam model per mode "
          + " ".join(f"{m:.3f}" for m in n1_curvature / n1_model), flush=True)
    free_bench = _bench({}, lut)
    v_free = _mean_visibility(free_bench, np.zeros(free_bench.slm.shape, np.float32), args.frames_per_step)
    rng = np.random.default_rng(args.seed)
    jobs = [(method, _random_aberration(rng, spec["rms"]), method == "2n+1" and k < args.usaf_trials)
            for method, spec in METHODS.items() for k in range(args.trials)]
    with ProcessPoolExecutor(workers, initializer=_setup, initargs=(pupil, lut, settings)) as pool:
        rows = list(pool.map(_trial, jobs))
    usaf_free = finest_resolved({}, np.zeros(free_bench.slm.shape, np.float32), lut) if args.usaf_trials else None
    ok = _report(args, rows, v_free, lut_stats, pupil, configured, truth, reg_measurements, usaf_free)
    print(f"({time.perf_counter() - started:.0f} s, {workers} processes)")
    return 0 if ok else 1


def _report(args, rows, v_free, lut_stats, pupil, configured, truth, reg_measurements, usaf_free) -> bool:
    r_t = truth.radius_px
    print(f"sensorless AO, simulated bench: Noll 5-16, ROI 64 x 64, imperfect SLM (S-shaped response, crosstalk "
          f"0.7 px, flicker, 20 ms response) with the LUT calibrated through the bench; bias {args.bias} rad (SLM), "
          f"{args.frames_per_step} frames x 4 steps per measurement, {args.trials} trials per method")
    print(f"LUT calibrated through the bench (lut-calibration measurement, drift {LUT_DRIFT_RAD_PER_S} rad/s, every "
          f"{LUT_GRAY_STEP}th gray, {lut_stats['measurements']} measurements): response {lut_stats['rms_rad']:.4f} rad "
          f"RMS from the true one over all gray levels, 2 pi at gray {lut_stats['gray_at_2pi']:.2f} (true "
          f"{lut_stats['true_gray_at_2pi']:.2f})")
    print(f"pupil registered through the aberration-free bench ({reg_measurements} measurements; NOT with an "
          f"aberration present: the half-plane scan is biased by one, decision 0050): centre "
          f"({pupil.centre_yx_px[0]:.1f}, {pupil.centre_yx_px[1]:.1f}) px, radius {pupil.radius_px:.1f} px; true "
          f"({truth.centre_yx_px[0]:.1f}, {truth.centre_yx_px[1]:.1f}), {r_t:.1f}; configured "
          f"({configured.centre_yx_px[0]:.1f}, {configured.centre_yx_px[1]:.1f}), {configured.radius_px:.1f}. Error: "
          f"centre {np.hypot(*np.subtract(pupil.centre_yx_px, truth.centre_yx_px)) / r_t:.1%} of R, radius "
          f"{pupil.radius_px / r_t - 1:+.1%}")
    print(f"aberration-free ROI visibility (no aberration, flat SLM) {v_free:.4f}")
    print(f"{'method':<6} {'W rms':>5}  {'row':<24} {'meas.':>5}  {'residual rad RMS':>17}  {'V / V_free':>15}")
    print(f"{'':<6} {'':>5}  {'':<24} {'':>5}  {'mean':>8} {'worst10%':>8}  {'mean':>7} {'worst10%':>7}")
    ok = True
    for method, spec in METHODS.items():
        mine = [r for r in rows if r["method"] == method]
        for label, v_key, r_key, meas in (("no correction", "v_none", "res_none", "0"),
                                          ("perfect conjugate -W/p", "v_conj", "res_conj", "-"),
                                          (f"{method}, {spec['cycles']} cycles, {spec['extent']:g} R", "v_after",
                                           "res_after", str(mine[0]["measurements"]))):
            res = np.array([r[r_key] for r in mine])
            vis = np.array([r[v_key] for r in mine]) / v_free
            print(f"{method:<6} {spec['rms']:>5.2f}  {label:<24} {meas:>5}  {res.mean():>8.3f} "
                  f"{_worst_tenth(res, True):>8.3f}  {vis.mean():>7.1%} {_worst_tenth(vis, False):>7.1%}")
        res = np.array([r["res_after"] for r in mine])
        vis = np.array([r["v_after"] for r in mine]) / v_free
        met = bool(res.mean() <= spec["target"])
        ok &= met
        print(f"  residual <= {spec['target']} rad RMS (mean): {'met' if met else 'NOT MET'} ({res.mean():.3f}; "
              f"{np.mean(res <= spec['target']):.0%} of trials, max {res.max():.3f})")
        if method == "2n+1":
            mean_ok = bool(vis.mean() >= VISIBILITY_TARGET[0])
            worst_ok = bool(_worst_tenth(vis, False) >= VISIBILITY_TARGET[1])
            ok &= mean_ok and worst_ok
            print(f"  visibility >= {VISIBILITY_TARGET[0]:.0%} of aberration-free on average: "
                  f"{'met' if mean_ok else 'NOT MET'} ({vis.mean():.1%}); >= {VISIBILITY_TARGET[1]:.0%} in the worst "
                  f"tenth: {'met' if worst_ok else 'NOT MET'} ({_worst_tenth(vis, False):.1%})")
            usaf = [r["usaf"] for r in mine if "usaf" in r]
            if usaf:
                restored = all(after >= usaf_free for _, after in usaf)
                ok &= restored
                print(f"  USAF finest resolved element (index, 0 = group 2 element 3), aberrated -> corrected, "
                      f"aberration-free {usaf_free}: " + ", ".join(f"{b} -> {a}" for b, a in usaf)
                      + f": {'restored' if restored else 'NOT restored'}")
    return ok

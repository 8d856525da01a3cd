"""``qiup bench ao``: sensorless AO (2N+1 and N+1) on the simulated bench with its imperfect SLM.

Each trial is a fresh simulated bench whose idler aberration is a random draw over Noll 5-16 (scaled to
the stated rad RMS of wavefront), a 64 x 64 ROI at the field centre and the simulated camera's noise. The
SLM keeps its S-shaped response, crosstalk, flicker and response time, but gets the *ideal* LUT
(``SimSlm.ideal_lut()``) so LUT calibration error is not mixed in. Rows: no correction and the perfect
conjugate -W/p (same-run baselines), then each method. Residual = the true W + p x correction projected on
Noll 5-16 over the true pupil (rad RMS of wavefront); visibility relative to an aberration-free bench.
"""

from __future__ import annotations

import time

import numpy as np

NOLL = tuple(range(5, 17))
ROI = (992, 992, 64, 64)
METHODS = {"2n+1": dict(rms=1.0, cycles=2, target=0.15, extent=1.5),
           "n+1": dict(rms=0.7, cycles=3, target=0.20, extent=1.0)}  # N+1 diverges with the modes continued
VISIBILITY_TARGET = 0.95  # of the aberration-free value, 2N+1 on average


def add_arguments(parser) -> None:
    parser.add_argument("--trials", type=int, default=5, help="random aberrations per method (default 5)")
    parser.add_argument("--bias", type=float, default=0.35, help="bias per mode, rad RMS of SLM phase (default 0.35)")
    parser.add_argument("--extent", type=float, default=None,
                        help="modes continued to this many pupil radii (1: zero outside the pupil; "
                        "default 1.5 for 2N+1, 1.0 for N+1)")
    parser.add_argument("--search", choices=("unit-rms", "pump-weighted"), default="pump-weighted",
                        help="search the modes as saved, or orthonormalised over the configured Gaussian pump "
                        "(default pump-weighted)")
    parser.add_argument("--frames-per-step", type=int, default=1, help="frames per phase step (default 1)")
    parser.add_argument("--seed", type=int, default=12, help="random seed of the aberrations (default 12)")


def _bench(aberration: dict[int, float]):
    from sim_backends.quick import quick_bench

    bench = quick_bench(sample="empty", roi=ROI, aberration_zernike_rad=aberration)
    bench.slm.lut = bench.slm.ideal_lut()
    return bench


def _metric(bench, frames_per_step: int):
    from app.wavefront.loop import VisibilityMetric

    return VisibilityMetric(bench, roi_px=64, frames_per_step=frames_per_step)


def _random_aberration(rng: np.random.Generator, rms_rad: float) -> dict[int, float]:
    c = rng.normal(size=len(NOLL))
    c *= rms_rad / np.linalg.norm(c)
    return {j: float(v) for j, v in zip(NOLL, c)}


class _Truth:
    """The world's W projected on Noll 5-16 over the true pupil (ground truth for the residual)."""

    def __init__(self, bench):
        from app.wavefront.zernike import Pupil, ZernikeBasis

        centre, radius = bench.world.slm_pupil_truth()
        self.basis = ZernikeBasis(NOLL, Pupil(tuple(centre), radius), bench.slm.shape)
        self.w = bench.world.aberration_on_slm_rad(bench.slm.shape).astype(np.float64)
        self.p = bench.world.pass_count

    def residual(self, slm_phase_rad) -> float:
        return float(np.linalg.norm(self.basis.project(self.w + self.p * np.asarray(slm_phase_rad, np.float64))))


def _trial(method: str, aberration, args, basis_cache: dict) -> dict:
    from app.wavefront.loop import gaussian_beam_amplitude, run_modal_correction
    from app.wavefront.zernike import Pupil, ZernikeBasis

    bench = _bench(aberration)
    truth = _Truth(bench)
    shape = tuple(bench.slm.shape)
    if "basis" not in basis_cache:
        centre, radius = bench.world.slm_pupil_configured()
        basis_cache["basis"] = ZernikeBasis(NOLL, Pupil(tuple(centre), radius), shape)
        basis_cache["amplitude"] = (gaussian_beam_amplitude(shape, centre, radius) if args.search == "pump-weighted"
                                    else None)
    metric = _metric(bench, args.frames_per_step)
    try:
        conjugate = bench.world.conjugate_slm_phase_rad(shape)
        v_conj = metric(conjugate)
        res_conj = truth.residual(conjugate)
    finally:
        metric.close()
    run = run_modal_correction(bench, basis_cache["basis"], method, bias_rad=args.bias,
                               cycles=METHODS[method]["cycles"], metric=_metric(bench, args.frames_per_step),
                               pass_count=truth.p, wavelength_nm=0.0, beam_amplitude=basis_cache["amplitude"],
                               extent_radii=args.extent or METHODS[method]["extent"])
    assert not bench.world.state.laser_emission
    return dict(v_none=run.visibility_before, res_none=truth.residual(np.zeros(shape)), v_conj=v_conj,
                res_conj=res_conj, v_after=run.visibility_after, res_after=truth.residual(run.correction.phase_rad()),
                measurements=run.n_measurements - 2)  # the optimiser's; before/after are for the table


def main(args) -> int:
    trials = max(1, int(getattr(args, "trials", 5)))
    for name, default in (("bias", 0.35), ("extent", None), ("frames_per_step", 1), ("seed", 12),
                          ("search", "pump-weighted")):
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.extent is not None and not 1.0 <= args.extent < 10.0 or args.bias <= 0 or args.frames_per_step < 1:
        from app.cli import CliError

        raise CliError("qiup bench ao: --extent must lie in [1, 10) pupil radii, --bias > 0 rad, --frames-per-step >= 1")
    started = time.perf_counter()
    free_bench = _bench({})
    metric = _metric(free_bench, args.frames_per_step)
    try:
        v_free = float(np.mean([metric(np.zeros(free_bench.slm.shape, np.float32)) for _ in range(3)]))
    finally:
        metric.close()
    rng = np.random.default_rng(args.seed)
    basis_cache: dict = {}
    print(f"sensorless AO, simulated bench: Noll 5-16, ROI 64 x 64, imperfect SLM with the ideal LUT, "
          f"bias {args.bias} rad (SLM), search {args.search}, "
          f"{trials} trials")
    print(f"aberration-free ROI visibility {v_free:.4f}")
    print(f"{'method':<8} {'W rms':>6} {'row':<22} {'meas.':>6} {'residual rad (mean/max)':>24} "
          f"{'V / V_free (mean/min)':>22}")
    ok_all = True
    for method, spec in METHODS.items():
        rows = [_trial(method, _random_aberration(rng, spec["rms"]), args, basis_cache) for _ in range(trials)]
        for label, v_key, r_key, meas in (("no correction", "v_none", "res_none", "0"),
                                          ("perfect conjugate", "v_conj", "res_conj", "-"),
                                          (f"{method}, {spec['cycles']} cyc, {args.extent or spec['extent']:g} R",
                                           "v_after", "res_after",
                                           str(rows[0]["measurements"]))):
            res = np.array([r[r_key] for r in rows])
            vis = np.array([r[v_key] for r in rows]) / v_free
            print(f"{method:<8} {spec['rms']:>6.2f} {label:<22} {meas:>6} {res.mean():>13.3f} / {res.max():<8.3f} "
                  f"{vis.mean():>12.1%} / {vis.min():<7.1%}")
        res_after = np.array([r["res_after"] for r in rows])
        vis_after = np.array([r["v_after"] for r in rows]) / v_free
        met = bool(np.all(res_after <= spec["target"]))
        ok_all &= met
        print(f"  target residual <= {spec['target']} rad RMS in every trial: {'met' if met else 'NOT MET'} "
              f"(max {res_after.max():.3f})")
        if method == "2n+1":
            vmet = bool(vis_after.mean() >= VISIBILITY_TARGET)
            ok_all &= vmet
            print(f"  target visibility >= {VISIBILITY_TARGET:.0%} of aberration-free on average: "
                  f"{'met' if vmet else 'NOT MET'} ({vis_after.mean():.1%})")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0 if ok_all else 1

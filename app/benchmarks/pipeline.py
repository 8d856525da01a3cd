"""``qiup bench pipeline``: ingest vs memcpy, accumulator memory, live-map cost, accuracy vs truth.

Every speed is a ratio to a baseline timed in the same run on the same frames (best of repeats):
numpy.copyto of each frame (the memory-bandwidth limit) and the naive acc += frame.astype(float64).
Accuracy uses the simulated bench's ground truth (app/benchmarks/pipeline_truth.py).
"""

from __future__ import annotations

import time

import numpy as np

from app.pipeline import RollingDemodulator, StepAccumulator, reconstruct
from app.pipeline import _kernels


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int, default=2048, help="ingest frame size (default 2048)")
    parser.add_argument("--frames", type=int, default=32, help="distinct frames cycled through (default 32)")
    parser.add_argument("--steps", type=int, default=4, help="phase steps N (default 4)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats, best kept (default 5)")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the simulated-accuracy part")


def _best_per_frame(fn, n_frames: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t0) / n_frames)
    return best


def bench_ingest(size: int, n_frames: int, steps: int, repeats: int):
    rng = np.random.default_rng(0)
    frames = rng.integers(90, 4000, (n_frames, size, size), dtype=np.uint16)
    per_step = max(1, n_frames // steps)
    frame_bytes = frames[0].nbytes
    dst = np.empty_like(frames[0])
    acc = StepAccumulator(steps, (size, size))
    naive = np.zeros((steps, size, size), np.float64)
    fallback = np.zeros((steps, size, size), np.uint32)
    acc.add(0, frames[0])  # compile the kernels outside the timing

    def copy():
        for f in frames:
            np.copyto(dst, f)

    def accumulate():
        for i, f in enumerate(frames):
            acc.add(min(i // per_step, steps - 1), f)

    def numpy_out():
        for i, f in enumerate(frames):
            k = min(i // per_step, steps - 1)
            np.add(fallback[k], f, out=fallback[k])

    def naive_float():
        for i, f in enumerate(frames):
            naive[min(i // per_step, steps - 1)] += f.astype(np.float64)

    times = dict.fromkeys(("copyto", "accumulate", "numpy_out", "naive"), float("inf"))
    fns = {"copyto": copy, "accumulate": accumulate, "numpy_out": numpy_out, "naive": naive_float}
    for _ in range(repeats):  # interleaved, best of each: a burst of load elsewhere hits all alike
        for name, fn in fns.items():
            times[name] = min(times[name], _best_per_frame(fn, n_frames, 1))
    base, slow = times["copyto"], times["naive"]

    def row(label, name):
        t = times[name]
        return (label, f"{t * 1e3:.3f} ms/frame  {frame_bytes / t / 1e9:.2f} GB/s  {1 / t:,.0f} frames/s",
                f"{base / t:.2f} x copyto, {slow / t:.1f} x naive" + (" (target >= 0.7, >= 3)" if name == "accumulate" else ""))

    kernel = "numba: uint16 staging + max, fused" if _kernels.HAVE_NUMBA else "numpy fallback"
    return [
        row(f"ingest {size}x{size} uint16: StepAccumulator.add ({kernel})", "accumulate"),
        row("  baseline numpy.copyto (memory-bandwidth limit)", "copyto"),
        row("  baseline naive acc += frame.astype(float64)", "naive"),
        row("  for reference: np.add(acc_u32, frame, out=acc_u32)", "numpy_out"),
    ], base / times["accumulate"], slow / times["accumulate"]


def bench_memory(steps: int) -> tuple[str, str, str]:
    acc = StepAccumulator(steps, (256, 256))
    per_px = acc.nbytes_per_pixel()
    return (f"accumulator memory, N = {steps}", f"{per_px:.0f} bytes/pixel ({steps} x uint32 sums + 2 B staging + 1 B saturation flag)",
            f"target <= {(steps + 3) * 4} bytes/pixel")


def bench_live(steps: int, repeats: int) -> tuple[tuple[str, str, str], float]:
    size, n = 1024, 16
    rng = np.random.default_rng(1)
    frames = rng.integers(90, 4000, (n, size, size), dtype=np.uint16)
    live = RollingDemodulator(steps, (size, size), dark_adu=100.0)
    for i in range(steps):
        live.push(i, frames[i])
    live.maps()

    def run():
        for i, f in enumerate(frames):
            live.push(i % steps, f)
            live.maps()

    t = _best_per_frame(run, n, repeats)
    return (f"live rolling demodulation {size}x{size}, N = {steps}", f"{t * 1e3:.2f} ms/frame (push + maps)",
            "target < 10 ms"), t


def bench_accuracy() -> list[tuple[str, str, str]]:
    from app.benchmarks.pipeline_truth import acquire, truth_limits

    rows = []
    for stepper, slm_lut in (("piezo", ""), ("slm", "integer"), ("slm", "fractional")):
        ratio, err_rms, limit_rms = phase_error_ratio(stepper, slm_lut=slm_lut or "integer")
        how = f"{stepper} steps" + (f", dithered, {slm_lut} ideal LUT" if slm_lut else "")
        rows.append((f"phase error / shot+read-noise limit, {how} (phase-bump, 256x256, 4x4 frames)",
                     f"{ratio:.3f} (RMS error {err_rms * 1e3:.1f} mrad, limit {limit_rms * 1e3:.1f} mrad)",
                     "target <= 1.1"))
    horse = acquire("horse", roi_size=256, steps=4, frames_per_step=8)  # qiup run's default F
    recon_h = reconstruct(horse.sample.sums, reference=horse.reference.sums, dark=horse.dark.sums,
                          gain_e_per_adu=horse.gain_e_per_adu, read_noise_e=horse.read_noise_e)
    use_h = horse.illuminated & recon_h.mask
    corr = float(np.corrcoef(recon_h.amplitude[use_h], np.abs(horse.transmission)[use_h])[0, 1])
    rows.append(("amplitude correlation with |t| truth (horse, ideal imaging, 256x256, 4x8 frames)", f"{corr:.4f}", "target >= 0.99"))
    rows.append(_depth_accuracy())
    return rows


def phase_error_ratio(stepper: str = "piezo", roi_size: int = 256, *,
                      slm_lut: str = "integer") -> tuple[float, float, float]:
    """RMS of (phase error / its shot+read-noise limit) on the phase-bump sample, the RMS error and limit (rad)."""
    from app.benchmarks.pipeline_truth import acquire, truth_limits

    acq = acquire("phase-bump", roi_size=roi_size, steps=4, frames_per_step=4, stepper=stepper, slm_lut=slm_lut)
    recon = reconstruct(acq.sample.sums, reference=acq.reference.sums, dark=acq.dark.sums,
                        gain_e_per_adu=acq.gain_e_per_adu, read_noise_e=acq.read_noise_e)
    _, _, lim_s = truth_limits(acq.sample, acq)
    _, _, lim_r = truth_limits(acq.reference, acq)
    limit = np.hypot(lim_s, lim_r)
    use = acq.illuminated & recon.mask
    err = np.angle(np.exp(1j * (recon.phase_rad - np.angle(acq.transmission))))
    err = np.angle(np.exp(1j * (err - np.angle(np.mean(np.exp(1j * err[use]))))))  # a global piston is no information
    ratio = float(np.sqrt(np.mean((err[use] / limit[use]) ** 2)))
    return ratio, float(np.sqrt(np.mean(err[use] ** 2))), float(np.sqrt(np.mean(limit[use] ** 2)))


def _depth_accuracy() -> tuple[str, str, str]:
    from app.benchmarks.pipeline_depth import three_layer_depth_error

    rms_over_lc, source = three_layer_depth_error()
    return (f"depth RMS error / l_c, three-layer sample ({source})", f"{rms_over_lc:.4f}", "target <= 0.05")


def main(args) -> int:
    print(f"qiup bench pipeline  (numpy {np.__version__}, kernels: {'numba' if _kernels.HAVE_NUMBA else 'numpy'})")
    rows, copy_ratio, naive_ratio = bench_ingest(args.size, args.frames, args.steps, args.repeats)
    rows.append(bench_memory(args.steps))
    live_row, _ = bench_live(args.steps, args.repeats)
    rows.append(live_row)
    if not args.no_accuracy:
        rows.extend(bench_accuracy())
    width = max(len(r[0]) for r in rows)
    mid = max(len(r[1]) for r in rows)
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:<{mid}}  {note}")
    return 0

"""``qiup bench reprocess``: ``qiup reprocess`` of TIFF stacks against the plain float64-FFT way.

Both ways run end to end in fresh interpreters (imports, reading, computing and writing included),
one after the other on the same stacks in the same run, interleaved; the median and best wall time,
the median CPU time and the peak resident memory (``os.wait4``'s rusage and the process tree's) are
printed side by side. The stacks are generated here: fringes of a simulated object (amplitude disc,
phase bump, fringe tilt) with Poisson noise, written with tifffile.
The plain way (the baseline, as the usual phase-stepping scripts do it): read the whole stack into
float64, average the frames of each step, FFT along the steps, |F1| and arg F1 against the reference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PLAIN_LIMIT_BYTES = 8 * 2**30  # the plain way is skipped when its float64 stack alone would exceed this


@dataclass(frozen=True)
class Case:
    size: int
    steps: int
    frames_per_step: int
    dark_frames: int = 16
    phase_peak_rad: float = 2.5  # the sample's phase bump; above pi its map wraps and needs the full unwrapper

    @property
    def frames(self) -> int:
        return self.steps * self.frames_per_step

    @property
    def label(self) -> str:
        wraps = ", phase wraps" if self.phase_peak_rad > np.pi else ""
        return (f"{self.size}x{self.size}, {self.steps} steps x {self.frames_per_step} frames + {self.dark_frames} dark"
                f"{wraps}")

    def plain_bytes(self) -> int:
        """Memory the plain way needs at least: one whole stack as float64 (plus its uint16 original)."""
        return self.frames * self.size * self.size * (8 + 2)


CASES = {"small": Case(1024, 8, 8), "wrapped": Case(1024, 8, 8, phase_peak_rad=9.0), "large": Case(2048, 8, 32)}


def add_arguments(parser) -> None:
    parser.add_argument("--cases", default="small,wrapped,large", help="comma-separated: small (1024^2 x 64 "
                        "frames), wrapped (the same with a 9 rad phase bump), large (2048^2 x 256 frames); default all")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each way per case, interleaved; the median "
                        "and the best are printed (default 5)")
    parser.add_argument("--distinct-frames", type=int, default=4,
                        help="distinct noisy frames per step written cyclically (default 4; generation time only)")
    parser.add_argument("--keep", type=Path, help="write the stacks and results here and keep them")


# -- the stacks ------------------------------------------------------------------------------------
def write_stacks(case: Case, folder: Path, *, distinct_frames: int = 4, seed: int = 0) -> dict[str, Path]:
    """sample.tif, reference.tif (step-major, uint16) and dark.tif of a simulated phase-stepped run."""
    import tifffile

    rng = np.random.default_rng(seed)
    n = case.size
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n - 0.5
    tilt = (2 * np.pi * 3.0 * x + 2 * np.pi * 1.5 * y).astype(np.float32)  # fringe tilt of the interferometer
    r2 = x**2 + y**2
    transmission = np.where(r2 < 0.09, 0.5, 1.0).astype(np.float32)
    bump = (case.phase_peak_rad * np.exp(-r2 / 0.02)).astype(np.float32)
    mean_e, visibility, dark_adu = 600.0, 0.7, 100.0
    theta = 2 * np.pi * np.arange(case.steps) / case.steps
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.tif" for name in ("sample", "reference", "dark")}
    for name, t, phase in (("reference", 1.0, 0.0), ("sample", transmission, bump)):
        with tifffile.TiffWriter(paths[name]) as tif:
            for k in range(case.steps):
                expected = mean_e * (1 + visibility * t * np.cos(theta[k] + tilt + phase)) + dark_adu
                pool = [rng.poisson(expected).astype(np.uint16) for _ in range(min(distinct_frames, case.frames_per_step))]
                for f in range(case.frames_per_step):
                    tif.write(pool[f % len(pool)], contiguous=True)
    with tifffile.TiffWriter(paths["dark"]) as tif:
        for _ in range(case.dark_frames):
            tif.write(rng.poisson(dark_adu, (n, n)).astype(np.uint16), contiguous=True)
    return paths


# -- the two ways ----------------------------------------------------------------------------------
PLAIN_SCRIPT = """
import sys
import numpy as np
import tifffile
sample, reference, dark, steps, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
dark_frame = tifffile.imread(dark).astype(np.float64).mean(axis=0)
def fringe(path):
    stack = tifffile.imread(path).astype(np.float64)
    means = stack.reshape(steps, -1, *stack.shape[1:]).mean(axis=1) - dark_frame
    spectrum = np.fft.fft(means, axis=0)
    return 2 * np.abs(spectrum[1]) / np.abs(spectrum[0]).clip(1e-12), np.angle(spectrum[1])
v, phi = fringe(sample)
v_ref, phi_ref = fringe(reference)
np.savez(out, visibility=v, amplitude=v / np.clip(v_ref, 1e-12, None), phase=np.angle(np.exp(1j * (phi - phi_ref))))
"""


def plain_command(paths: dict[str, Path], case: Case, out: Path) -> list[str]:
    return [sys.executable, "-c", PLAIN_SCRIPT, str(paths["sample"]), str(paths["reference"]), str(paths["dark"]),
            str(case.steps), str(out)]


def qiup_command(paths: dict[str, Path], case: Case, out: Path) -> list[str]:
    return [sys.executable, "-m", "app", "reprocess", "--frames", str(paths["sample"]), "--reference",
            str(paths["reference"]), "--dark", str(paths["dark"]), "--steps", str(case.steps), "--out", str(out)]


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (Linux /proc), 0 once it has gone."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def measure(command: list[str]) -> tuple[float, float, int]:
    """(wall time in s, CPU time in s, peak resident memory in bytes) of one child process run to its end.

    CPU time (user + system, the child and the helper processes it waited for) shows the work done,
    which a loaded machine disturbs less than the wall time.
    The peak is the larger of the child's own maximum (``wait4`` rusage, exact) and the sum over the
    child and its helper processes sampled every 5 ms (so a figure process counts too)."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak, done = [0], threading.Event()

    def sample():
        while not done.wait(0.005):
            tree_peak[0] = max(tree_peak[0], _tree_rss_bytes(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({proc.returncode}): {stderr.decode()[-400:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, max(usage.ru_maxrss * 1024, tree_peak[0])  # Linux reports ru_maxrss in kilobytes


def run_case(case: Case, folder: Path, repeats: int, distinct_frames: int) -> list[tuple[str, str, str]]:
    t0 = time.perf_counter()
    paths = write_stacks(case, folder, distinct_frames=distinct_frames)
    print(f"  ({case.label}: stacks written in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    plain_ok = case.plain_bytes() <= PLAIN_LIMIT_BYTES
    ways = {"figures": ("  qiup reprocess, results + 6 figures (default)", []),
            "results": ("  qiup reprocess --figures none, results only", ["--figures", "none"]),
            "plain": ("  baseline: plain float64 stack + FFT", None)}
    if not plain_ok:
        del ways["plain"]
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in ways}
    for r in range(repeats):  # interleaved: a burst of load elsewhere hits every way alike
        for name, (_, extra) in ways.items():
            command = (plain_command(paths, case, folder / f"plain-{r}.npz") if extra is None
                       else qiup_command(paths, case, folder / f"qiup-{name}-{r}.h5") + extra)
            runs[name].append(measure(command))
    stats = {name: summary(values) for name, values in runs.items()}
    rows = [(f"{case.label}", "", "")]
    for name, (label, _) in ways.items():
        median, best, cpu, peak = stats[name]
        value = f"median {median:5.2f} s  best {best:5.2f} s  cpu {cpu:5.2f} s  peak {peak / 2**20:5.0f} MiB"
        if not plain_ok:
            ratio = f"target < 1024 MiB: {'met' if peak < 2**30 else 'MISSED'}"
        elif name == "plain":
            ratio = "1.00 x"
        else:
            p_median, p_best, p_cpu, p_peak = stats["plain"]
            ratio = (f"plain/qiup: median {p_median / median:.2f} x, best {p_best / best:.2f} x, "
                     f"cpu {p_cpu / cpu:.2f} x, memory {p_peak / peak:.1f} x")
        rows.append((label, value, ratio))
    if not plain_ok:
        rows.append(("  baseline: plain float64 stack + FFT", "skipped",
                     f"needs {case.plain_bytes() / 2**30:.1f} GiB per stack (> {PLAIN_LIMIT_BYTES / 2**30:.0f} GiB)"))
    return rows


def summary(runs: list[tuple[float, float, int]]) -> tuple[float, float, float, int]:
    """(median wall time, best wall time, median CPU time, largest peak) of one way's runs.

    Both times are printed: the best run shows the way at its luckiest, the median what a user
    waits typically. They differ most for the plain way, whose gigabyte of fresh float64 pages
    costs the kernel 0.3 to 2 s of system time depending on how fragmented memory is."""
    walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
    return float(np.median(walls)), walls[0], float(np.median(cpus)), max(r[2] for r in runs)


def main(args) -> int:
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown or args.repeats < 1 or args.distinct_frames < 1:
        from app.cli import CliError

        raise CliError(f"--cases takes {', '.join(CASES)} (got {args.cases!r}); --repeats and --distinct-frames >= 1")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qiup-bench-reprocess-"))
    rows = []
    try:
        for name in names:
            rows += run_case(CASES[name], folder / name, args.repeats, args.distinct_frames)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"qiup bench reprocess: end to end in fresh processes, {args.repeats} runs of each way interleaved, "
          f"median and best wall time, median CPU time, {os.cpu_count()} cores, "
          f"load average {load:.1f}")
    width, value_width = max(len(r[0]) for r in rows) + 2, max(len(r[1]) for r in rows) + 3
    for label, value, ratio in rows:
        print(f"{label:<{width}}{value:<{value_width}}{ratio}")
    return 0

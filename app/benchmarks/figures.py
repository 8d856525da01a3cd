"""``qiup bench figures``: the quick-look figures' work once the maps exist, blitted vs drawn in full.

One process, the six PNG figures of a reprocessed run (visibility, amplitude, phase, complex view,
unwrapped phase, overview) from synthetic maps with a mask. Baseline: a figure set that was not
prepared, so every panel gets a full ``canvas.draw()`` once its maps are in. Blitted: the set is
prepared first (layout and backgrounds, timed separately: it runs while the maps are computed), then
only the data-dependent artists are drawn (app.storage.figure_blit); PNGs encoded in a thread as in
the figure process. Both are timed in the same run, best of ``--repeats`` after one warm-up.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

NAMES = ("visibility", "amplitude", "phase", "phase_unwrapped", "mask")


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int, default=1024, help="map side in pixels (default 1024)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per way (default 7)")


def synthetic_maps(size: int) -> dict[str, np.ndarray]:
    """A bright disc with a quadratic phase and a weak tilt, masked outside 0.95 of its radius."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(x - size / 2, y - size / 2) / (size / 2)
    amplitude = np.clip(1 - r, 0, 1) + 0.02 * rng.standard_normal((size, size), np.float32)
    phase = 6 * r**2 + 0.01 * x
    return {"visibility": 0.8 * amplitude, "amplitude": amplitude, "phase": np.angle(np.exp(1j * phase)),
            "phase_unwrapped": phase, "mask": r < 0.95}


def _once(maps, folder: Path, *, prepared: bool, encoder) -> tuple[float, float, float]:
    """(prepare s, add + write wall s, add + write CPU s) of one figure set, maps coming as in qiup reprocess."""
    from app.storage.figures import FigureSet
    from app.storage.results_file import RESULT_UNITS

    figures = FigureSet(NAMES, RESULT_UNITS, title="bench \u2014 phase-stepping", pixel_size_um=1.3,
                        encoder=encoder if prepared else None)
    t0 = time.perf_counter()
    if prepared:
        figures.prepare(maps["amplitude"].shape)
    t1, c1 = time.perf_counter(), time.process_time()
    first = {k: maps[k] for k in ("visibility", "amplitude", "phase", "mask")}
    paths = figures.write(figures.add(first), folder / "f", ("png",))
    paths += figures.write(figures.add({"phase_unwrapped": maps["phase_unwrapped"]}), folder / "f", ("png",))
    t2, c2 = time.perf_counter(), time.process_time()
    assert len(paths) == 6 and (not prepared or len(figures.blitted) == 5)
    return t1 - t0, t2 - t1, c2 - c1


def main(args) -> int:
    from app.cli import CliError

    if args.size < 16 or args.repeats < 1:
        raise CliError(f"--size must be >= 16 and --repeats >= 1 (got {args.size}, {args.repeats})")
    maps = synthetic_maps(args.size)
    rows = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="qiup-bench-figures-") as folder, ThreadPoolExecutor(1) as encoder:
        for prepared in (False, True):
            _once(maps, Path(folder), prepared=prepared, encoder=encoder)  # warm-up
        for _ in range(args.repeats):
            for prepared in (False, True):  # interleaved: both see the same machine load
                rows[prepared].append(_once(maps, Path(folder), prepared=prepared, encoder=encoder))
    best = {way: np.min(np.array(r), axis=0) for way, r in rows.items()}
    print(f"qiup bench figures: {args.size}x{args.size} maps, 6 PNG figures, best of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  {'drawn in full (not prepared), baseline':44s} after the maps {best[False][1]:6.3f} s  "
          f"cpu {best[False][2]:6.3f} s")
    print(f"  {'blitted over prepared backgrounds':44s} after the maps {best[True][1]:6.3f} s  "
          f"cpu {best[True][2]:6.3f} s   full/blit: wall {best[False][1] / best[True][1]:.2f} x, "
          f"cpu {best[False][2] / best[True][2]:.2f} x")
    print(f"  {'  its prepare (before the maps exist)':44s} {best[True][0]:6.3f} s")
    return 0

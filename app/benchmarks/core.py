"""``qiup bench core``: the engine's memory on a long run and the cost of its latest-value outputs.

1. Peak resident memory of a 1000-repeat time series at the default 512 x 512 ROI on the simulated
   bench, with a run file (target < 1 GiB), measured in a fresh subprocess with
   ``resource.getrusage(RUSAGE_SELF).ru_maxrss``; the same-run baselines are a 1-repeat and a
   100-repeat series in other fresh subprocesses (flat peaks: memory does not grow with the repeats).
   Each repeat costs about half a second of analysis at 512 x 512 (reconstruction with unwrapping),
   so the 1000-repeat run takes minutes; ``--repeats`` shortens it.
2. The cost of the latest-frame slot and the preview maps on ingest, and of the readback poller: the same runner on pre-rendered
   frames (so the simulator's rendering does not hide the engine's cost) with both on and both off,
   over 10..90 % of the frames. Measured as CPU per frame: the worker thread's CPU time plus the
   preview thread's CPU time, against the baseline worker's (target < 5 %); wall-clock frames/s
   are printed too, but on a shared machine they move with other load. The preview thread is
   duty-limited (``PREVIEW_DUTY``): on a big frame the preview rate drops, not the ingest rate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEMORY_TARGET_BYTES = 2**30
COST_TARGET = 0.05

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from app.bench_factory import open_bench
from app.config import DEFAULT_CONFIG_PATH, load_config
from app.engine import Runner
repeats, frames_per_step, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
loaded = load_config(DEFAULT_CONFIG_PATH)
t0 = time.perf_counter()
with open_bench(loaded) as bench:
    params = {"repeats": repeats, "frames_per_step": frames_per_step, "steps": 3, "dark_frames": 3}
    result = Runner(bench).run("time-series", params, path=out / f"ts-{repeats}.h5")
print(json.dumps({"status": result.status, "seconds": time.perf_counter() - t0,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "shape": list(result.plan.frame_shape), "frames": result.plan.total_frames()}))
"""


def add_arguments(parser) -> None:
    parser.add_argument("--repeats", type=int, default=1000, help="time-series repeats (default 1000)")
    parser.add_argument("--ingest-frames", type=int, default=30000, help="frames per ingest measurement (default 30000)")
    parser.add_argument("--rounds", type=int, default=5, help="ingest rounds, best kept (default 5)")
    parser.add_argument("--skip-memory", action="store_true", help="only the ingest part")


def _child_run(repeats: int, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(repeats), "1", str(out)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"time-series child failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_memory(repeats: int) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        base = _child_run(1, Path(tmp))
        tenth = _child_run(max(repeats // 10, 2), Path(tmp))
        long = _child_run(repeats, Path(tmp))
    h, w = long["shape"]
    naive = repeats * h * w * 31  # NaN-prefilled results of every repeat (7 float32 + 3 uint8 maps per pixel)
    rows = []
    for label, run in ((f"baseline: 1-repeat time series {h}x{w}", base),
                       (f"time series {max(repeats // 10, 2)} repeats {h}x{w}, 3 steps x 1 frame, with run file", tenth),
                       (f"time series {repeats} repeats {h}x{w}, 3 steps x 1 frame, with run file", long)):
        rss = run["maxrss_kib"] * 1024
        note = ""
        if run is long:
            note = (f"target < 1 GiB: {'yes' if rss < MEMORY_TARGET_BYTES else 'NO'}; "
                    f"+{(rss - base['maxrss_kib'] * 1024) / 2**20:.0f} MiB over baseline; "
                    f"results held in RAM before: {naive / 2**30:.1f} GiB")
        rows.append((label, f"peak RSS {rss / 2**20:.0f} MiB, {run['frames']} frames in {run['seconds']:.0f} s "
                            f"({run['status']})", note))
    return rows


class _NoSlot:
    """Stands in for a latest-value slot in the baseline (publishes nothing)."""

    def publish(self, value) -> int:
        return 0

    def get(self):
        return None

    def clear(self) -> None: ...


def _ingest(bench, frames, n_frames: int, *, outputs_on: bool) -> dict:
    """One run on pre-rendered frames; wall time, worker CPU and preview-thread time over 10..90 % of it."""
    from app.engine import Runner
    from app.engine import preview as preview_module
    from drivers.interfaces import Frame

    counter = [0]

    def read_frame(timeout_s: float = 5.0):  # a fresh array per frame, as every camera driver delivers
        counter[0] += 1
        return Frame(frames[counter[0] % len(frames)].copy(), counter[0], time.perf_counter(), {})

    bench.camera.read_frame = read_frame
    runner = Runner(bench, preview_interval_s=0.2 if outputs_on else None)
    if not outputs_on:
        runner._frame_slot = _NoSlot()
    previewers = []
    original_init = preview_module.Previewer.__init__

    def remember(self, slot):  # to read the preview thread's busy time
        original_init(self, slot)
        previewers.append(self)

    per_step = n_frames // 4
    total = per_step * 4 + 1
    marks = {}
    lo, hi = total // 10, total - total // 10

    def on_progress(p):  # runs on the worker thread: its CPU time is the engine's ingest cost
        if p.frames_done in (lo, hi):
            busy = previewers[0].total_compute_s if previewers else 0.0
            marks[p.frames_done] = (time.perf_counter(), time.thread_time(), busy, time.process_time())

    runner.events.progress.connect(on_progress)
    preview_module.Previewer.__init__ = remember
    try:
        result = runner.run("phase-stepping", {"frames_per_step": per_step, "cycles": 1, "dark_frames": 1,
                                               "reference": False, "steps": 4})
    finally:
        preview_module.Previewer.__init__ = original_init
    if result.status != "complete":
        raise RuntimeError(f"ingest run ended {result.status}: {result.error}")
    (w0, c0, b0, p0), (w1, c1, b1, p1) = marks[lo], marks[hi]
    n = hi - lo
    return {"fps": n / (w1 - w0), "worker_cpu_per_frame": (c1 - c0) / n, "preview_per_frame": (b1 - b0) / n,
            "process_cpu_per_frame": (p1 - p0) / n}


def bench_ingest(n_frames: int, rounds: int) -> tuple[list[tuple[str, str, str]], float]:
    import numpy as np

    from app.bench_factory import open_bench
    from app.config import DEFAULT_CONFIG_PATH, load_config

    loaded = load_config(DEFAULT_CONFIG_PATH)
    with open_bench(loaded) as bench:
        bench.camera.start()
        frames = [bench.camera.read_frame().data.copy() for _ in range(8)]
        bench.camera.stop()
        original = bench.camera.read_frame
        runs = {True: [], False: []}
        polled = []  # outputs on and the readback poller on, against runs[True] with it off
        interval_s = loaded.settings.bench.poll_interval_s
        bench.stop_polling()
        try:
            for _ in range(rounds):  # interleaved: a burst of load elsewhere hits all alike
                for on in (False, True):
                    runs[on].append(_ingest(bench, frames, n_frames, outputs_on=on))
                bench.start_polling(interval_s, loaded.settings.bench.poll_lock_timeout_s)
                polled.append(_ingest(bench, frames, n_frames, outputs_on=True))
                bench.stop_polling()
                bench.poller = None
        finally:
            bench.camera.read_frame = original
    h, w = np.shape(frames[0])

    def best(on, key, pick=min):
        return pick(r[key] for r in runs[on])

    cpu_off, cpu_on = best(False, "worker_cpu_per_frame"), best(True, "worker_cpu_per_frame")
    preview = min(r["preview_per_frame"] for r in runs[True])
    cost = (cpu_on + preview) / cpu_off - 1.0  # all CPU the outputs add, per frame ingested
    fps_off, fps_on = best(False, "fps", max), best(True, "fps", max)
    process_off = best(True, "process_cpu_per_frame")
    process_polled = min(r["process_cpu_per_frame"] for r in polled)
    poller_cost = process_polled / process_off - 1.0
    rows = [
        (f"ingest {h}x{w}, latest-frame slot + preview (0.2 s, duty-limited)",
         f"{1e6 * cpu_on:.0f} us worker CPU/frame + {1e6 * preview:.0f} us preview/frame",
         f"added cost {100 * cost:+.1f} % of the baseline's CPU per frame (target < {100 * COST_TARGET:.0f} %): "
         f"{'yes' if cost < COST_TARGET else 'NO'}"),
        ("  baseline: same runner, slot and preview off", f"{1e6 * cpu_off:.0f} us worker CPU/frame",
         "same run, best of rounds"),
        ("  wall-clock ingest, on / off (shared machine: noisy)", f"{fps_on:,.0f} / {fps_off:,.0f} frames/s",
         f"ratio {fps_on / fps_off:.3f}"),
        (f"ingest with the readback poller on ({1e3 * interval_s:.0f} ms), slot + preview on",
         f"{1e6 * process_polled:.0f} us process CPU/frame",
         f"added cost {100 * poller_cost:+.1f} % (target < {100 * COST_TARGET:.0f} %): "
         f"{'yes' if poller_cost < COST_TARGET else 'NO'}"),
        ("  baseline: poller off, slot + preview on", f"{1e6 * process_off:.0f} us process CPU/frame",
         "same run, best of rounds"),
    ]
    return rows, max(cost, poller_cost)


def main(args) -> int:
    print("qiup bench core  (simulated bench, default config)")
    rows = []
    ok = True
    if not getattr(args, "skip_memory", False):
        memory_rows = bench_memory(args.repeats)
        rows += memory_rows
        ok &= "NO" not in memory_rows[-1][2]
    ingest_rows, cost = bench_ingest(args.ingest_frames, args.rounds)
    rows += ingest_rows
    ok &= cost < COST_TARGET
    width = max(len(r[0]) for r in rows)
    mid = max(len(r[1]) for r in rows)
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:<{mid}}  {note}")
    return 0 if ok else 1

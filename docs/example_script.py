"""Scripting qiup: everything the GUI does, from Python.

Run it:  .venv/bin/python docs/example_script.py [CONFIG.toml] [OUT_DIR]
(default: the simulated bench, ./runs). It calibrates the piezo, takes a hologram with drift tracking,
then a short 3D scan, printing progress and suspender warnings as they happen. Each run of the script
writes into a new time-stamped folder: run files are never overwritten.
"""

import sys
import time
from pathlib import Path

import numpy as np

from app import ParameterError, RunState, Runner, open_bench, read_run


def main(config=None, out=Path("runs")) -> None:
    out = out / time.strftime("example-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=False)
    with open_bench(config) as bench:  # laser off and every device closed when the block ends
        runner = Runner(bench)
        stages_seen = set()

        def show_progress(p):  # one line per stage of each run
            if (p.stage, p.frames_total) not in stages_seen:
                stages_seen.add((p.stage, p.frames_total))
                eta = f", about {p.eta_s:.0f} s left" if p.eta_s is not None else ""
                print(f"  {p.stage:<12} from {100 * p.fraction:5.1f} %{eta}")

        runner.events.progress.connect(show_progress)
        runner.events.warning.connect(lambda message: print(f"  ! {message}"))
        runner.events.state_changed.connect(
            lambda new, old: new in (RunState.PAUSED, RunState.FAILED) and print(f"  state: {new.value}"))

        try:  # bad parameters are refused before anything moves
            runner.run("phase-stepping", {"steps": 0})
        except ParameterError as exc:
            print(f"refused: {exc}")

        cal = runner.run("fringe-calibration", {"points": 24, "frames_per_point": 1}, path=out / "calibration.h5")
        print(f"piezo: {float(cal['piezo_per_2pi']):.3f} {bench.phase_piezo.unit} per fringe")

        holo = runner.run("phase-stepping", {"frames_per_step": 4, "phase_lock": True}, path=out / "hologram.h5")
        preview = runner.latest_maps().value  # what a display polling the runner showed last
        print(f"last preview: stage {preview.stage}, {preview.frames} frames, "
              f"median sigma_phase {np.nanmedian(preview.sigma_phase_rad):.3f} rad")
        field = holo["mask"] > 0
        clear = holo["amplitude"][field] > 0.5
        median = f", median |t| there {np.median(holo['amplitude'][field][clear]):.3f}" if clear.any() else ""
        share = f"{100 * clear.mean():.0f} %" if clear.size else "none"
        print(f"hologram {holo.status}: {share} of the field transmits (|t| > 0.5){median}")

        scan = runner.run("delay-scan", {"start_um": 0, "stop_um": 100, "step_um": 5, "frames_per_step": 1},
                          path=out / "scan.h5")
        print(f"scan {scan.status}: depths from {np.nanmin(scan['depth_um']):.1f} to {np.nanmax(scan['depth_um']):.1f} um")

    saved = read_run(out / "hologram.h5")  # the same numbers, from disk
    print(f"on disk: {saved.status}, results {sorted(saved.results)}, sample counts {saved.counts['sample'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None, Path(sys.argv[2]) if len(sys.argv) > 2 else Path("runs"))

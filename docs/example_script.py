"""Scripting qiup: everything the GUI does, from Python.

Run it:  .venv/bin/python docs/example_script.py [CONFIG.toml] [OUT_DIR]
(default: the simulated bench, ./runs). It calibrates the piezo, takes a hologram with drift tracking,
then a short 3D scan, printing progress and suspender warnings as they happen.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's app/, installed or not
from app import ParameterError, RunState, Runner, open_bench, read_run  # noqa: E402


def main(config=None, out=Path("runs")) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open_bench(config) as bench:  # laser off and every device closed when the block ends
        runner = Runner(bench)
        runner.events.progress.connect(
            lambda p: print(f"\r  {p.stage:<12} {100 * p.fraction:5.1f} %", end="", flush=True))
        runner.events.warning.connect(lambda message: print(f"\n  ! {message}"))
        runner.events.state_changed.connect(
            lambda new, old: new in (RunState.PAUSED, RunState.FAILED) and print(f"\n  state: {new.value}"))

        try:  # bad parameters are refused before anything moves
            runner.run("phase-stepping", {"steps": 0})
        except ParameterError as exc:
            print(f"refused: {exc}")

        cal = runner.run("fringe-calibration", {"points": 24, "frames_per_point": 1}, path=out / "calibration.h5")
        print(f"\npiezo: {float(cal['piezo_per_2pi']):.3f} V per fringe")

        holo = runner.run("phase-stepping", {"frames_per_step": 4, "phase_lock": True}, path=out / "hologram.h5")
        print(f"\nhologram {holo.status}: median |t| = {np.median(holo['amplitude'][holo['mask'] > 0]):.3f}")

        scan = runner.run("delay-scan", {"start_um": 0, "stop_um": 100, "step_um": 5, "frames_per_step": 1},
                          path=out / "scan.h5")
        print(f"\nscan {scan.status}: depths from {np.nanmin(scan['depth_um']):.1f} to {np.nanmax(scan['depth_um']):.1f} um")

    saved = read_run(out / "hologram.h5")  # the same numbers, from disk
    print(f"on disk: {saved.status}, results {sorted(saved.results)}, sample counts {saved.counts['sample'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None, Path(sys.argv[2]) if len(sys.argv) > 2 else Path("runs"))

"""``qiup reprocess``: rebuild every result map from phase-stepped data (TIFF stacks or a qiup run file).

TIFF stacks are step-major (all frames of step 0, then step 1, ...); the dark stack may hold any
number of frames. A run file's step sums, counts and camera settings are read from its own layout.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("reprocess", help="rebuild results from TIFF stacks or a run file")
    p.add_argument("run", nargs="?", type=Path, help="a qiup run file (.h5) to reprocess")
    p.add_argument("--frames", type=Path, help="sample frames: multi-page TIFF, step-major")
    p.add_argument("--reference", type=Path, help="reference frames (sample out): TIFF, step-major")
    p.add_argument("--dark", type=Path, help="dark frames (laser off): TIFF, any number of frames")
    p.add_argument("--steps", type=int, help="number of phase steps N (>= 3)")
    p.add_argument("--step-phases", help="comma-separated step phases in rad (default: 2 pi k / N)")
    p.add_argument("--frames-per-step", type=int, help="frames per step F (default: frames / N)")
    p.add_argument("--gain-e-per-adu", type=float, help="camera gain (default: run file's, else 1)")
    p.add_argument("--read-noise-e", type=float, help="read noise in e- rms (default: run file's, else 0)")
    p.add_argument("--min-reference-visibility", type=float, help="mask threshold on V_ref (default 0.05)")
    p.add_argument("--pixel-size-um", type=float, help="one image pixel on the object, in um (pixel pitch x "
                   "binning / magnification; default: the run file's; TIFF input: unknown)")
    p.add_argument("--out", type=Path, help="results file (default: <input>-reprocessed.h5)")
    p.add_argument("--figures", default="png", metavar="FORMATS",
                   help="figure formats, comma-separated: png, pdf, svg, or none (default: png)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    one_blas_thread()
    from app.cli import CliError
    from app.cli.figure_process import FigureError, FigureWorker, NoFigures

    # The figure process starts first and loads matplotlib while frames are summed, lays the figures
    # out while the frames are read (TIFF input: the frame shape is in the first page's header) and
    # the maps are computed, and draws each figure as soon as its maps exist (all but the unwrapped
    # phase before unwrapping), and the overview from those figures once the unwrapped phase is there.
    _check_options(args)  # before anything is read or started
    out = _out_path(args)
    _check_out_path(out, _inputs_of(args))  # never onto an input, a folder or a run file
    with (NoFigures if args.figures.strip().lower() == "none" else FigureWorker)() as figures:
        from app.storage.figures import parse_formats
        from app.storage.layout import RESULT_UNITS

        try:
            formats = parse_formats(args.figures)
        except ValueError as exc:
            raise CliError(f"--figures: {exc}") from None
        figure_args = {"out_stem": out.with_suffix(""), "formats": formats, "expect": (*FIGURE_MAPS, "mask")}
        laid_out = _tiff_frame_shape(args) if formats else None
        if laid_out is not None:  # TIFF input: title and scale are known from the options and the file
            figure_args |= {"title": _figure_title(args.frames, args.steps), "pixel_size_um": args.pixel_size_um}
            figures.prepare(laid_out, RESULT_UNITS, **figure_args)
        import numpy as np

        from app.pipeline.reconstruct import reconstruct, with_unwrapped
        from app.storage.results_file import write_results

        inputs = _load_inputs(args)
        steps, has_reference, has_dark = (inputs["sample"].sums.shape[0], inputs["reference"] is not None,
                                          inputs["dark"] is not None)
        shape = inputs["sample"].sums.shape[1:]
        if laid_out is None or tuple(laid_out) != tuple(shape):
            figure_args |= {"title": _figure_title(inputs["source"], steps),
                            "pixel_size_um": inputs.get("pixel_size_um")}
            figures.prepare(shape, RESULT_UNITS, **figure_args)  # laid out while we compute
        try:  # the sums are handed over (popped), so reconstruct can free them once used
            recon = reconstruct(
                inputs.pop("sample"), reference=inputs.pop("reference"), dark=inputs.pop("dark"),
                step_phases_rad=inputs["step_phases"], gain_e_per_adu=inputs["gain"], read_noise_e=inputs["read_noise"],
                min_reference_visibility=inputs["min_ref_v"], unwrap=False,
            )
        except ValueError as exc:
            raise CliError(f"{inputs['source']}: {exc}") from None
        figures.submit({"visibility": np.asarray(recon.visibility, np.float32),
                        "amplitude": np.asarray(recon.amplitude, np.float32),
                        "phase": np.asarray(recon.phase_rad, np.float32), "mask": recon.mask},
                       RESULT_UNITS, **figure_args)
        recon = with_unwrapped(recon)  # the slowest step, while the other core draws
        figures.submit({"phase_unwrapped": np.asarray(recon.phase_unwrapped_rad, np.float32)}, RESULT_UNITS,
                       **figure_args)
        attrs = {"source": str(inputs["source"]), "steps": steps,
                 "gain_e_per_adu": inputs["gain"], "read_noise_e": inputs["read_noise"],
                 "has_reference": has_reference, "has_dark": has_dark}
        try:
            write_results(out, recon, attrs=attrs, pixel_size_um=inputs.get("pixel_size_um"))
        except OSError as exc:
            raise CliError(f"--out {out}: cannot write the results ({exc.strerror or exc})") from None
        del recon
        try:
            written = figures.results()
        except FigureError as exc:
            print(f"qiup: results {out}; figures not written: {exc}", file=sys.stderr)
            return 1
    print(f"qiup: results {out}; figures {', '.join(p.name for p in written) or 'none'}", file=sys.stdout)
    return 0


FIGURE_MAPS = ("visibility", "amplitude", "phase", "phase_unwrapped")  # the maps the figures show


def one_blas_thread() -> None:
    """One OpenBLAS thread for this process and its children, unless the user chose otherwise.

    OpenBLAS starts a pool thread per core when numpy loads, and each pool thread then spins on its
    core for about 0.1 s, at the start and again after every threaded call. Reprocessing's BLAS
    products (N steps x all pixels) are memory-bound, so a second BLAS thread gains nothing; its
    spinning took a fifth of the command's CPU time (perf), on the core the figure process needs.
    OpenBLAS reads the setting once, when it loads: it is set only while numpy is not loaded yet."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _figure_title(source: Path, steps: int) -> str:
    """'sample - sequence - run time' as far as the input tells them: the file's name, the phase
    stepping and the file's modification time."""
    import datetime

    from app.storage.figures import figure_title

    source = Path(source)
    when = None
    if source.exists():
        when = datetime.datetime.fromtimestamp(source.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return figure_title(sample=source.stem, sequence=f"phase-stepping, {steps} steps", run_time=when)


def _tiff_frame_shape(args) -> tuple[int, int] | None:
    """(h, w) of the --frames stack from its first page's header, or None (a run file, or a stack
    that cannot be read: reading it properly then says why)."""
    if args.frames is None or args.run is not None or args.steps is None:
        return None
    from app.storage.tiff_stacks import StackError, frame_shape

    try:
        return frame_shape(args.frames)
    except StackError:
        return None


def _out_path(args) -> Path:
    """--out, else <input>-reprocessed.h5 beside the input."""
    source = args.run if args.run is not None else args.frames
    return args.out or Path(f"{Path(source).with_suffix('')}-reprocessed.h5")


def _inputs_of(args) -> list[Path]:
    return [p for p in (args.run, args.frames, args.reference, args.dark) if p is not None]


def _check_out_path(out: Path, inputs: list[Path]) -> None:
    """--out must be a new or earlier results file: never a folder, an input (by any path) or a run file."""
    import os

    from app.cli import CliError

    if out.is_dir():
        raise CliError(f"--out {out}: is a folder; give a results file name such as {out / 'results.h5'}")
    if not out.exists():
        return
    for source in inputs:
        try:
            same = os.path.samefile(out, source)
        except OSError:
            same = False
        if same:
            raise CliError(f"--out {out} is the input {source}; reprocess never overwrites its input")
    from app.storage.reader import is_results_file  # h5py: only for a file that is there

    if not is_results_file(out):
        raise CliError(f"--out {out}: exists and is not a qiup reprocess results file; not overwritten")


def _check_options(args) -> None:
    """Every option that can be judged without reading a file: one line naming it, before anything runs."""
    from app.cli import CliError

    if args.run is not None and args.frames is not None:
        raise CliError("give either a run file or --frames, not both")
    if args.run is None and args.frames is None:
        raise CliError("nothing to reprocess: give a run file or --frames S.tif")
    if args.run is None and args.steps is None:
        raise CliError("--steps N is required with --frames")
    if args.steps is not None and args.steps < 3:
        raise CliError(f"--steps must be at least 3, got {args.steps}")
    if args.frames_per_step is not None and args.frames_per_step < 1:
        raise CliError(f"--frames-per-step must be at least 1, got {args.frames_per_step}")
    if args.pixel_size_um is not None and not (math.isfinite(args.pixel_size_um) and args.pixel_size_um > 0):
        raise CliError(f"--pixel-size-um must be a positive number of um, got {args.pixel_size_um}")
    if args.gain_e_per_adu is not None and not args.gain_e_per_adu > 0:
        raise CliError(f"--gain-e-per-adu must be positive, got {args.gain_e_per_adu}")


def _load_inputs(args) -> dict:
    inputs = _from_run_file(args) if args.run is not None else _from_tiffs(args)
    n = inputs["sample"].sums.shape[0]
    inputs["step_phases"] = _step_phases(args.step_phases, n)
    if inputs["step_phases"] is None:
        inputs["step_phases"] = inputs.get("stored_step_phases")  # what the run itself recorded
    if args.gain_e_per_adu is not None:
        inputs["gain"] = args.gain_e_per_adu
    if args.read_noise_e is not None:
        inputs["read_noise"] = args.read_noise_e
    if args.min_reference_visibility is not None:
        inputs["min_ref_v"] = args.min_reference_visibility
    inputs["pixel_size_um"] = _pixel_size(args.pixel_size_um, inputs)
    return inputs


def _pixel_size(option: float | None, inputs: dict) -> float | None:
    """--pixel-size-um, else the run file's; a run file's recorded size is never silently replaced."""
    import math

    from app.cli import CliError

    stored = inputs.get("stored_pixel_size_um")
    if option is not None and stored is not None and not math.isclose(option, stored, rel_tol=1e-9):
        raise CliError(f"{inputs['source']} records {stored:g} um per pixel, --pixel-size-um says {option:g}; "
                       "leave the option out to use the recorded size")
    return option if option is not None else stored


def _step_phases(text: str | None, n: int):
    import numpy as np

    from app.cli import CliError

    if text is None:
        return None
    try:
        values = np.array([float(v) for v in text.replace(" ", "").split(",") if v], dtype=float)
    except ValueError:
        raise CliError(f"--step-phases must be comma-separated numbers in rad, got {text!r}") from None
    if values.size != n:
        raise CliError(f"--step-phases has {values.size} values for {n} steps")
    return values


def _from_tiffs(args) -> dict:
    from app.cli import CliError
    from app.storage.tiff_stacks import StackError, accumulate_dark, accumulate_stack

    from concurrent.futures import ThreadPoolExecutor

    try:  # two stacks at a time: each is decoded and summed in threads that release the GIL
        with ThreadPoolExecutor(2, thread_name_prefix="stack") as pool:
            jobs = [pool.submit(accumulate_stack, args.frames, args.steps, args.frames_per_step),
                    None if args.reference is None else pool.submit(accumulate_stack, args.reference, args.steps,
                                                                    args.frames_per_step),
                    None if args.dark is None else pool.submit(accumulate_dark, args.dark)]
            sample, reference, dark = (None if job is None else job.result() for job in jobs)
    except StackError as exc:
        raise CliError(str(exc)) from None
    shape = sample.sums.shape[1:]
    for name, run in (("--reference", reference), ("--dark", dark)):
        if run is not None and run.sums.shape[1:] != shape:
            raise CliError(f"{name} frames are {run.sums.shape[1:]}, --frames are {shape}")
    return {"source": args.frames, "sample": sample, "reference": reference, "dark": dark,
            "gain": 1.0, "read_noise": 0.0, "min_ref_v": 0.05}


def _from_run_file(args) -> dict:
    import numpy as np

    from app.cli import CliError
    from app.pipeline.reconstruct import RunSums
    from app.storage import RunFileError, read_run_file

    path = args.run
    try:
        run = read_run_file(path)  # also a run still being written, or left by a crash
        runs, stored_phases = {}, None
        for label in ("dark", "reference", "sample"):
            if label in run.stages:
                stage = run.stages[label]
                sums, saturated = stage.read()
                runs[label] = RunSums(sums=sums, counts=stage.counts, saturated=saturated)
                if label == "sample":
                    stored_phases = stage.step_phases_rad
    except RunFileError as exc:
        raise CliError(str(exc)) from None
    if "sample" not in runs:
        raise CliError(f"{path}: no /runs/sample: not a phase-stepping run file")
    n = runs["sample"].sums.shape[0]
    if args.steps is not None and args.steps != n:
        raise CliError(f"{path} has {n} phase steps, --steps says {args.steps}")
    try:
        camera = tomllib.loads(run.config_text).get("camera", {}) if run.config_text else {}
    except tomllib.TOMLDecodeError:
        camera = {}
    return {"source": path, "sample": runs["sample"], "reference": runs.get("reference"), "dark": runs.get("dark"),
            "stored_step_phases": None if stored_phases is None else np.asarray(stored_phases, float),
            "stored_pixel_size_um": run.object_pixel_size_um,
            "gain": float(camera.get("gain_e_per_adu", 1.0)), "read_noise": float(camera.get("read_noise_e", 0.0)),
            "min_ref_v": float(run.parameters.get("min_reference_visibility", 0.05))}

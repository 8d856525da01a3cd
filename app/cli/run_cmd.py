"""``qiup run``: one sequence (or a TOML file of sequences) on the configured bench, one HDF5 file each."""

from __future__ import annotations

import sys
from pathlib import Path

from app.config import DEFAULT_CONFIG_PATH



def register(sub) -> None:
    p = sub.add_parser("run", help="run an acquisition sequence (or a sequence file)")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, help="bench TOML (default: simulation)")
    p.add_argument("--sequence", default="phase-stepping",
                   help="dark | reference | phase-stepping | delay-scan | fringe-calibration | time-series | live | "
                        "pupil-registration | lut-calibration | adaptive-optics")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="sequence parameter")
    p.add_argument("--sequence-file", type=Path, help="TOML with [[sequence]] tables (name = ..., parameters), run in order")
    p.add_argument("--out", type=Path, default=Path("runs"), help="output folder (default: ./runs)")
    add_figures_option(p)
    p.set_defaults(handler=handle)


def add_figures_option(parser) -> None:
    parser.add_argument("--figures", default="png", metavar="FORMATS",
                        help="formats of the result figures, comma-separated: png, pdf, svg, or none (default: png)")


def figure_formats(text: str) -> tuple[str, ...]:
    """``--figures`` -> formats (() for none); a CliError naming what is allowed otherwise."""
    from app.cli import CliError
    from app.storage.figures import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise CliError(f"--figures: {exc}") from None


def handle(args) -> int:
    formats = figure_formats(args.figures)
    if args.sequence_file is not None:
        if args.param:
            from app.cli import CliError

            raise CliError("--param applies to --sequence; put the parameters in the sequence file instead")
        from app.engine.sequence_file import read_sequence_file

        results = _run_all(args.config, read_sequence_file(args.sequence_file), args.out, sys.stdout, formats)
    else:
        results = _run_all(args.config, [(args.sequence, _validated_pairs(args.sequence, args.param))], args.out,
                           sys.stdout, formats)
    return 0 if results and all(r.status == "complete" for r in results) else 1


def run_sequence_file(config_path: Path, sequence_file: Path, out_dir: Path, *, stream=None,
                      figures: tuple[str, ...] = ("png",)) -> list[Path | None]:
    from app.engine.sequence_file import read_sequence_file

    items = read_sequence_file(sequence_file)
    return [r.path for r in _run_all(config_path, items, out_dir, stream or sys.stdout, figures)]


def _validated_pairs(sequence: str, param_pairs: list[str]) -> dict:
    from app.engine.params import _split_pairs, validate_params

    raw = _split_pairs(param_pairs)
    validate_params(sequence, raw)  # before the bench is even opened
    return raw


def run_sequence(config_path: Path, sequence: str, param_pairs: list[str], out_dir: Path, *,
                 stream=None, figures: tuple[str, ...] = ("png",)) -> Path | None:
    """Validate everything, then run; returns the run file's path (None: live, or no file was made).
    ``figures``: formats of the result figures (() for none)."""
    (result,) = _run_all(config_path, [(sequence, _validated_pairs(sequence, param_pairs))], out_dir,
                         stream or sys.stdout, figures)
    return result.path


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or a termination signal during a run; says whether the laser confirmed emission off."""

    def __init__(self, *, laser_off_confirmed: bool):
        super().__init__("interrupted")
        self.laser_off_confirmed = laser_off_confirmed


def _run_all(config_path: Path, items: list[tuple[str, dict]], out_dir: Path, stream,
             formats: tuple[str, ...] = ("png",)) -> list:
    """Plan every item against the bench, then run them in order until one does not complete; the RunResults.

    Figures of each complete run are drawn by a helper process started before the bench opens (so
    matplotlib loads meanwhile), sent the maps once the run file is finished, and collected only after
    the bench is closed: they never delay a run's end or the laser-off."""
    from app.bench_factory import open_bench
    from app.cli import CliError
    from app.cli.figure_process import FigureWorker, NoFigures
    from app.config import load_config

    loaded = load_config(config_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".qiup-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CliError(f"--out {out_dir}: cannot write run files there ({exc.strerror or exc})") from None
    results = []
    with (FigureWorker if formats else NoFigures)() as worker:
        figures = RunFigures(worker, formats, sample=sample_name(loaded.settings))
        with open_bench(loaded) as bench:
            _run_items(bench, loaded, config_path, items, out_dir, stream, results, figures)
        figures.report(stream)  # the bench is closed and the laser off: only now wait for the figures
    return results


def _run_items(bench, loaded, config_path: Path, items, out_dir: Path, stream, results: list, figures) -> None:
    """The sequences in order on an open bench, each complete run's maps handed to ``figures``."""
    from app.engine import Runner
    from app.engine.runner import LASER_NOT_CONFIRMED
    from app.storage import new_timestamped_run_path, release_unused_name
    from drivers.interfaces import DeviceError

    runner = Runner(bench)
    # every sequence planned against the bench (positions, limits, memory) before anything moves
    plans = [runner.plan(name, params, results_in_memory=name == "live") for name, params in items]
    printer = ProgressPrinter(stream)
    printer.connect(runner.events)
    for (name, _), (params, _plan) in zip(items, plans):
        print(f"qiup: {name} on '{loaded.settings.name}' ({config_path})", file=stream)
        path = None if name == "live" else new_timestamped_run_path(out_dir, name)
        printer.reset()
        try:
            result = runner.run(name, params, path=path, raise_on_error=False)
        except KeyboardInterrupt as exc:
            raise Interrupted(laser_off_confirmed=runner.result is None or runner.result.laser_off_confirmed) from exc
        finally:
            if runner.result is not None and runner.result.path is not None:
                print(f"qiup: run file {path} ({_status(path)})", file=stream)
            release_unused_name(path)
        if not result.laser_off_confirmed:
            raise DeviceError(LASER_NOT_CONFIRMED, device="laser")
        if isinstance(runner.exception, DeviceError):
            raise runner.exception
        results.append(result)
        if result.status == "failed":  # e.g. a suspension that outlasted max_suspended_s: one line, exit 1
            print(f"qiup: {name} failed: {result.error}", file=sys.stderr)
        if result.path is not None and result.status == "complete":
            figures.submit(result, path, name)
        if result.status != "complete":
            break


def _status(path: Path) -> str:
    """The status the run file itself records (what ``qiup info`` will say)."""
    from app.storage import RunFileError, read_run_file

    try:
        return read_run_file(path).status
    except (RunFileError, OSError) as exc:
        return f"unreadable: {exc}"


# the maps a run's figures show, when the run has them as finite 2-D maps
FIGURE_MAPS = ("visibility", "amplitude", "phase", "phase_unwrapped", "depth_um", "reflectivity")


def sample_name(settings) -> str:
    """What was imaged: the simulated sample on a simulated camera, else the bench config's name."""
    if getattr(settings.camera, "backend", None) == "sim":
        return str(settings.simulation.sample)
    return settings.name


class RunFigures:
    """Figures of finished runs: the first run's maps go to the figure process at once (it is idle, so
    handing them over takes milliseconds); later ones wait until ``report``, so that a busy figure
    process never holds up the next sequence. ``report`` prints the paths or the failure, one line
    each; never an exception, never a change of exit status."""

    def __init__(self, worker, formats: tuple[str, ...], *, sample: str):
        self.worker, self.formats, self.sample = worker, formats, sample
        self.submitted, self.deferred, self.problems = 0, [], []

    def submit(self, result, path: Path, sequence: str) -> None:
        """Send the 2-D finite maps of a complete run (``result.results``) with title, units and scale.

        Never raises: figures are an extra, so whatever stops them is one line in ``report``."""
        if not self.formats:
            return
        try:
            job = self._job(result, path, sequence)
        except Exception as exc:  # noqa: BLE001 - a figure problem must not turn a complete run into a traceback
            self.problems.append(f"{path}: {type(exc).__name__}: {exc}")
            return
        if job is None:
            return
        if self.submitted:
            self.deferred.append(job)
        else:
            self._send(job)

    def _job(self, result, path: Path, sequence: str):
        """(maps, units, write_figures arguments) of a complete run, or None when it has no map to show."""
        import numpy as np

        from app.storage import read_run_file
        from app.storage.figures import figure_title
        from app.storage.results_file import RESULT_UNITS

        stored = read_run_file(path)  # the file's own created time, pixel size and units
        maps, units = {}, dict(RESULT_UNITS, depth_um="um")
        for name in FIGURE_MAPS:
            data = result.results.get(name)
            if data is None:
                continue
            data = np.asarray(data)
            shape = next(iter(maps.values())).shape if maps else data.shape
            if data.ndim == 2 and data.shape == shape and np.isfinite(data).any():
                maps[name] = data.astype(np.float32, copy=False)
                lazy = stored.results.get(name)
                if getattr(lazy, "unit", None):
                    units[name] = lazy.unit
        if not maps:
            return None
        mask = result.results.get("mask")
        if mask is not None and np.shape(mask) == next(iter(maps.values())).shape:
            maps["mask"] = np.asarray(mask).astype(bool)
        title = figure_title(sample=self.sample, sequence=sequence, run_time=_run_time(stored.created))
        return maps, units, {"title": title, "pixel_size_um": stored.object_pixel_size_um,
                             "out_stem": path.with_suffix(""), "formats": self.formats}

    def _send(self, job) -> None:
        maps, units, kwargs = job
        self.worker.submit(maps, units, **kwargs)
        self.submitted += 1

    def report(self, stream) -> list[Path]:
        """Wait for the figures; print their paths on one line, or why they are missing on stderr."""
        from app.cli.figure_process import FigureError

        written: list[Path] = []
        for job in self.deferred:
            self._send(job)
        self.deferred.clear()
        if self.submitted:
            try:
                written = self.worker.results()
            except (FigureError, OSError) as exc:
                self.problems.append(str(exc))
        if written:
            print(f"qiup: figures {', '.join(str(p) for p in written)}", file=stream)
        if self.problems:
            print(f"qiup: figures not written: {'; '.join(self.problems)}; the run files are not affected",
                  file=sys.stderr)
        return written


def _run_time(created: str) -> str | None:
    """The file's ``created`` attribute ('2026-11-30T18:40:01+0000') as '2026-11-30 18:40:01'."""
    import datetime

    try:
        return datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return created or None


class ProgressPrinter:
    """Terminal progress: a bar redrawn in place on a terminal, else a line per stage and per 25 %."""

    WIDTH = 28

    def __init__(self, stream):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.reset()

    def reset(self) -> None:
        self.label, self.quarter = None, -1

    def connect(self, events) -> None:
        events.progress.connect(self.on_progress)
        events.warning.connect(self.on_message)

    def on_message(self, message: str) -> None:
        print(("\n" if self.tty else "") + f"  ! {message}", file=self.stream, flush=True)

    def on_progress(self, p) -> None:
        percent = 100.0 * p.fraction
        eta = "" if p.eta_s is None else f"  ETA {_duration(p.eta_s)}"
        text = f"  {p.stage:<12} {p.frames_done:>7}/{p.frames_total} frames  {percent:5.1f} %  {p.elapsed_s:6.1f} s{eta}"
        if self.tty:
            filled = int(self.WIDTH * p.fraction)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            end = "\n" if p.frames_done == p.frames_total else ""
            print(f"\r[{bar}]{text}", end=end, file=self.stream, flush=True)
            return
        quarter = 4 * p.frames_done // max(p.frames_total, 1)
        if p.stage != self.label or quarter != self.quarter:
            self.label, self.quarter = p.stage, quarter
            print(text, file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"

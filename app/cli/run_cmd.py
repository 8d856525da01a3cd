"""``qiup run``: one sequence (or a TOML file of sequences) on the configured bench, one HDF5 file each."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

from app.config import DEFAULT_CONFIG_PATH


def register(sub) -> None:
    p = sub.add_parser("run", help="run an acquisition sequence (or a sequence file)")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, help="bench TOML (default: simulation)")
    p.add_argument("--sequence", default="phase-stepping",
                   help="dark | reference | phase-stepping | delay-scan | fringe-calibration | time-series | live")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="sequence parameter")
    p.add_argument("--sequence-file", type=Path, help="TOML with [[sequence]] tables (name = ..., parameters), run in order")
    p.add_argument("--out", type=Path, default=Path("runs"), help="output folder (default: ./runs)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    if args.sequence_file is not None:
        if args.param:
            from app.cli import CliError

            raise CliError("--param applies to --sequence; put the parameters in the sequence file instead")
        results = _run_all(args.config, read_sequence_file(args.sequence_file), args.out, sys.stdout)
    else:
        results = _run_all(args.config, [(args.sequence, _validated_pairs(args.sequence, args.param))], args.out,
                           sys.stdout)
    return 0 if results and all(r.status == "complete" for r in results) else 1


def read_sequence_file(path: Path) -> list[tuple[str, dict]]:
    """``[[sequence]]`` tables -> [(name, parameters)], every one validated (ParameterError otherwise)."""
    from app.config.loader import read_text_file
    from app.engine.params import ParameterError, validate_params

    text = read_text_file(path, "sequence file", ParameterError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: not valid TOML: {exc}") from None
    tables = data.get("sequence")
    if not isinstance(tables, list) or not tables or set(data) - {"sequence"}:
        raise ParameterError(f"{path}: expected one or more [[sequence]] tables and nothing else")
    items = []
    for i, table in enumerate(tables, 1):
        table = dict(table)
        name = table.pop("name", None)
        if name is None:
            raise ParameterError(f"{path}: sequence #{i} has no name")
        try:
            validate_params(name, table)
        except ParameterError as exc:
            raise ParameterError(f"{path}: sequence #{i}: {exc}") from None
        items.append((name, table))
    return items


def run_sequence_file(config_path: Path, sequence_file: Path, out_dir: Path, *, stream=None) -> list[Path | None]:
    items = read_sequence_file(sequence_file)
    return [r.path for r in _run_all(config_path, items, out_dir, stream or sys.stdout)]


def _validated_pairs(sequence: str, param_pairs: list[str]) -> dict:
    from app.engine.params import _split_pairs, validate_params

    raw = _split_pairs(param_pairs)
    validate_params(sequence, raw)  # before the bench is even opened
    return raw


def run_sequence(config_path: Path, sequence: str, param_pairs: list[str], out_dir: Path, *,
                 stream=None) -> Path | None:
    """Validate everything, then run; returns the run file's path (None: live, or no file was made)."""
    (result,) = _run_all(config_path, [(sequence, _validated_pairs(sequence, param_pairs))], out_dir,
                         stream or sys.stdout)
    return result.path


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or a termination signal during a run; says whether the laser confirmed emission off."""

    def __init__(self, *, laser_off_confirmed: bool):
        super().__init__("interrupted")
        self.laser_off_confirmed = laser_off_confirmed


def _run_all(config_path: Path, items: list[tuple[str, dict]], out_dir: Path, stream) -> list:
    """Plan every item against the bench, then run them in order until one does not complete; the RunResults."""
    from app.bench_factory import open_bench
    from app.cli import CliError
    from app.config import load_config
    from app.engine import Runner
    from app.engine.runner import LASER_NOT_CONFIRMED
    from drivers.interfaces import DeviceError

    loaded = load_config(config_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".qiup-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CliError(f"--out {out_dir}: cannot write run files there ({exc.strerror or exc})") from None
    results = []
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        # every sequence planned against the bench (positions, limits, memory) before anything moves
        plans = [runner.plan(name, params, results_in_memory=name == "live") for name, params in items]
        printer = ProgressPrinter(stream)
        printer.connect(runner.events)
        for (name, _), (params, _plan) in zip(items, plans):
            print(f"qiup: {name} on '{loaded.settings.name}' ({config_path})", file=stream)
            path = None if name == "live" else _new_path(out_dir, name)
            printer.reset()
            try:
                result = runner.run(name, params, path=path, raise_on_error=False)
            except KeyboardInterrupt as exc:
                raise Interrupted(laser_off_confirmed=runner.result is None or runner.result.laser_off_confirmed) from exc
            finally:
                if runner.result is not None and runner.result.path is not None:
                    print(f"qiup: run file {path} ({runner.result.status})", file=stream)
            if not result.laser_off_confirmed:
                raise DeviceError(LASER_NOT_CONFIRMED, device="laser")
            if isinstance(runner.exception, DeviceError):
                raise runner.exception
            results.append(result)
            if result.status == "failed":  # e.g. a suspension that outlasted max_suspended_s: one line, exit 1
                print(f"qiup: {name} failed: {result.error}", file=sys.stderr)
            if result.path is not None and result.status == "complete":
                _quicklooks(result, path, stream)
            if result.status != "complete":
                break
    return results


def _new_path(out_dir: Path, name: str) -> Path:
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    path, n = out_dir / f"{stem}.h5", 1
    while path.exists():
        n += 1
        path = out_dir / f"{stem}-{n}.h5"
    return path


def _quicklooks(result, path: Path, stream) -> None:
    import numpy as np

    from app.storage.quicklook import save_magnitude_png, save_phase_png

    written = []
    for name, vmax in (("visibility", None), ("amplitude", 1.2), ("depth_um", None), ("reflectivity", None)):
        data = result.results.get(name)
        if data is not None and data.ndim == 2 and np.isfinite(data).any():
            save_magnitude_png(path.with_name(f"{path.stem}-{name}.png"), data, vmax=vmax)
            written.append(name)
    phase = result.results.get("phase")
    if phase is not None and phase.ndim == 2:
        mask = result.results.get("mask")
        amplitude = result.results.get("amplitude")
        save_phase_png(path.with_name(f"{path.stem}-phase.png"), phase, None if mask is None else mask.astype(bool),
                       amplitude if amplitude is not None and amplitude.shape == phase.shape else None)
        written.append("phase")
    if written:
        print(f"qiup: quick-looks {path.parent / path.stem}-{{{','.join(written)}}}.png", file=stream)


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

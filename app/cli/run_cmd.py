"""``qiup run``: one sequence on the configured bench, written to a timestamped HDF5 file + PNGs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "simulation.toml"


def register(sub) -> None:
    p = sub.add_parser("run", help="run an acquisition sequence")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="bench TOML (default: simulation)")
    p.add_argument("--sequence", default="phase-stepping", help="sequence name (default: phase-stepping)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="sequence parameter")
    p.add_argument("--out", type=Path, default=Path("runs"), help="output folder (default: ./runs)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    run_sequence(args.config, args.sequence, args.param, args.out)
    return 0


def run_sequence(config_path: Path, sequence: str, param_pairs: list[str], out_dir: Path,
                 *, stream=None) -> Path:
    """Validate everything, then run; returns the run file's path. Used by ``run`` and ``start``."""
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine.params import parse_params
    from app.engine.phase_stepping import run_phase_stepping
    from app.storage import RunFile
    from app.storage.quicklook import save_magnitude_png, save_phase_png

    stream = stream or sys.stdout
    loaded = load_config(config_path)
    params = parse_params(sequence, param_pairs)  # before any device moves
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{sequence}"
    path = out_dir / f"{stem}.h5"
    print(f"qiup: {sequence} on '{loaded.settings.name}' ({config_path})", file=stream)
    with open_bench(loaded) as bench:
        run_file = RunFile(path, sequence=sequence, config_text=loaded.text,
                           identities=bench.identities(), parameters=params.model_dump())
        status = "failed"
        try:
            result = run_phase_stepping(bench, params, run_file, _ProgressPrinter(stream))
            status = "complete"
        except KeyboardInterrupt:
            status = "aborted"
            raise
        finally:
            run_file.finish(status)
            print(f"qiup: run file {path} ({status})", file=stream)
    maps = result.maps
    save_magnitude_png(out_dir / f"{stem}-visibility.png", maps.visibility)
    save_magnitude_png(out_dir / f"{stem}-amplitude.png", maps.amplitude, vmax=1.2)
    save_phase_png(out_dir / f"{stem}-phase.png", maps.phase_rad, maps.mask)
    print(f"qiup: quick-looks {out_dir / stem}-{{visibility,amplitude,phase}}.png", file=stream)
    return path


class _ProgressPrinter:
    """Prints a line at each stage change and every 25 % of the run."""

    def __init__(self, stream):
        self.stream, self.label, self.quarter = stream, None, -1
        self.started = time.monotonic()

    def __call__(self, label: str, done: int, total: int) -> None:
        quarter = 4 * done // total
        if label != self.label or quarter != self.quarter:
            self.label, self.quarter = label, quarter
            elapsed = time.monotonic() - self.started
            print(f"  {label:<10} {done:>6}/{total} frames  {100 * done / total:5.1f} %  {elapsed:6.1f} s",
                  file=self.stream, flush=True)

"""``qiup gui``: the desktop GUI on the configured bench (default: the simulated bench)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG

    p = sub.add_parser("gui", help="open the desktop GUI")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="bench TOML (default: simulation)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="folder for run files (default: ./runs)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.cli import CliError
    from app.cli.start_cmd import display_available

    if not args.config.is_file():
        raise CliError(f"--config {args.config}: file not found")
    if not display_available():
        raise CliError("no display (DISPLAY / WAYLAND_DISPLAY unset); use 'qiup run' or set QT_QPA_PLATFORM=offscreen")
    from app.gui import launch

    return launch(args.config, runs_dir=args.out)

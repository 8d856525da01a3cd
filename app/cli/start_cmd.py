"""``qiup start``: the main job. The GUI where a display and the GUI exist; else a headless demo run."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from app.cli.run_cmd import run_sequence
from app.config import DEFAULT_CONFIG_PATH


def register(sub) -> None:
    p = sub.add_parser("start", help="main job: GUI if a display exists, else a headless demo run")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument("--headless", action="store_true", help="never open the GUI")
    p.set_defaults(handler=handle)


def display_available() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def gui_available() -> bool:
    return importlib.util.find_spec("app.gui") is not None


def handle(args) -> int:
    if not args.headless and display_available() and gui_available():
        from app.gui import launch  # noqa: PLC0415 - Qt only when the GUI is really wanted

        return launch(args.config, runs_dir=args.out)
    print("qiup: headless demo on the simulated bench (no display or no GUI)")
    run_sequence(args.config, "phase-stepping", [], args.out)
    return 0

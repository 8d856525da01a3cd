"""The ``qiup`` command: each subcommand lives in its own module with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from importlib import import_module

COMMAND_MODULES = (
    "app.cli.run_cmd",
    "app.cli.start_cmd",
    "app.cli.bench_cmd",
    "app.cli.resume_cmd",
    "app.cli.devices_cmd",
    "app.cli.info_cmd",
    "app.cli.reprocess_cmd",
    "app.cli.gui_cmd",
)


class CliError(Exception):
    """A user-facing failure: printed as one message, exit status 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qiup", description="Quantum imaging with undetected photons.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log device traffic and details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        import_module(module).register(sub)
    return parser


def _terminate_gracefully(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")  # runs every finally: laser off, file closed


def main(argv: list[str] | None = None) -> int:
    from app.config import ConfigError
    from app.engine.params import ParameterError
    from drivers.interfaces import DeviceError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A closed terminal or SSH session (SIGHUP), SIGTERM and SIGQUIT must run every cleanup as Ctrl-C
    # does: their default action kills the process with the laser still emitting.
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, _terminate_gracefully)
    try:
        return int(args.handler(args) or 0)
    except (ConfigError, ParameterError, CliError) as exc:
        print(f"qiup: error: {exc}", file=sys.stderr)
        return 2
    except DeviceError as exc:
        print(f"qiup: device error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt as exc:
        if getattr(exc, "laser_off_confirmed", True):
            print("\nqiup: interrupted; laser is off, data taken so far is on disk", file=sys.stderr)
        else:
            print("\nqiup: interrupted; data taken so far is on disk.\n"
                  "qiup: LASER EMISSION NOT CONFIRMED OFF: switch the laser off at the device", file=sys.stderr)
        return 130

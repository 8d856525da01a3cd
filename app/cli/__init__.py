"""The ``qiup`` command: each subcommand lives in its own module with ``register(subparsers)``.

Start-up rule: building the parser imports only the small ``*_cmd`` modules, which import nothing
heavy at module level (numpy, h5py, the engine, the pipeline ... are imported inside the handlers), so
``qiup --help`` and every subcommand start at once (guarded by tests/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from importlib import import_module

# the subcommands' modules, in the order ``qiup --help`` lists them
COMMAND_MODULES = (
    "app.cli.run_cmd",
    "app.cli.start_cmd",
    "app.cli.bench_cmd",
    "app.cli.resume_cmd",
    "app.cli.devices_cmd",
    "app.cli.info_cmd",
    "app.cli.reprocess_cmd",
    "app.cli.export_cmd",
    "app.cli.gui_cmd",
)


class CliError(Exception):
    """A user-facing failure: printed as one message, exit status 2, no traceback."""


# Errors reported as one line, by (module, class). They are looked up only among modules already
# imported: an exception of a class whose module was never loaded cannot have been raised, so main()
# need not import the engine or pydantic just to be able to catch their errors.
USER_ERRORS = (("app.config.loader", "ConfigError"), ("app.engine.params", "ParameterError"),
               ("app.storage.opening", "RunFileError"), ("app.storage.creation", "RunWriteError"),
               ("app.bench.lock", "BenchInUse"), ("app.wavefront.masks", "MaskFileError"))
DEVICE_ERRORS = (("drivers.errors", "DeviceError"),)


def _loaded_classes(specs) -> tuple[type, ...]:
    return tuple(getattr(sys.modules[module], name) for module, name in specs if module in sys.modules)


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
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A closed terminal or SSH session (SIGHUP), SIGTERM and SIGQUIT must run every cleanup as Ctrl-C
    # does: their default action kills the process with the laser still emitting.
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, _terminate_gracefully)
    try:
        return int(args.handler(args) or 0)
    except CliError as exc:
        print(f"qiup: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if isinstance(exc, _loaded_classes(USER_ERRORS)):
            print(f"qiup: error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, _loaded_classes(DEVICE_ERRORS)):
            print(f"qiup: device error: {exc}", file=sys.stderr)
            return 3
        raise
    except KeyboardInterrupt as exc:
        if getattr(exc, "laser_off_confirmed", True):
            print("\nqiup: interrupted; laser is off, data taken so far is on disk", file=sys.stderr)
        else:
            print("\nqiup: interrupted; data taken so far is on disk.\n"
                  "qiup: LASER EMISSION NOT CONFIRMED OFF: switch the laser off at the device", file=sys.stderr)
        return 130

"""``qiup devices``: identity, capabilities and typed readback of every configured device (moves nothing).

Refuses with one line naming the holder (pid, host, what it is doing) when another qiup process holds
the bench, before opening anything.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path


def register(sub) -> None:
    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG

    p = sub.add_parser("devices", help="identities and readbacks of the configured devices")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="bench TOML (default: simulation)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.bench import BenchInUse, open_bench
    from app.config import load_config

    loaded = load_config(args.config)
    try:
        with open_bench(loaded, poll=False, label="qiup devices") as bench:
            _print_bench(bench, loaded, args.config)
    except BenchInUse as exc:  # raised before any device is opened
        print(f"qiup: {exc}", file=sys.stderr)
        return 2
    return 0


def _print_bench(bench, loaded, config_path) -> None:
    print(f"bench '{loaded.settings.name}' ({config_path})")
    for name, device in bench.devices().items():
        ident = device.identity()
        print(f"  {name:<13} {ident.vendor} {ident.model}  serial {ident.serial or '-'}  firmware {ident.firmware or '-'}")
        try:
            record = device.read_state()
        except Exception as exc:  # noqa: BLE001 - report, do not stop at one bad device
            print(f"  {'':<13} readback unavailable: {exc}")
            continue
        print(f"  {'':<13} {type(record).__name__}: " + ", ".join(
            f"{f.name}={_fmt(getattr(record, f.name))}" for f in dataclasses.fields(record)
            if f.name not in ("time_s", "connected")))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)

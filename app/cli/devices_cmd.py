"""``qiup devices``: identity and status of every configured device (connects, moves nothing)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG

    p = sub.add_parser("devices", help="identities and status of the configured devices")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="bench TOML (default: simulation)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.bench_factory import open_bench
    from app.config import load_config

    loaded = load_config(args.config)
    print(f"bench '{loaded.settings.name}' ({args.config})")
    with open_bench(loaded) as bench:
        for name, device in bench.devices().items():
            ident = device.identity()
            print(f"  {name:<13} {ident.vendor} {ident.model}  serial {ident.serial or '-'}  firmware {ident.firmware or '-'}")
            try:
                status = device.status()
            except Exception as exc:  # noqa: BLE001 - report, do not stop at one bad device
                print(f"  {'':<13} status unavailable: {exc}")
                continue
            print(f"  {'':<13} " + ", ".join(f"{k}={_fmt(v)}" for k, v in status.items()))
    return 0


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)

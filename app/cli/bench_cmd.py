"""``qiup bench NAME``: benchmarks that print ratios against a baseline measured in the same run."""

from __future__ import annotations

from importlib import import_module

# benchmark name -> module with ``add_arguments(parser)`` (optional) and ``main(args) -> int``
BENCHMARKS = {
    "simulator": "app.benchmarks.simulator",
    "pipeline": "app.benchmarks.pipeline",
    "core": "app.benchmarks.core",
}


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (printed as tables with same-run baselines)")
    names = p.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for name, module_name in BENCHMARKS.items():
        bp = names.add_parser(name, help=f"benchmark the {name}")
        bp.set_defaults(handler=_runner(module_name))
        try:
            module = import_module(module_name)
        except ModuleNotFoundError:
            continue
        if hasattr(module, "add_arguments"):
            module.add_arguments(bp)


def _runner(module_name: str):
    def handle(args) -> int:
        from app.cli import CliError

        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            raise CliError(f"benchmark module {module_name} is not available ({exc})") from None
        return int(module.main(args) or 0)

    return handle

"""``qiup bench NAME``: benchmarks that print ratios against a baseline measured in the same run.

A benchmark module (``add_arguments(parser)`` optional, ``main(args) -> int``) is imported only when
that benchmark is chosen: its arguments are added to its parser at that moment, so ``qiup --help``
and ``qiup bench --help`` do not pay for numpy, numba or the simulator.
"""

from __future__ import annotations

import argparse
from importlib import import_module

# benchmark name -> module with ``add_arguments(parser)`` (optional) and ``main(args) -> int``
BENCHMARKS = {
    "simulator": "app.benchmarks.simulator",
    "pipeline": "app.benchmarks.pipeline",
    "core": "app.benchmarks.core",
    "reprocess": "app.benchmarks.reprocess",
    "figures": "app.benchmarks.figures",
    "ao": "app.benchmarks.ao",
    "gui": "app.gui.benchmark",
}


class _LazyBenchmarkChoice(argparse._SubParsersAction):  # noqa: SLF001 - argparse's documented `action=` hook
    """Adds the chosen benchmark's own arguments just before its parser parses the rest of the line."""

    def __call__(self, parser, namespace, values, option_string=None):
        name = values[0]
        chosen = self._name_parser_map.get(name)
        if chosen is not None and name in BENCHMARKS and not getattr(chosen, "_qiup_arguments_added", False):
            chosen._qiup_arguments_added = True
            try:
                module = import_module(BENCHMARKS[name])
            except ModuleNotFoundError:
                module = None  # the handler reports it as one line
            if module is not None and hasattr(module, "add_arguments"):
                module.add_arguments(chosen)
        super().__call__(parser, namespace, values, option_string)


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (printed as tables with same-run baselines)")
    names = p.add_subparsers(dest="benchmark", required=True, metavar="NAME", action=_LazyBenchmarkChoice)
    for name, module_name in BENCHMARKS.items():
        bp = names.add_parser(name, help=f"run the {name} benchmark")
        bp.set_defaults(handler=_runner(module_name))


def _runner(module_name: str):
    def handle(args) -> int:
        from app.cli import CliError

        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            raise CliError(f"benchmark module {module_name} is not available ({exc})") from None
        return int(module.main(args) or 0)

    return handle

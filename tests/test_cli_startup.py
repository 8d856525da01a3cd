"""Start-up: showing help imports none of the heavy layers (a module list, not a timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("app.engine", "app.pipeline", "app.storage", "app.config.loader", "app.config.schema", "app.bench",
         "app.benchmarks", "app.gui", "numpy", "scipy", "numba",
         "h5py", "PyQt6", "pyqtgraph", "matplotlib", "skimage", "harvesters", "pymeasure", "pydantic", "tifffile")

_PROBE = """
import json, sys
from app.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_imported_by(argv: list[str]) -> list[str]:
    """The modules loaded in a fresh interpreter after ``qiup <argv>`` (help exits before any handler)."""
    done = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv)], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def heavy_among(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("argv", [["--help"], ["info", "--help"], ["devices", "--help"], ["reprocess", "--help"],
                                  ["run", "--help"], ["bench", "--help"]])
def test_help_imports_no_heavy_module(argv):
    modules = modules_imported_by(argv)
    assert "app.cli" in modules  # the probe really ran the command line
    assert heavy_among(modules) == []


def test_chosen_benchmark_alone_is_imported_for_its_help():
    modules = modules_imported_by(["bench", "simulator", "--help"])
    assert "app.benchmarks.simulator" in modules  # its own arguments are shown
    assert "app.benchmarks.pipeline" not in modules and "app.benchmarks.reprocess" not in modules


def test_the_probe_sees_heavy_imports_when_a_handler_runs(tmp_path):
    """The guard can fail: a command that does work does import the pipeline."""
    missing = tmp_path / "missing.tif"
    modules = modules_imported_by(["reprocess", "--frames", str(missing), "--steps", "4", "--out", str(tmp_path / "r.h5")])
    assert "app.pipeline" in modules or "app.storage" in modules

"""The documented scripting example runs as written (small ROI) and leaves complete run files."""

import runpy

from app.storage import file_status, open_run_file
from tests.helpers import ROOT
from tests.test_engine_fixtures import small_config


def test_example_script_runs(tmp_path, capsys):
    example = runpy.run_path(str(ROOT / "docs" / "example_script.py"))
    example["main"](small_config(tmp_path, sample="three-layer"), tmp_path / "runs")
    out = capsys.readouterr().out
    assert "refused: phase-stepping: parameter steps=0" in out and "V per fringe" in out
    (folder,) = (tmp_path / "runs").iterdir()  # one new time-stamped folder per run of the script
    for name in ("calibration", "hologram", "scan"):
        with open_run_file(folder / f"{name}.h5") as h5:
            assert file_status(h5) == "complete"

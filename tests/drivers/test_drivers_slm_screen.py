"""The screen SLM: phase -> wrapped -> LUT -> 8-bit gray, painted 1:1 on the chosen screen (checked in
a separate process on Qt's offscreen platform with two virtual screens)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.slm_lut import linear_lut, load_lut, phase_to_gray

CHECK = Path(__file__).with_name("slm_offscreen_check.py")
ROOT = Path(__file__).resolve().parents[2]


def run_check(*args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)  # the check passes its own offscreen platform with two screens
    out = subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, env=env,
                         timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_phase_wraps_and_maps_linearly():
    lut = linear_lut()
    phase = np.array([[0.0, np.pi, 2 * np.pi - 1e-9, 2 * np.pi, -np.pi / 2, 5 * np.pi]])
    assert phase_to_gray(phase, lut).tolist() == [[0, 128, 255, 0, 192, 128]]


def test_lut_file_maps_levels(tmp_path):
    path = tmp_path / "lut.txt"
    path.write_text("# level gray\n" + "\n".join(f"{k} {255 - k}" for k in range(256)))
    lut = load_lut(path)
    assert phase_to_gray(np.array([[0.0, np.pi]]), lut).tolist() == [[255, 127]]
    path.write_text("0\n300\n")
    with pytest.raises(ValueError, match="outside 0..255"):
        load_lut(path)


def test_importing_the_driver_does_not_import_qt():
    code = "import sys, drivers.slm_screen, app.bench.factory; print('PyQt6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("selector", ["SLM-1", "1"])
def test_window_on_chosen_screen_shows_the_mask_pixel_for_pixel(selector, tmp_path):
    lut = tmp_path / "gamma.txt"
    lut.write_text("\n".join(str(round(255 * (k / 255) ** 0.6)) for k in range(256)))
    result = run_check(selector, str(lut))
    expected_screen = "SLM-1" if selector == "SLM-1" else result["screen"]
    assert result["screen"] == expected_screen
    assert result["frameless"] is True
    assert result["slm_shape"] == result["grabbed_shape"]
    assert result["window_geometry"][2:] == result["slm_shape"][::-1]  # full screen
    assert result["distinct_gray_levels"] > 100  # a rich test mask, not a flat one
    assert result["mismatched_pixels"] == 0

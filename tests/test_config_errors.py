"""A bad config file gets one message naming the file, the key and what is allowed; no traceback."""

import subprocess
import sys

import pytest

from app.cli import main
from app.config import load_config
from tests.helpers import SIM_CONFIG, write_config


def run_cli(capsys, config_path):
    code = main(["run", "--config", str(config_path), "--out", "unused-never-created"])
    return code, capsys.readouterr().err


def test_default_simulation_config_is_valid():
    loaded = load_config(SIM_CONFIG)
    assert loaded.settings.camera.roi.width == 512 and loaded.settings.camera.roi.height == 512
    assert all(getattr(loaded.settings, dev).backend == "sim"
               for dev in ("laser", "phase_piezo", "delay_stage", "sample_stage", "slm", "camera"))


@pytest.mark.parametrize(
    "old, new, key, allowed",
    [
        ("exposure_s = 0.1", "exposure_s = 0.1\nexposure_time = 3", "camera.exposure_time", "unknown key"),
        ("exposure_s = 0.1", 'exposure_s = "fast"', "camera.exposure_s", "valid number"),
        ("exposure_s = 0.1", "exposure_s = -1.0", "camera.exposure_s", "must be > 0"),
        ("max_visibility = 0.6 ", "max_visibility = 1.5 ", "simulation.max_visibility", "must be <= 1"),
        ('sample = "horse"', 'sample = "zebra"', "simulation.sample", "'horse'"),
        ('[laser]\nbackend = "sim"', '[laser]\nbackend = "laser-o-matic"', "laser", "backend must be one of"),
    ],
    ids=["unknown-key", "wrong-type", "out-of-range", "above-maximum", "bad-choice", "unknown-backend"],
)
def test_bad_value_names_file_key_and_allowed_range(tmp_path, capsys, old, new, key, allowed):
    text = SIM_CONFIG.read_text()
    assert old in text
    path = write_config(tmp_path, text.replace(old, new, 1))
    code, err = run_cli(capsys, path)
    assert code == 2
    assert str(path) in err
    assert f"[{key}]" in err
    assert allowed in err
    assert "Traceback" not in err
    assert not (tmp_path / "unused-never-created").exists()


def test_missing_required_device_section_is_named(tmp_path, capsys):
    text = SIM_CONFIG.read_text().replace('[camera]\nbackend = "sim"', '[camera_x]\nbackend = "sim"')
    code, err = run_cli(capsys, write_config(tmp_path, text))
    assert code == 2 and "[camera]: is required but missing" in err


def test_missing_file(tmp_path, capsys):
    code, err = run_cli(capsys, tmp_path / "nope.toml")
    assert code == 2 and "nope.toml: config file not found" in err


def test_toml_syntax_error_names_the_line(tmp_path, capsys):
    code, err = run_cli(capsys, write_config(tmp_path, "[laser\nbackend = 'sim'\n"))
    assert code == 2 and "not valid TOML" in err and "line 1" in err


def test_inconsistent_wavelengths_are_explained(tmp_path, capsys):
    text = SIM_CONFIG.read_text().replace("pump_wavelength_nm = 532.0", "pump_wavelength_nm = 600.0")
    code, err = run_cli(capsys, write_config(tmp_path, text))
    assert code == 2 and "1/pump = 1/signal + 1/idler" in err


def test_real_process_prints_one_line_and_no_traceback(tmp_path):
    path = write_config(tmp_path, SIM_CONFIG.read_text().replace("exposure_s = 0.1", "exposure_s = -2.0"))
    proc = subprocess.run([sys.executable, "-m", "app", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "[camera.exposure_s]" in lines[0] and "Traceback" not in proc.stderr


def test_bad_sequence_parameter_is_refused_before_any_device_moves(tmp_path, capsys):
    code = main(["run", "--param", "steps=2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "steps" in err and "greater than or equal to 3" in err
    assert not (tmp_path / "out").exists()

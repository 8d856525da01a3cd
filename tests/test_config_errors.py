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


# -- issue 10: files that are not UTF-8 text, renamed keys, inconsistent limits, non-finite values ------------
def test_a_config_that_is_not_utf8_gets_one_line(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes(SIM_CONFIG.read_text().replace('name = "', 'name = "Caf\u00e9 ').encode("latin-1"))
    code, err = run_cli(capsys, path)
    assert code == 2 and "not a UTF-8 text file" in err and str(path) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_binary_file_or_a_directory_as_config_gets_one_line(tmp_path, capsys):
    binary = tmp_path / "image.toml"
    binary.write_bytes(bytes(range(256)))
    code, err = run_cli(capsys, binary)
    assert code == 2 and "not a UTF-8 text file" in err and len(err.strip().splitlines()) == 1
    code, err = run_cli(capsys, tmp_path)
    assert code == 2 and "is a directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("old, new", [("piezo_volts_per_2pi", "piezo_travel_per_2pi"), ("piezo_start_v", "piezo_start")])
def test_a_renamed_calibration_key_gets_one_line_naming_the_new_name(tmp_path, capsys, old, new):
    path = write_config(tmp_path, SIM_CONFIG.read_text().replace(f"{new} =", f"{old} =", 1))
    code, err = run_cli(capsys, path)
    assert code == 2
    assert err.strip() == f"qiup: error: {path}: [calibration] {old} was renamed to {new}"


def test_a_renamed_key_in_the_calibration_file_gets_one_line(tmp_path):
    from app.config import ConfigError
    from app.engine.calibration import effective_calibration

    cal = tmp_path / "cal.toml"
    cal.write_text("piezo_volts_per_2pi = 7.5\n", encoding="utf-8")
    text = SIM_CONFIG.read_text().replace("[calibration]\n", f'[calibration]\nfile = "{cal.name}"\n', 1)
    with pytest.raises(ConfigError, match=r"cal.toml: \[calibration\] piezo_volts_per_2pi was renamed to "
                                          r"piezo_travel_per_2pi"):
        effective_calibration(load_config(write_config(tmp_path, text)))


def test_a_calibration_file_that_is_not_utf8_gets_one_line(tmp_path):
    from app.config import ConfigError
    from app.engine.calibration import effective_calibration

    (tmp_path / "cal.toml").write_bytes("source = 'Caf\u00e9'\n".encode("latin-1"))
    text = SIM_CONFIG.read_text().replace("[calibration]\n", '[calibration]\nfile = "cal.toml"\n', 1)
    with pytest.raises(ConfigError, match=r"cal.toml: not a UTF-8 text file"):
        effective_calibration(load_config(write_config(tmp_path, text)))


def test_min_above_max_limits_are_refused(tmp_path, capsys):
    text = SIM_CONFIG.read_text()
    old = '[delay_stage]\nbackend = "sim"\nmin_um = 0.0\nmax_um = 100.0'
    assert old in text
    path = write_config(tmp_path, text.replace(old, '[delay_stage]\nbackend = "sim"\nmin_um = 80.0\nmax_um = 20.0', 1))
    code, err = run_cli(capsys, path)
    assert code == 2 and "[delay_stage]" in err and "min_um = 80 is above max_um = 20" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_positions_are_refused(tmp_path, capsys, value):
    path = write_config(tmp_path, SIM_CONFIG.read_text().replace("sample_out_position_um = 25000.0",
                                                                  f"sample_out_position_um = {value}", 1))
    code, err = run_cli(capsys, path)
    assert code == 2 and "[calibration.sample_out_position_um]" in err and "finite number" in err

"""Sequence panel (parameter sets, sequence files, duration estimate), SLM panel and camera frame rate."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from app.engine.sequence_file import read_sequence_file
from app.gui.settings import load_settings, save_settings
from app.wavefront.masks import Correction, compose_mask
from app.wavefront.zernike import Pupil
from drivers.slm_lut import phase_to_gray
from tests.gui.conftest import gui_config, wait_until


@pytest.fixture
def no_dialogs(monkeypatch):
    """Any message box would be a dialog storm: fail instead."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a dialog was opened: {args[1:3]}")
    for name in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QtWidgets.QMessageBox, name, refuse)


def _fill(form, **values):
    for name, text in values.items():
        form.editor(name).setText(text)


# ------------------------------------------------------------------------------ sequence files and sets
def test_sequence_file_round_trip_gui_to_file_to_cli_reader_to_gui(make_window, tmp_path, no_dialogs):
    window = make_window(realtime=False)
    panel = window.sequence
    panel.sequence.setCurrentText("delay-scan")
    _fill(panel.form, steps="5", frames_per_step="3", delays_um="10, 20.5, 31", exposure_s="0.02")
    panel.form.editor("phase_lock").setChecked(True)
    path = tmp_path / "scan.toml"
    assert panel.save_sequence_file(path)
    # the CLI's reader (qiup run --sequence-file) gets the typed values back
    assert read_sequence_file(path) == [("delay-scan", {"steps": 5, "frames_per_step": 3, "delays_um": [10.0, 20.5, 31.0],
                                                        "exposure_s": 0.02, "phase_lock": True})]
    panel.sequence.setCurrentText("dark")
    assert panel.load_sequence_file(path)
    assert panel.sequence.currentText() == "delay-scan" and panel.form.sequence == "delay-scan"
    values = panel.form.values()
    assert values["steps"] == "5" and values["delays_um"] == ["10.0", "20.5", "31.0"] and values["phase_lock"] is True
    assert panel.form.validate().delays() == [10.0, 20.5, 31.0]


def test_a_sequence_file_saved_by_the_gui_runs_with_the_cli(make_window, tmp_path):
    from app.cli.run_cmd import run_sequence_file

    window = make_window(realtime=False)
    panel = window.sequence
    panel.sequence.setCurrentText("phase-stepping")
    _fill(panel.form, frames_per_step="2", dark_frames="2")
    panel.form.editor("reference").setChecked(False)
    assert panel.save_sequence_file(tmp_path / "night.toml")
    window.ask_abort_on_close = lambda label: True
    window.close()  # the bench lock: one process (here one bench) at a time
    (path,) = run_sequence_file(gui_config(tmp_path, realtime=False), tmp_path / "night.toml", tmp_path / "cli",
                                stream=io.StringIO(), figures=())
    from app.storage import read_run_file

    run = read_run_file(path)
    assert run.status == "complete" and run.parameters["frames_per_step"] == 2 and run.parameters["reference"] is False


def test_a_bad_sequence_file_gives_one_line_per_problem_and_changes_nothing(make_window, tmp_path, no_dialogs):
    window = make_window(realtime=False)
    panel = window.sequence
    panel.sequence.setCurrentText("phase-stepping")
    _fill(panel.form, frames_per_step="7")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sequence]]\nname = "phase-stepping"\nsteps = 2\nexposur_s = 0.1\n', encoding="utf-8")
    assert not panel.load_sequence_file(bad)
    lines = panel.notice.text().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{bad}: sequence #1: phase-stepping: ") for line in lines)
    assert any("parameter steps=2" in line and ">= 3" in line.replace("greater than or equal to", ">=") for line in lines)
    assert any("unknown parameter 'exposur_s'" in line for line in lines)
    assert "Traceback" not in panel.notice.text()
    assert panel.form.values() == {"frames_per_step": "7"}  # nothing was loaded
    for text, expected in (("steps = [", "not valid TOML"), ('[[sequence]]\nname = "nope"\n', "unknown sequence 'nope'")):
        bad.write_text(text, encoding="utf-8")
        assert not panel.load_sequence_file(bad)
        assert len(panel.notice.text().splitlines()) == 1 and expected in panel.notice.text()
    assert not panel.load_sequence_file(tmp_path / "missing.toml")
    assert panel.notice.text() == f"{tmp_path / 'missing.toml'}: sequence file not found"


def test_named_parameter_sets_persist_in_the_settings_file(make_window, tmp_path, no_dialogs):
    settings_path = tmp_path / "settings.json"
    window = make_window(realtime=False, settings_path=settings_path)
    panel = window.sequence
    panel.sequence.setCurrentText("phase-stepping")
    _fill(panel.form, steps="6", frames_per_step="12")
    assert panel.save_parameter_set("six steps")
    _fill(panel.form, steps="3", frames_per_step="1")
    assert not panel.save_parameter_set("")  # a set needs a name
    assert save_settings(settings_path, window.settings) is None
    settings, warning = load_settings(settings_path)
    assert warning is None and settings.param_sets == {"phase-stepping": {"six steps": {"steps": 6, "frames_per_step": 12}}}
    assert panel.load_parameter_set("six steps")
    assert panel.form.values() == {"steps": "6", "frames_per_step": "12"}
    panel.settings.param_sets["phase-stepping"]["stale"] = {"steps": 99}  # e.g. written by an older qiup
    assert not panel.load_parameter_set("stale")
    assert panel.notice.text().startswith("parameter set 'stale': phase-stepping: parameter steps=99")


def test_the_duration_estimate_is_shown_before_start_and_matches_the_run(make_window, qtbot):
    window = make_window(realtime=False)
    panel, model = window.sequence, window.model
    panel.sequence.setCurrentText("phase-stepping")
    _fill(panel.form, frames_per_step="3", dark_frames="4")
    panel.request_estimate()
    frames = 4 + 2 * 4 * 3  # dark frames, then reference and sample: 4 steps x 3 frames each
    # the label may still show the estimate of the form before it was filled: wait for this one's
    wait_until(qtbot, lambda: panel.estimate.text().startswith("duration: about ")
               and f"({frames} frames)" in panel.estimate.text(), what="the estimate of the filled form")
    estimate = model.estimate().value
    assert estimate.frames == frames
    assert "frame period" in panel.estimate.toolTip()
    world = model.bench.world
    t0 = world.clock_s
    panel.on_start()
    wait_until(qtbot, lambda: model.run_status().state == "done", timeout_s=120, what="the run to end")
    assert estimate.total_s == pytest.approx(world.clock_s - t0, rel=1e-6)  # the simulated clock: see test_engine_duration
    _fill(panel.form, steps="2")
    panel.request_estimate()
    wait_until(qtbot, lambda: "parameter steps=" in panel.estimate.text(), what="the estimate to name the problem")


# ------------------------------------------------------------------------------ SLM
def _wrapped(phase_rad: np.ndarray) -> np.ndarray:
    """The phase the SLM reports for a mask shown dithered (the default): wrapped to [0, 2 pi), float32."""
    wrapped = np.mod(phase_rad.astype(np.float64), 2 * np.pi).astype(np.float32)
    wrapped[wrapped.astype(np.float64) >= 2 * np.pi] = 0.0
    return wrapped


def test_slm_panel_shows_a_correction_file_exactly_as_composed(make_window, qtbot, tmp_path, no_dialogs):
    window = make_window(realtime=False)
    panel = window.panel("slm")
    slm = window.model.bench.slm
    shape = tuple(slm.shape)
    correction = Correction(noll_indices=(4, 5, 8), coefficients_rad_rms=(0.7, -0.4, 0.25),
                            pupil=Pupil((540.0, 960.0), 300.0), slm_shape=shape, wavelength_nm=1550.0)
    path = correction.save(tmp_path / "ao.json")
    assert slm.dither == "bayer4"
    expected = _wrapped(compose_mask(shape, correction=Correction.load(path)))
    panel.load_correction(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    wait_until(qtbot, lambda: f"ao.json sha256:{digest}" in panel.active.text(), what="the panel to name the mask")
    assert np.array_equal(slm.current_phase_rad(), expected)
    assert "(dither: bayer4)" in panel.active.text()
    assert panel.image.image is not None and panel.image.image.shape[1] <= 240

    panel.zernike.setText("5=0.3, 7=-0.2")
    panel.on_show_zernike()
    wait_until(qtbot, lambda: "Zernike Z5=+0.3 Z7=-0.2" in panel.active.text(), what="the Zernike mask")
    centre, radius = window.model.bench.world.slm_pupil_configured(shape)
    typed = Correction((5, 7), (0.3, -0.2), Pupil(tuple(centre), radius), shape, 0.0)
    assert np.array_equal(slm.current_phase_rad(), _wrapped(compose_mask(shape, correction=typed)))
    assert np.array_equal(slm.gray_levels, phase_to_gray(compose_mask(shape, correction=typed), slm.lut,
                                                         dither="bayer4"))

    for text in ("5=abc", "0=0.1", "5=0.1, 5=0.2"):
        panel.zernike.setText(text)
        panel.on_show_zernike()
        assert panel.notice.text().startswith("SLM: Zernike") and "\n" not in panel.notice.text()
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    panel.load_correction(tmp_path / "bad.json")
    wait_until(qtbot, lambda: "not a qiup SLM correction" in panel.notice.text(), what="the bad file's line")


def test_slm_panel_loads_a_lut_file_and_shows_its_hash(make_window, qtbot, tmp_path):
    from app.wavefront.lut_fit import fit_lut, write_lut_file

    window = make_window(realtime=False)
    panel = window.panel("slm")
    slm = window.model.bench.slm
    gray = np.arange(0, 256, 4)
    fit = fit_lut(gray, 2 * np.pi * gray / 212.0)  # a linear panel reaching 2 pi at gray 212
    path = write_lut_file(tmp_path / "panel.lut", fit, wavelength_nm=1550.0)
    panel.zernike.setText("4=1.0")
    panel.on_show_zernike()
    wait_until(qtbot, lambda: "Z4" in panel.active.text(), what="a mask on the SLM")
    panel.load_lut(path)
    wait_until(qtbot, lambda: f"panel.lut  sha256:{fit.lut_sha256()[:12]}" in panel.lut.text(), what="the LUT line")
    assert np.array_equal(slm.lut, fit.lut) and slm.cached_state.lut_sha256 == fit.lut_sha256()
    centre, radius = window.model.bench.world.slm_pupil_configured(tuple(slm.shape))
    typed = Correction((4,), (1.0,), Pupil(tuple(centre), radius), tuple(slm.shape), 0.0)
    shown = phase_to_gray(compose_mask(tuple(slm.shape), correction=typed), fit.lut, dither="bayer4")
    assert np.array_equal(slm.gray_levels, shown)  # the mask is shown again through the new LUT, dithered as before
    (tmp_path / "bad.lut").write_text("0\n300\n", encoding="utf-8")
    panel.load_lut(tmp_path / "bad.lut")
    wait_until(qtbot, lambda: "gray level 300 is outside 0..255" in panel.notice.text(), what="the bad LUT's line")
    assert slm.cached_state.lut_sha256 == fit.lut_sha256()  # nothing changed


# ------------------------------------------------------------------------------ camera
def test_camera_frame_rate_readback_matches_the_simulated_frame_period(make_window, qtbot):
    window = make_window(realtime=False)
    panel, model = window.panel("camera"), window.model
    period_s = 0.1 + 64 * 4.87e-6  # exposure + 64 rows x row time (the config's camera)
    model.start_run("phase-stepping", {"frames_per_step": 8, "dark_frames": 8, "reference": False})
    wait_until(qtbot, lambda: model.frame_rate.rates_hz()[0] is not None, what="frames")
    camera_hz, arrival_hz = model.frame_rate.rates_hz()
    assert camera_hz == pytest.approx(1 / period_s, rel=1e-6) and arrival_hz > 0
    wait_until(qtbot, lambda: "measured" in panel.rate.text() and "fps (frame timestamps)" in panel.rate.text(),
               what="the panel's rate line")
    assert f"camera reports {1 / period_s:.2f} fps" in panel.rate.text()


def test_the_new_exposure_editor_starts_at_the_camera_exposure_and_follows_it_unless_being_edited(make_window, qtbot):
    window = make_window()  # the GUI tests' camera exposes 10 ms
    panel, model = window.panel("camera"), window.model
    wait_until(qtbot, lambda: panel.exposure.value() == pytest.approx(10.0), what="the camera's 10 ms in the editor")
    panel.exposure.setValue(25.0)
    qtbot.mouseClick(panel.set_exposure, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: model.bench.camera.cached_state.exposure_s == pytest.approx(0.025), what="25 ms set")
    model.bench.camera.set_exposure_s(0.04)  # a script sets the camera: the editor follows the readback
    wait_until(qtbot, lambda: panel.exposure.value() == pytest.approx(40.0), what="the editor at 40 ms")
    window.activateWindow()
    panel.exposure.setFocus()
    panel.exposure.setValue(7.0)  # being typed: a new readback leaves it alone
    wait_until(qtbot, panel.exposure.hasFocus, what="the editor focused")
    model.bench.camera.set_exposure_s(0.05)
    wait_until(qtbot, lambda: "50.000 ms" in panel.exposure_rb.text(), what="the 50 ms readback")
    assert panel.exposure.value() == pytest.approx(7.0)


def test_every_device_panel_greys_out_what_its_capability_record_lacks(make_window, qtbot):
    window = make_window(realtime=False)
    camera = window.panel("camera")
    piezo = window.panel("phase_piezo")
    delay = window.panel("delay_stage")
    wait_until(qtbot, lambda: camera.trigger.count() == 2 and camera.binning.count() == 3, what="capabilities")
    caps = window.model._capabilities
    assert [camera.trigger.itemText(i) for i in range(2)] == list(caps["camera"].trigger_modes)
    assert camera.exposure.maximum() == caps["camera"].exposure_range_s[1] * 1e3
    assert not caps["phase_piezo"].has_stop and not piezo.stop.isEnabled() and piezo.stop.toolTip()
    assert caps["delay_stage"].has_stop and delay.stop.isEnabled()
    assert "-10.0 degC" in camera.temperature.text()

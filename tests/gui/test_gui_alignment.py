"""The coherence-alignment panel on the simulated bench: a scan around the delay stage's position plots
visibility against delay as it arrives, the envelope fit finds the simulator's true ZPD, Move to ZPD
takes the stage there (refused while a run owns the bench), and Abort ends the scan with the laser off."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from app.storage import file_status
from tests.gui.conftest import wait_until
from tests.gui.test_gui_threads_safety import recorder  # noqa: F401  (fixture: records every device call's thread)

TRUE_ZPD_UM = 41.3  # [simulation] zero_path_delay_um of the test bench (configs/simulation.toml)
ZPD_TOLERANCE_UM = 1.0  # L_c / 20 for the 21.2 um envelope FWHM: 99.4 % of the peak visibility


def _delay_position(window) -> float | None:
    state = window.model.readbacks().stages.get("delay_stage")
    return None if state is None else state.position


def _move_delay(window, qtbot, position_um: float) -> None:
    window.model.move_stage("delay_stage", position_um)
    wait_until(qtbot, lambda: _delay_position(window) == pytest.approx(position_um, abs=1e-3),
               what=f"the delay stage at {position_um} um")


def _scan(window, qtbot, *, span_um: float, points: int):
    panel = window.panel("alignment")
    panel.span.setValue(span_um)
    panel.points.setValue(points)
    wait_until(qtbot, panel.start.isEnabled, what="the Scan button")
    qtbot.mouseClick(panel.start, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: panel.scan is not None and panel.scan.state.get() is not None,
               what="the scan to start")
    return panel


def _plotted(panel) -> int:
    x, _ = panel.points_item.getData()
    return 0 if x is None else len(x)


def _status(path) -> str:
    with h5py.File(path, "r") as h5:
        return file_status(h5)


def test_scan_off_centre_plots_each_delay_fits_the_true_zpd_and_moves_there(make_window, qtbot):
    window = make_window()  # realtime: the scan takes a few seconds, so its points arrive one by one
    model = window.model
    assert model.bench.config.settings.simulation.zero_path_delay_um == TRUE_ZPD_UM
    _move_delay(window, qtbot, 35.0)
    panel = _scan(window, qtbot, span_um=50.0, points=26)
    seen_counts = set()

    def ended():
        seen_counts.add(_plotted(panel))
        return panel.scan.state.get().value.ended and "scan complete" in panel.status.text()

    wait_until(qtbot, ended, timeout_s=120, what=f"the scan's end ({panel.status.text()})")
    assert any(0 < n < 26 for n in seen_counts), f"no partial plot seen during the scan: {sorted(seen_counts)}"
    run = model.run_status()
    assert run.sequence == "delay-scan" and run.result_status == "complete" and _status(run.path) == "complete"
    x, y = panel.points_item.getData()
    assert len(x) == 26 and x[0] == pytest.approx(10.0) and x[-1] == pytest.approx(60.0)
    assert x[np.argmax(y)] == pytest.approx(TRUE_ZPD_UM, abs=1.0)  # the 2 um grid's point nearest the ZPD
    fit = panel.fit
    assert fit is not None and abs(fit.zpd_um - TRUE_ZPD_UM) < ZPD_TOLERANCE_UM
    fx, fy = panel.fit_item.getData()
    assert len(fx) > 100 and fy.max() == pytest.approx(fit.peak_visibility, rel=0.01)
    assert panel.zpd_line.isVisible() and panel.zpd_line.value() == pytest.approx(fit.zpd_um)
    assert f"ZPD = {fit.zpd_um:.3f}" in panel.result.text()
    assert model.readbacks().laser.emission is False
    qtbot.mouseClick(panel.copy, QtCore.Qt.MouseButton.LeftButton)
    assert QtWidgets.QApplication.clipboard().text() == f"zero_path_delay_um = {fit.zpd_um:.3f}"
    wait_until(qtbot, panel.move.isEnabled, what="the Move to ZPD button")
    qtbot.mouseClick(panel.move, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: _delay_position(window) == pytest.approx(fit.zpd_um, abs=1e-3),
               what=f"the delay stage at the fitted ZPD {fit.zpd_um:.3f} um (at {_delay_position(window)})")
    assert abs(model.bench.delay_stage.cached_state.position - TRUE_ZPD_UM) < ZPD_TOLERANCE_UM


def test_move_to_zpd_is_refused_while_a_run_owns_the_bench(make_window, qtbot):
    window = make_window(realtime=False)
    model = window.model
    _move_delay(window, qtbot, 38.0)
    panel = _scan(window, qtbot, span_um=50.0, points=21)
    wait_until(qtbot, lambda: "scan complete" in panel.status.text(), timeout_s=120, what="the first scan's end")
    assert panel.fit is not None
    wait_until(qtbot, panel.save.isEnabled, what="the Save ZPD button")
    qtbot.mouseClick(panel.save, QtCore.Qt.MouseButton.LeftButton)  # this config names no calibration file
    assert "save refused" in panel.notice.text() and "[calibration] file" in panel.notice.text()
    window.sequence.sequence.setCurrentText("phase-stepping")
    window.sequence.form.editor("frames_per_step").setText("2000")
    wait_until(qtbot, window.sequence.start.isEnabled, what="the sequence panel's Start button")
    qtbot.mouseClick(window.sequence.start, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: model.run_status().state == "running" and model.run_status().frames_done > 0,
               what="the phase-stepping run")
    wait_until(qtbot, lambda: not panel.start.isEnabled(), what="the Scan button disabled during the run")
    qtbot.mouseClick(panel.move, QtCore.Qt.MouseButton.LeftButton)
    assert "move refused" in panel.notice.text() and "phase-stepping" in panel.notice.text()
    assert str(model.run_status().path) in panel.notice.text()
    qtbot.wait(300)
    assert _delay_position(window) != pytest.approx(panel.fit.zpd_um, abs=1e-3)
    model.abort()
    wait_until(qtbot, lambda: model.run_status().state == "done", what="the aborted run's end")


def test_abort_mid_scan_leaves_the_laser_off_and_the_file_aborted(make_window, qtbot):
    window = make_window()
    model = window.model
    panel = _scan(window, qtbot, span_um=60.0, points=61)
    wait_until(qtbot, lambda: len(panel.scan.state.get().value.points) >= 3, timeout_s=60,
               what="three scanned delays")
    wait_until(qtbot, lambda: model.readbacks().laser.emission is True, what="emission on during the scan")
    wait_until(qtbot, panel.abort.isEnabled, what="the Abort button")
    qtbot.mouseClick(panel.abort, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: panel.scan.state.get().value.ended, what="the scan's end after Abort")
    state = panel.scan.state.get().value
    assert state.outcome == "aborted" and 3 <= len(state.points) < 61
    wait_until(qtbot, lambda: "scan aborted" in panel.status.text(), what="the panel to show the abort")
    wait_until(qtbot, lambda: model.readbacks().laser.emission is False, timeout_s=2.0, what="emission off readback")
    assert model.bench.world.state.laser_emission is False
    assert _status(model.run_status().path) == "aborted"
    assert _plotted(panel) == len(state.points)  # the delays taken stay plotted


def test_a_scan_that_misses_the_envelope_says_so_and_offers_no_move(make_window, qtbot):
    window = make_window(realtime=False)
    _move_delay(window, qtbot, 85.0)  # the arms match at 41.3 um: 75 ... 95 um sees only the noise floor
    panel = _scan(window, qtbot, span_um=20.0, points=11)
    wait_until(qtbot, lambda: "scan complete" in panel.status.text(), timeout_s=120, what="the scan's end")
    assert panel.fit is None
    wait_until(qtbot, lambda: not panel.move.isEnabled(), what="Move to ZPD greyed out")  # at the next refresh
    assert panel.result.text().startswith("no ZPD:")
    assert "widen the span" in panel.result.text() and "widen the span" not in panel.notice.text()  # said once
    assert not panel.zpd_line.isVisible()


def test_a_scan_whose_end_comes_after_its_last_point_was_shown_still_says_no_zpd(make_window):
    """The panel may see the last point while the scan runs and the end a refresh later, with no new
    point: the end still gets its final fit and its verdict."""
    from app.gui.alignment_scan import ScanPoint, ScanState

    panel = make_window(realtime=False).panel("alignment")
    rng = np.random.default_rng(1)
    points = tuple(ScanPoint(index=k, delay_um=75.0 + 2 * k, visibility=0.01 + 0.002 * rng.random()) for k in range(11))
    panel._show(ScanState(points, planned=11))  # noise floor only: no envelope to fit
    assert panel.result.text() == ""  # not final yet: no verdict
    panel._show(ScanState(points, planned=11, ended=True, outcome="complete"))
    assert panel.result.text().startswith("no ZPD:") and panel.fit is None
    y_low, y_high = panel.plot.getViewBox().viewRange()[1]
    assert y_low == 0.0 and y_high >= 0.05  # the noise floor near the axis, not stretched over the plot


def test_scan_and_move_to_zpd_make_no_device_call_on_the_gui_thread(make_window, qtbot, recorder):
    window = make_window(realtime=False)
    panel = _scan(window, qtbot, span_um=60.0, points=16)
    wait_until(qtbot, lambda: "scan complete" in panel.status.text(), timeout_s=120, what="the scan's end")
    assert panel.fit is not None
    wait_until(qtbot, panel.move.isEnabled, what="the Move to ZPD button")
    qtbot.mouseClick(panel.move, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: _delay_position(window) == pytest.approx(panel.fit.zpd_um, abs=1e-3),
               what="the delay stage at the fitted ZPD")
    window.close()
    movers = {thread for role, name, thread in recorder.calls if role == "delay_stage" and name == "move_to"}
    assert "qiup-gui-commands" in movers and any(t.startswith("qiup-runner") for t in movers)  # Move to ZPD; the scan
    assert all(t == "qiup-gui-commands" or t.startswith("qiup-runner") for t in movers)
    assert recorder.main_calls == []


def test_save_zpd_writes_the_calibration_file_keeping_the_fringe_calibration_and_later_runs_use_it(
        make_window, qtbot, tmp_path):
    from app.engine.calibration import effective_calibration
    from tests.test_engine_fixtures import small_config

    stale = "piezo_travel_per_2pi = 7.9\nzero_path_delay_um = 30.0\n"  # a fringe calibration and an old ZPD
    (tmp_path / "calibration.toml").write_text(stale, encoding="utf-8")
    config = small_config(tmp_path, **{"[calibration]\n": '[calibration]\nfile = "calibration.toml"\n'})
    window = make_window(config)
    model = window.model
    assert effective_calibration(model.bench.config).zero_path_delay_um == 30.0
    _move_delay(window, qtbot, 38.0)
    panel = _scan(window, qtbot, span_um=50.0, points=21)
    wait_until(qtbot, lambda: "scan complete" in panel.status.text(), timeout_s=120, what="the scan's end")
    wait_until(qtbot, panel.save.isEnabled, what="the Save ZPD button")
    qtbot.mouseClick(panel.save, QtCore.Qt.MouseButton.LeftButton)
    assert panel.notice.text() == ""  # no refusal, no error (the status line may already show the scan again)
    cal = effective_calibration(model.bench.config)
    assert cal.zero_path_delay_um == pytest.approx(round(panel.fit.zpd_um, 4), abs=1e-9)
    assert abs(cal.zero_path_delay_um - TRUE_ZPD_UM) < ZPD_TOLERANCE_UM
    assert cal.piezo_travel_per_2pi == 7.9  # the fringe calibration's key is kept

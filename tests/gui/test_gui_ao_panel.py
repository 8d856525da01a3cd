"""The adaptive-optics panel on the simulated bench (aberrated in Noll 5 and 6): a run started from the panel
plots one metric point per measurement equal to the run file's ``metric``, bars equal to the file's
correction, before/after visibility maps on the same colour levels, the correction file's path; laser off."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
from PyQt6 import QtCore

from app.gui.ao_panel import parse_modes
from tests.gui.conftest import REALTIME, wait_until
from tests.test_engine_fixtures import small_config

ABERRATION = "aberration_zernike_rad = { 5 = 0.6, 6 = -0.4 }"  # rad RMS of wavefront (configs/simulation.toml key)
NOISE_MARGIN = 0.02  # ROI-mean visibility: shot and read noise of a 1-frame-per-step burst over 32 x 32 px


def test_parse_modes_accepts_lists_and_ranges_and_refuses_words_in_one_line():
    assert parse_modes("5, 6; 9") == [5, 6, 9] and parse_modes("5-8") == [5, 6, 7, 8]
    with pytest.raises(ValueError, match=r"^modes: 'x' is not a Noll index"):
        parse_modes("5, x")


def test_ao_run_from_the_panel_plots_the_files_metric_coefficients_and_before_after_maps(
        make_window, qtbot, tmp_path):
    config = small_config(tmp_path, sample="empty", **{"aberration_zernike_rad = {}": ABERRATION, **REALTIME})
    window = make_window(config)  # realtime (10 ms frames): the measurements arrive one by one
    panel = window.panel("ao")
    panel.modes.setText("5, 6")
    panel.cycles.setValue(1)
    panel.roi.setValue(32)
    wait_until(qtbot, panel.start.isEnabled, what="the Start AO button")
    qtbot.mouseClick(panel.start, QtCore.Qt.MouseButton.LeftButton)
    plotted = set()

    def ended():
        x, _ = panel.metric_item.getData()
        plotted.add(0 if x is None else len(x))
        state = panel.watch.state.get() if panel.watch is not None else None
        return state is not None and state.value.ended and "AO complete" in panel.status.text()

    wait_until(qtbot, ended, timeout_s=60, what=f"the AO run's end ({panel.status.text()} {panel.notice.text()})")
    run = window.model.run_status()
    assert run.sequence == "adaptive-optics" and run.result_status == "complete"
    with h5py.File(run.path, "r") as h5:  # ground truth: the run file itself
        metric = h5["results/metric"][()]
        correction = h5["results/correction_rad_rms"][()]
        before, after = h5["results/visibility_before"][()], h5["results/visibility_after"][()]
    assert metric.size == 2 + 1 * (2 * 2 + 1) and np.all(np.isfinite(metric))
    assert any(0 < n < metric.size for n in plotted), f"no partial metric plot during the run: {sorted(plotted)}"
    x, y = panel.metric_item.getData()
    assert np.array_equal(x, np.arange(metric.size)) and np.array_equal(y, metric)
    assert np.array_equal(panel.bars.opts["x"], [5.0, 6.0]) and np.array_equal(panel.bars.opts["height"], correction)
    assert np.all(np.abs(correction) > 0.05)  # a real correction of the 0.6 / -0.4 rad aberration, not zeros
    assert after.mean() >= before.mean() - NOISE_MARGIN
    shown = {k: image.image for k, (_, image) in panel.images.items()}
    for key, stored in (("before", before), ("after", after)):  # the file stores the maps as float32
        assert stored.dtype == np.float32 and np.allclose(shown[key], stored, rtol=1e-6, atol=0)
    levels = [tuple(image.getLevels()) for _, image in panel.images.values()]
    assert levels[0] == levels[1] == pytest.approx((0.0, max(before.max(), after.max())), rel=1e-6)
    mask_file = run.path.with_suffix(".correction.json")
    assert mask_file.exists() and panel.mask_file == mask_file and str(mask_file) in panel.saved.text()
    wait_until(qtbot, lambda: window.model.readbacks().laser.emission is False, what="the laser off")
    wait_until(qtbot, panel.load.isEnabled, what="the Load into SLM panel button")
    qtbot.mouseClick(panel.load, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: mask_file.name in (window.model.readbacks().slm.mask_label or ""),
               what="the correction file shown on the SLM")
    window.panels["ao"].raise_()
    panel.resize(900, 900)
    assert panel.grab().save(str(os.environ.get("QIUP_AO_PNG", tmp_path / "ao_panel.png")))
    for plot in (panel.metric_plot, panel.bar_plot):
        item = plot.getPlotItem()
        assert item.getAxis("left").labelText and item.getAxis("bottom").labelText


def test_bad_modes_are_refused_in_one_line_and_an_aborted_ao_run_shows_no_correction_with_the_laser_off(
        make_window, qtbot, tmp_path):
    window = make_window()  # realtime: the run is still going when Abort is pressed
    panel = window.panel("ao")
    panel.modes.setText("5, six")
    wait_until(qtbot, panel.start.isEnabled, what="the Start AO button")
    qtbot.mouseClick(panel.start, QtCore.Qt.MouseButton.LeftButton)
    assert panel.notice.text() == "AO refused: modes: 'six' is not a Noll index; write e.g. 5, 6, 7 or 5-16"
    assert panel.watch is None and not window.model.run_status().active
    panel.modes.setText("5-10")  # 2 + 13 measurements: Abort comes long before the end
    panel.roi.setValue(32)
    qtbot.mouseClick(panel.start, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: panel.metric_item.getData()[0] is not None and len(panel.metric_item.getData()[0]),
               what="the first measurement plotted")
    wait_until(qtbot, panel.abort.isEnabled, what="the Abort button")
    qtbot.mouseClick(panel.abort, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: "AO aborted" in panel.status.text(), what=f"the abort ({panel.status.text()})")
    run = window.model.run_status()
    with h5py.File(run.path, "r") as h5:
        metric = h5["results/metric"][()]
    done = int(np.isfinite(metric).sum())
    assert 1 <= done < metric.size and np.array_equal(panel.metric_item.getData()[1], metric[:done])
    assert len(panel.bars.opts["x"]) == 0 and panel.mask_file is None and "none saved" in panel.saved.text()
    assert not run.path.with_suffix(".correction.json").exists()
    wait_until(qtbot, lambda: window.model.readbacks().laser.emission is False, what="the laser off")

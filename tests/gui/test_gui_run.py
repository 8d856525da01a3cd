"""A whole phase-stepping run driven through the GUI on the simulated bench."""

from __future__ import annotations

import h5py
import numpy as np
from PyQt6 import QtCore

from app.storage import file_status
from tests.gui.conftest import wait_until


def test_phase_stepping_run_through_the_gui_start_pause_resume_finish(make_window, qtbot):
    window = make_window()
    panel = window.sequence
    panel.sequence.setCurrentText("phase-stepping")
    form = panel.form
    form.editor("steps").setText("2")  # refused: the form shows why, nothing starts
    qtbot.mouseClick(panel.start, QtCore.Qt.MouseButton.LeftButton)
    assert "greater than or equal to 3" in form._errors["steps"].text()
    qtbot.wait(200)
    assert window.model.run_status().state == "idle"

    form.editor("steps").setText("4")
    form.editor("frames_per_step").setText("30")
    form.editor("dark_frames").setText("8")
    qtbot.mouseClick(panel.start, QtCore.Qt.MouseButton.LeftButton)
    model = window.model
    wait_until(qtbot, lambda: model.run_status().state == "running" and model.run_status().frames_done > 5,
               what="the run to take frames")
    # the panel follows the model at its next refresh
    wait_until(qtbot, lambda: not panel.start.isEnabled() and panel.pause.isEnabled(), what="Pause, not Start")
    qtbot.mouseClick(panel.pause, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: model.run_status().state == "paused", what="the run to pause")
    frozen = model.run_status().frames_done
    qtbot.wait(400)
    assert model.run_status().frames_done == frozen  # paused means no frames
    assert panel.resume.isEnabled() and "PAUSED" in panel.state.text()
    qtbot.mouseClick(panel.resume, QtCore.Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: model.run_status().state == "done", timeout_s=180, what="the run to finish")
    status = model.run_status()
    assert status.result_status == "complete" and status.frames_done == status.frames_total == 8 + 2 * 4 * 30
    wait_until(qtbot, lambda: "DONE (complete)" in panel.state.text(), what="the panel to show the end")
    assert panel.progress.value() == 1000

    path = status.path
    assert path.parent == window.model.runs_dir and path.exists()
    with h5py.File(path, "r") as h5:
        assert file_status(h5) == "complete"
    wait_until(qtbot, lambda: path.name in window.file_label.text(), what="the status bar to name the file")
    assert window.file_label.toolTip() == str(path)

    # the maps panel shows the sample stage's maps from all its frames: they are the run's visibility
    # (the frame count comes from the GUI's own accumulator, the maps from the core's previews, which may
    # come a preview period later: wait for the core's last one)
    final = model.run_results()["visibility"]
    ok = np.isfinite(final) & (model.run_results()["mask"] > 0)

    def final_maps_shown() -> bool:
        shown = window.maps.vis.image.image
        return (window.maps.maps is not None and window.maps.maps.frames_per_step == 30 and shown is not None
                and shown.shape == final.shape == (64, 64) and np.abs(shown[ok] - final[ok]).max() < 1e-3)

    wait_until(qtbot, final_maps_shown, what="the final preview maps (the run's visibility)")
    assert window.maps.phase.image.image is not None and window.maps.sigma.image.image is not None
    assert "rad achieved vs 1.571 rad intended" in window.maps.meter.text()
    assert "sigma_phase" in window.maps.precision.text()
    assert window.live.displayed_frames > 0 and "ROI" in window.live.stats.text()

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
    wait_until(qtbot, lambda: panel.resume.isEnabled() and "PAUSED" in panel.state.text(), what="Resume, PAUSED")
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
    # (the core's last preview may come a preview period after the run's end: wait for it)
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


def test_gui_runs_are_named_as_qiup_run_names_them_and_a_start_refused_leaves_no_file(make_window, qtbot, monkeypatch):
    from app.storage import creation

    monkeypatch.setattr(creation.time, "strftime", lambda fmt, *a: "20261201-120000")
    window = make_window(realtime=False)
    model = window.model
    runs = model.runs_dir
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "20261201-120000-phase-stepping.h5").write_bytes(b"another process's run of this second")
    params = {"steps": 4, "frames_per_step": 3, "dark_frames": 2}

    claim = model.bench.ownership.claim("a script's run")  # the bench is taken: the start is refused
    model.start_run("phase-stepping", params)
    wait_until(qtbot, lambda: any("in use by a script's run" in m.text for m in model.messages_after(0)),
               what="the refusal")
    assert sorted(p.name for p in runs.iterdir()) == ["20261201-120000-phase-stepping.h5"]  # no name left taken
    claim.release()

    model.start_run("phase-stepping", params)
    wait_until(qtbot, lambda: model.run_status().state == "done", timeout_s=120, what="the run's end")
    status = model.run_status()
    assert status.result_status == "complete"
    assert status.path == runs / "20261201-120000-phase-stepping-1.h5"  # the next free name, as qiup run takes
    with h5py.File(status.path, "r") as h5:
        assert file_status(h5) == "complete"

"""The results view and the runs browser against run files made on the simulated bench: the maps shown are
the file's arrays (h5py), at the pixel size the config implies; delay-scan slices, projection and sections;
PNG/TIFF export read back; files being written, aborted, crashed or not run files at all."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pyqtgraph as pg
import pytest
import tifffile
from PyQt6 import QtCore, QtGui

from app.bench import open_bench
from app.engine import Runner
from app.gui.map_style import PHASE_CMAP
from app.gui.results_view import COMPLEX, PROJECTION, SECTION, SLICE, ResultsView
from app.gui.run_files import FileWorker
from app.gui.runs_browser import RunsBrowser
from tests.gui.conftest import gui_config, wait_until
from tests.helpers import ROOT
from tests.scale_fixtures import expected_pixel_size_um, loaded, scaled_config
from tests.test_storage_crash import CHILD as KILLED_CHILD

OME = "{http://www.openmicroscopy.org/Schemas/OME/2016-06}"
DELAYS_UM = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A phase-stepping run (phase bump) and a delay scan (three layers), pixel size known from the config."""
    tmp = tmp_path_factory.mktemp("results")
    out = {}
    for sample, sequence, params in (
            ("phase-bump", "phase-stepping", {"frames_per_step": 2, "dark_frames": 2}),
            ("three-layer", "delay-scan", {"delays_um": DELAYS_UM, "frames_per_step": 1, "dark_frames": 1})):
        folder = tmp / sequence
        folder.mkdir()
        config = scaled_config(folder, pitch_um=6.5, sample=sample)
        with open_bench(loaded(config)) as bench:
            result = Runner(bench).run(sequence, params, path=folder / f"{sequence}.h5")
        assert result.status == "complete"
        out[sequence] = (result.path, expected_pixel_size_um(config))
    return out


@pytest.fixture
def views(qtbot, tmp_path):
    """(results view, runs browser listing ``tmp_path/runs``) sharing one file worker."""
    worker = FileWorker()
    results = ResultsView(worker)
    browser = RunsBrowser(tmp_path / "runs", worker, on_open=results.show_file)
    for w in (results, browser):
        qtbot.addWidget(w)
        w.resize(900, 800)
        w.show()
    yield results, browser
    worker.close()


def truth(path: Path, swmr: bool = False) -> dict[str, np.ndarray]:
    """Every result of a run file, read with h5py (the ground truth for what is shown); ``swmr`` for a file
    left open for writing by a killed process."""
    with h5py.File(path, "r", swmr=swmr) as h5:
        return {name: d[()] for name, d in h5["results"].items()}


def open_in(qtbot, browser, results, path: Path) -> None:
    browser.open_path(path)
    wait_until(qtbot, lambda: results.opened is not None and results.opened.path == path, what=f"{path.name} opened")


def show(qtbot, results, key, mode=None, index=None):
    results.select(key, mode, index)
    wanted_mode = "map" if mode is None else mode

    def ready():
        s = results.shown
        return results._job is None and s is not None and s.key == key and s.mode == wanted_mode and (
            index is None or s.index == index)
    wait_until(qtbot, ready, what=f"{key} {mode or ''} shown")
    return results.shown


def image_rect(results):
    return results.image.mapRectToView(results.image.boundingRect())


# ------------------------------------------------------------------------------------ maps
def test_every_map_of_a_phase_stepping_run_is_the_files_array_on_axes_in_um(qtbot, views, runs):
    results, browser = views
    path, pixel_um = runs["phase-stepping"]
    open_in(qtbot, browser, results, path)
    files = truth(path)
    maps = sorted(name for name, a in files.items() if a.ndim == 2)
    offered = [results.choice.itemData(i) for i in range(results.choice.count())]
    assert sorted(k for k in offered if k != COMPLEX) == maps and COMPLEX in offered
    for name in maps:
        shown = show(qtbot, results, name)
        np.testing.assert_array_equal(shown.data, files[name].astype(np.float32))  # NaN where the file has NaN
        rect = image_rect(results)
        assert rect.width() == pytest.approx(32 * pixel_um) and rect.height() == pytest.approx(32 * pixel_um)
        assert results.plot.getAxis("bottom").labelText == "x (um on the sample)"
        assert results.plot.getAxis("left").labelText == "y (um on the sample)"
    shown = show(qtbot, results, "phase")
    assert shown.cmap == PHASE_CMAP and shown.levels == (-np.pi, np.pi)
    ends = pg.colormap.get(PHASE_CMAP).map([0.0, 1.0], mode="byte")
    assert np.abs(ends[0].astype(int) - ends[1].astype(int)).max() <= 3  # cyclic: -pi and +pi look the same
    assert results.bar.axis.labelText == "phase (rad)"
    assert "um on the sample" in browser.summary.toPlainText() or "pixel size" in browser.summary.toPlainText()


def test_complex_view_hue_is_phase_and_brightness_is_visibility(qtbot, views, runs):
    results, browser = views
    path, _ = runs["phase-stepping"]
    open_in(qtbot, browser, results, path)
    files = truth(path)
    rgb = show(qtbot, results, COMPLEX).data
    vis, phase = files["visibility"].astype(np.float64), files["phase"].astype(np.float64)
    ok = np.isfinite(vis) & np.isfinite(phase)
    top = np.percentile(vis[ok], 99)
    lut = pg.colormap.get(PHASE_CMAP).getLookupTable(nPts=256, alpha=False).astype(np.float64)
    hue = lut[np.clip(((phase[ok] + np.pi) / (2 * np.pi) * 255).astype(int), 0, 255)]
    expected = hue * np.clip(vis[ok] / top, 0, 1)[:, None]
    assert rgb.shape == (32, 32, 3) and np.abs(rgb[ok].astype(np.float64) - expected).max() <= 1.0
    assert "hue = phase" in results.plot.titleLabel.text


def test_line_profile_reads_the_map_under_the_line_in_um(qtbot, views, runs):
    results, browser = views
    path, pixel_um = runs["phase-stepping"]
    open_in(qtbot, browser, results, path)
    show(qtbot, results, "phase")
    first, last = results.line.getHandles()
    results.line.movePoint(first, QtCore.QPointF(2.5 * pixel_um, 10.5 * pixel_um))  # centre of pixel (x 2, y 10)
    results.line.movePoint(last, QtCore.QPointF(20.5 * pixel_um, 10.5 * pixel_um))
    distance_um, values = results.line_profile()
    np.testing.assert_array_equal(values, truth(path)["phase"][10, 2:21].astype(np.float32))
    np.testing.assert_allclose(distance_um, np.arange(19) * pixel_um)
    curve_x, _ = results.profile_curve.getData()
    np.testing.assert_allclose(curve_x, distance_um)
    assert results.profile.getAxis("bottom").labelText == "distance along the line (um)"
    assert results.profile.getAxis("left").labelText == "phase (rad)"


def test_delay_scan_slices_projection_sections_and_depth_map(qtbot, views, runs):
    results, browser = views
    path, pixel_um = runs["delay-scan"]
    open_in(qtbot, browser, results, path)
    files = truth(path)
    volume = files["volume"]
    assert volume.shape == (len(DELAYS_UM), 32, 32) and np.isfinite(volume).all()
    np.testing.assert_array_equal(files["delays_um"], DELAYS_UM)

    depth = show(qtbot, results, "depth_um")
    np.testing.assert_array_equal(depth.data, files["depth_um"])
    assert results.bar.axis.labelText == "depth (um)"
    for k in (0, 4, 8):
        shown = show(qtbot, results, "volume", SLICE, k)
        np.testing.assert_array_equal(shown.data, volume[k])
        assert f"delay {DELAYS_UM[k]:g} um (plane {k + 1} of 9)" in results.plot.titleLabel.text
    shown = show(qtbot, results, "volume", PROJECTION)
    assert shown.data.shape == (32, 32)
    np.testing.assert_array_equal(shown.data, np.max(volume, axis=0))
    assert image_rect(results).width() == pytest.approx(32 * pixel_um)

    shown = show(qtbot, results, "volume", SECTION, 13)
    assert shown.data.shape == (9, 32)
    np.testing.assert_array_equal(shown.data, volume[:, 13, :])
    rect = image_rect(results)  # x in um on the sample, delay in um of stage travel, one row per delay
    assert (rect.left(), rect.width()) == (0.0, pytest.approx(32 * pixel_um))
    assert (rect.top(), rect.height()) == (pytest.approx(5.0), pytest.approx(90.0))
    assert results.plot.getAxis("left").labelText == "delay (um of delay-stage travel)"
    results.column.setValue(20.5 * pixel_um)  # the vertical line over column 20: the A-scan there
    delay_um, envelope = results.line_profile()
    np.testing.assert_allclose(delay_um, DELAYS_UM)
    np.testing.assert_array_equal(envelope, volume[:, 13, 20])
    assert results.profile.getAxis("bottom").labelText == "delay (um of delay-stage travel)"
    np.testing.assert_array_equal(results.profile_curve.getData()[1], volume[:, 13, 20])

    phase = show(qtbot, results, "field_phase", SLICE, 3)
    np.testing.assert_array_equal(phase.data, files["field_phase"][3])
    assert phase.cmap == PHASE_CMAP


# ------------------------------------------------------------------------------------ export
def _read_ome(path: Path):
    with tifffile.TiffFile(path) as tif:
        data, root = tif.series[0].asarray(), ET.fromstring(tif.ome_metadata)
    return data, root.find(f"{OME}Image").find(f"{OME}Pixels")


def test_tiff_export_holds_the_displayed_map_with_its_pixel_size(qtbot, views, runs, tmp_path):
    results, browser = views
    path, pixel_um = runs["delay-scan"]
    open_in(qtbot, browser, results, path)
    files = truth(path)
    for key, mode, index, expected in (("depth_um", None, None, files["depth_um"]),
                                       ("volume", SLICE, 6, files["volume"][6]),
                                       ("volume", PROJECTION, None, files["volume"].max(axis=0))):
        show(qtbot, results, key, mode, index)
        target = tmp_path / f"{key}-{mode}.ome.tif"
        job = results.export_tiff(target)
        wait_until(qtbot, lambda j=job: j.done, what="the TIFF export")
        assert job.error is None, job.error
        data, pixels = _read_ome(target)
        assert data.dtype == np.float32 and data.shape == (32, 32)
        np.testing.assert_array_equal(data, expected.astype(np.float32))
        assert float(pixels.get("PhysicalSizeX")) == pytest.approx(pixel_um, rel=1e-12)
        assert float(pixels.get("PhysicalSizeY")) == pytest.approx(pixel_um, rel=1e-12)
        assert pixels.get("PhysicalSizeXUnit") == "\u00b5m"
    show(qtbot, results, "volume", SECTION, 3)
    assert results.export_tiff(tmp_path / "section.ome.tif") is None  # mixed axes: refused, nothing written
    assert "section mixes x and delay" in results.note.text() and not (tmp_path / "section.ome.tif").exists()


def test_png_export_is_the_map_as_displayed_in_its_colour_map(qtbot, views, runs, tmp_path):
    results, browser = views
    path, _ = runs["phase-stepping"]
    open_in(qtbot, browser, results, path)
    shown = show(qtbot, results, "visibility")
    target = results.export_png(tmp_path / "vis.png", width_px=1400)
    image = QtGui.QImage(str(target)).convertToFormat(QtGui.QImage.Format.Format_RGB888)
    assert image.width() == 1400
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    png = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())[:, :1400 * 3]
    png = png.reshape(image.height(), 1400, 3)
    # where each map pixel's centre lands in the PNG: the exporter scales the layout's scene rect
    layout = results.graphics.ci.sceneBoundingRect()
    scale = 1400 / layout.width()
    area = results.image.sceneBoundingRect()
    h, w = shown.data.shape
    cols = ((area.left() + (np.arange(w) + 0.5) * area.width() / w - layout.left()) * scale).astype(int)
    rows = ((area.top() + (np.arange(h) + 0.5) * area.height() / h - layout.top()) * scale).astype(int)
    seen = png[rows[:, None], cols[None, :]].astype(int)
    lo, hi = shown.levels
    fraction = np.clip((shown.data - lo) / (hi - lo), 0, 1)
    expected = pg.colormap.get(shown.cmap).map(fraction.ravel(), mode="byte")[:, :3].reshape(h, w, 3).astype(int)
    ok = np.isfinite(shown.data)
    assert ok.sum() > 0.9 * ok.size
    assert np.median(np.abs(seen[ok] - expected[ok])) <= 4 and np.percentile(np.abs(seen[ok] - expected[ok]), 95) <= 16


# ------------------------------------------------------------------------------------ files in every state
def test_a_file_being_written_opens_read_only_updates_and_the_run_completes(qtbot, views, tmp_path):
    results, browser = views
    config = gui_config(tmp_path)  # real time: 10 ms frames, the run lasts a few seconds
    path = tmp_path / "runs" / "live.h5"
    path.parent.mkdir()
    with open_bench(loaded(config)) as bench:
        runner = Runner(bench)
        frames = []
        runner.events.progress.connect(lambda p: frames.append(p.frames_done))
        runner.start("phase-stepping", {"frames_per_step": 60, "dark_frames": 4}, path=path)
        wait_until(qtbot, lambda: frames and frames[-1] > 20, what="the run to commit frames")
        browser.open_path(path)
        wait_until(qtbot, lambda: browser.opened is not None, what="the file being written to open")
        first = browser.opened
        assert first.status == "running" and first.writer_alive and runner.busy
        assert "running: being written by this qiup process" in browser.status.text()
        assert 0 < first.stored.frames_done < first.stored.total_frames == 4 + 2 * 4 * 60
        assert results.current_key() == "dark"  # computed after the dark stage: shown while the run goes on
        wait_until(qtbot, lambda: results.shown is not None, what="the dark map of the running run")
        results.select("visibility")
        assert results.note.text() == "visibility: not computed yet: a run writes its results when it ends"
        assert results.shown is None
        wait_until(qtbot, lambda: browser.opened.stored.frames_done > first.stored.frames_done,
                   what="the live file to be read again with more frames")
        result = runner.wait(60)
    assert result.status == "complete" and result.error is None
    wait_until(qtbot, lambda: browser.opened.status == "complete" and results.shown is not None, timeout_s=20,
               what="the finished run's results")
    assert browser.status.text().startswith("complete: 484/484 frames")
    np.testing.assert_array_equal(results.shown.data, truth(path)[results.shown.key].astype(np.float32))
    with h5py.File(path, "r") as h5:
        assert h5["status"][()].decode() == "complete"


WRITER_CHILD = textwrap.dedent("""
    import sys
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine import Runner
    with open_bench(load_config(sys.argv[1])) as bench:
        result = Runner(bench).run("phase-stepping", {"frames_per_step": 50, "dark_frames": 4}, path=sys.argv[2])
    print(result.status)
""")


def test_another_process_writing_the_file_is_not_disturbed(qtbot, views, tmp_path):
    results, browser = views
    path = tmp_path / "runs" / "other.h5"
    path.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", WRITER_CHILD, str(gui_config(tmp_path)), str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(qtbot, lambda: path.exists() and path.stat().st_size > 0, what="the child's run file")
        seen = []
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:  # read it again and again while written
            browser.open_path(path)
            wait_until(qtbot, lambda: browser._open_job is None, what="a read")
            if browser.opened is not None:
                seen.append((browser.opened.status, browser.opened.writer_alive, browser.opened.stored.frames_done))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and out.strip() == "complete", err
    assert any(status == "running" and alive and frames > 0 for status, alive, frames in seen), seen
    browser.open_path(path)
    wait_until(qtbot, lambda: browser.opened.status == "complete", what="the finished file")


def test_a_crashed_run_says_its_writer_is_gone_and_what_it_holds(qtbot, views, tmp_path):
    results, browser = views
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    path = runs_dir / "killed.h5"
    params = {"frames_per_step": 6, "cycles": 3, "dark_frames": 2}
    proc = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(gui_config(tmp_path, realtime=False)), str(path),
                           json.dumps(params), "23"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    browser.refresh_list()
    wait_until(qtbot, lambda: browser.recent.topLevelItemCount() == 1, what="the runs folder listed")
    assert browser.recent.topLevelItem(0).text(1) == "running, writer gone"
    open_in(qtbot, browser, results, path)
    run = browser.opened.stored
    with h5py.File(path, "r", swmr=True) as h5:
        assert h5["status"][()].decode() == "running"  # what the file says; the browser must not hide it
        total = int(h5.attrs["total_frames"])
    assert 0 < run.frames_done < 23 and run.total_frames == total
    text = browser.status.text()
    assert text.startswith(f"running, but its writer (pid {run.writer_pid}")
    assert "crashed or was killed" in text and f"holds {run.frames_done}/{total} frames" in text
    assert "qiup resume" in text
    wait_until(qtbot, lambda: results.shown is not None, what="the dark map it holds")
    assert results.shown.key == "dark"  # the dark stage ended before the kill: its map was written
    np.testing.assert_array_equal(results.shown.data, truth(path, swmr=True)["dark"].astype(np.float32))
    results.select("visibility")
    assert results.note.text().startswith("visibility: never computed: the run's process stopped (crashed or was "
                                          "killed) before the end") and results.shown is None
    table = {browser.parameters.item(r, 0).text(): browser.parameters.item(r, 1).text()
             for r in range(browser.parameters.rowCount())}
    assert (table["frames_per_step"], table["cycles"], table["dark_frames"]) == ("6", "3", "2")
    assert browser.devices.topLevelItemCount() == 6


def test_an_aborted_run_says_aborted_with_its_reason_and_log(qtbot, views, tmp_path):
    results, browser = views
    path = tmp_path / "runs" / "aborted.h5"
    path.parent.mkdir()
    with open_bench(loaded(gui_config(tmp_path))) as bench:
        runner = Runner(bench)
        frames = []
        runner.events.progress.connect(lambda p: frames.append(p.frames_done))
        runner.start("phase-stepping", {"frames_per_step": 60, "dark_frames": 4}, path=path)
        wait_until(qtbot, lambda: frames and frames[-1] > 10, what="frames")
        runner.abort("stopped by the test")
        result = runner.wait(30)
    assert result.status == "aborted"
    open_in(qtbot, browser, results, path)
    assert browser.status.text().startswith("aborted")
    assert f"{browser.opened.stored.frames_done}/484 frames" in browser.status.text()
    assert "stopped by the test" in browser.log.toPlainText()
    computed = {k for k, r in browser.opened.results.items() if r.written_bytes}
    if results.current_key() not in computed:
        assert "not computed (the run ended 'aborted' before computing it)" in results.note.text()


def test_a_file_that_is_not_a_run_file_is_refused_in_one_line(qtbot, views, tmp_path):
    _results, browser = views
    bad = tmp_path / "notes.h5"
    bad.write_text("not hdf5")
    browser.open_path(bad)
    wait_until(qtbot, lambda: browser.status.text().startswith("cannot open"), what="the refusal")
    text = browser.status.text()
    assert "\n" not in text and str(bad) in text and "not an HDF5 run file" in text
    assert browser.opened is None


def test_the_main_window_shows_the_results_of_its_finished_run(make_window, qtbot):
    window = make_window(realtime=False)
    assert window.open_run_action.shortcut() == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open)
    window.model.start_run("phase-stepping", {"frames_per_step": 2, "dark_frames": 2})
    wait_until(qtbot, lambda: window.model.run_status().state == "done", timeout_s=120, what="the run to finish")
    path = window.model.run_status().path
    wait_until(qtbot, lambda: window.results.opened is not None and window.results.opened.path == path
               and window.results.shown is not None, what="its results in the results view")
    shown = window.results.shown
    np.testing.assert_array_equal(shown.data, truth(path)[shown.key].astype(np.float32))
    assert window.runs.status.text().startswith("complete")
    wait_until(qtbot, lambda: window.runs.recent.topLevelItemCount() == 1, what="the runs list")
    assert window.runs.recent.topLevelItem(0).text(0) == path.name


def test_a_reprocess_results_file_shows_its_maps_at_its_pixel_size(qtbot, views, runs, tmp_path):
    from app.cli import main

    results, browser = views
    source, pixel_um = runs["phase-stepping"]
    out = tmp_path / "re.h5"
    assert main(["reprocess", str(source), "--figures", "none", "--out", str(out)]) == 0
    open_in(qtbot, browser, results, out)
    assert browser.status.text() == f"results file of qiup reprocess (source {source})"
    shown = show(qtbot, results, "phase_unwrapped")
    np.testing.assert_array_equal(shown.data, truth(out)["phase_unwrapped"].astype(np.float32))
    assert image_rect(results).width() == pytest.approx(32 * pixel_um)


def test_no_run_file_is_opened_on_the_gui_thread(qtbot, views, runs, tmp_path, monkeypatch):
    import threading

    results, browser = views
    path, _ = runs["delay-scan"]
    opened_on = []
    original = h5py.File.__init__

    def recording(self, *args, **kwargs):
        opened_on.append(threading.current_thread().name)
        original(self, *args, **kwargs)
    monkeypatch.setattr(h5py.File, "__init__", recording)
    open_in(qtbot, browser, results, path)
    for key, mode, index in (("depth_um", None, None), ("volume", SLICE, 2), ("volume", PROJECTION, None),
                             ("volume", SECTION, 5), ("field_phase", SLICE, 1)):
        show(qtbot, results, key, mode, index)
    job = results.export_tiff(tmp_path / "depth.ome.tif")
    wait_until(qtbot, lambda: job.done, what="the export")
    browser.refresh_list()
    wait_until(qtbot, lambda: browser._list_job is None, what="the runs list")
    monkeypatch.undo()
    assert opened_on and set(opened_on) == {"qiup-gui-files"}


def test_the_profile_line_stays_put_from_one_map_to_the_next(qtbot, views, runs):
    results, browser = views
    path, pixel_um = runs["phase-stepping"]
    open_in(qtbot, browser, results, path)
    show(qtbot, results, "phase")
    first, last = results.line.getHandles()
    results.line.movePoint(first, QtCore.QPointF(4.5 * pixel_um, 3.5 * pixel_um))
    results.line.movePoint(last, QtCore.QPointF(4.5 * pixel_um, 28.5 * pixel_um))  # down column 4
    show(qtbot, results, "amplitude")
    _, values = results.line_profile()
    np.testing.assert_array_equal(values, truth(path)["amplitude"][3:29, 4].astype(np.float32))

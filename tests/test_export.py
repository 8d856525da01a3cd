"""OME-TIFF export: the files read back (tifffile + the OME-XML) with the right physical sizes and units,
shape, axes and exact data; delay scans as Z stacks spaced by the delay step; one-line refusals."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from app.bench import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import read_run_file
from app.storage.export import ExportError, MapToExport, export_maps, select_maps
from tests.helpers import ROOT
from tests.scale_fixtures import expected_pixel_size_um, loaded, pass_pixel_size_from_runner, scaled_config

OME = "{http://www.openmicroscopy.org/Schemas/OME/2016-06}"


def read_ome(path):
    """(data, axes, Pixels element, Image element, {annotation key: value}) of an OME-TIFF."""
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        root = ET.fromstring(tif.ome_metadata)
        data, axes = tif.series[0].asarray(), tif.series[0].axes
    image = root.find(f"{OME}Image")
    pixels = image.find(f"{OME}Pixels")
    annotations = {m.get("K"): m.text for m in root.iter(f"{OME}M")}
    return data, axes, pixels, image, annotations


def test_a_map_round_trips_with_its_pixel_size_unit_and_exact_float32_data(tmp_path):
    rng = np.random.default_rng(3)
    phase = rng.uniform(-np.pi, np.pi, (20, 30)).astype(np.float32)
    phase[3, 4] = np.nan
    [written] = export_maps([MapToExport("phase", phase, "YX", "rad", "arg t <relative> |T|", pixel_size_um=2.75)],
                            tmp_path, "run", source="run.h5")
    assert written.path == tmp_path / "run-phase.ome.tif" and written.warnings == ()
    data, axes, pixels, image, notes = read_ome(written.path)
    assert axes == "YX" and data.shape == (20, 30) and data.dtype == np.float32
    np.testing.assert_array_equal(data, phase)  # bit for bit, NaN included
    assert float(pixels.get("PhysicalSizeX")) == 2.75 and float(pixels.get("PhysicalSizeY")) == 2.75
    assert pixels.get("PhysicalSizeXUnit") == pixels.get("PhysicalSizeYUnit") == "\u00b5m"
    assert (pixels.get("SizeX"), pixels.get("SizeY"), pixels.get("Type")) == ("30", "20", "float")
    assert image.get("Name") == "phase [rad]"
    assert notes["qiup.unit"] == "rad" and notes["qiup.description"] == "arg t <relative> |T|"
    with tifffile.TiffFile(written.path) as tif:  # plain-TIFF readers: 1 / 2.75 um in pixels per cm
        x_res = tif.pages[0].tags["XResolution"].value
        assert x_res[0] / x_res[1] == pytest.approx(1e4 / 2.75, rel=1e-6)


def test_an_unknown_pixel_size_is_left_out_with_a_warning(tmp_path):
    [written] = export_maps([MapToExport("visibility", np.ones((4, 5)), "YX", "1")], tmp_path, "r", source="r.h5")
    _, _, pixels, _, _ = read_ome(written.path)
    assert pixels.get("PhysicalSizeX") is None and pixels.get("PhysicalSizeY") is None
    assert written.warnings == ("visibility: object pixel size unknown; written in pixels (no PhysicalSizeX/Y)",)


def test_a_time_series_is_a_t_stack_with_its_interval(tmp_path):
    stack = np.arange(3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5) / 7
    [written] = export_maps([MapToExport("amplitude", stack, "TYX", "1", pixel_size_um=1.0,
                                         time_points_s=(0.5, 2.0, 3.5))], tmp_path, "ts", source="ts.h5")
    data, axes, pixels, _, _ = read_ome(written.path)
    assert axes == "TYX" and pixels.get("SizeT") == "3" and pixels.get("SizeZ") == "1"
    np.testing.assert_array_equal(data, stack.astype(np.float32))
    assert float(pixels.get("TimeIncrement")) == pytest.approx(1.5) and pixels.get("TimeIncrementUnit") == "s"
    assert [float(p.get("DeltaT")) for p in pixels.iter(f"{OME}Plane")] == [0.5, 2.0, 3.5]


def test_a_simulated_delay_scan_exports_z_stacks_spaced_by_the_delay_step(tmp_path, monkeypatch, capsys):
    config = scaled_config(tmp_path, binning=1, pitch_um=6.5)
    with open_bench(loaded(config)) as bench:
        pass_pixel_size_from_runner(monkeypatch, bench)
        result = Runner(bench).run("delay-scan", {"delays_um": [30, 37.5, 45, 52.5], "frames_per_step": 1,
                                                  "dark_frames": 1}, path=tmp_path / "scan.h5")
    assert result.status == "complete"
    pixel_um = expected_pixel_size_um(config)  # 6.5 um / 0.7839 = 8.29 um
    out = tmp_path / "tiffs"
    assert main(["export", str(result.path), "--maps", "volume,field_phase,depth_um", "--to", str(out)]) == 0
    run = read_run_file(result.path)
    for name, unit in (("volume", "ADU"), ("field_phase", "rad")):
        data, axes, pixels, _, notes = read_ome(out / f"scan-{name}.ome.tif")
        assert axes == "ZYX" and data.shape == (4, 32, 32) and np.isfinite(data).all()
        np.testing.assert_array_equal(data, run[name].astype(np.float32))
        assert float(pixels.get("PhysicalSizeZ")) == pytest.approx(7.5) and pixels.get("PhysicalSizeZUnit") == "\u00b5m"
        assert float(pixels.get("PhysicalSizeX")) == pytest.approx(pixel_um, rel=1e-12)
        assert float(pixels.get("PhysicalSizeY")) == pytest.approx(pixel_um, rel=1e-12)
        assert [float(p.get("PositionZ")) for p in pixels.iter(f"{OME}Plane")] == [30, 37.5, 45, 52.5]
        assert notes["qiup.unit"] == unit
    data, axes, pixels, _, notes = read_ome(out / "scan-depth_um.ome.tif")
    assert axes == "YX" and notes["qiup.unit"] == "um" and pixels.get("PhysicalSizeZ") is None

    capsys.readouterr()
    assert main(["export", str(result.path), "--maps", "delays_um", "--to", str(out)]) == 2
    assert "delays_um (4,) not an image; maps: " in capsys.readouterr().err
    # qiup info reads an export back: the same map, unit, scale and Z spacing
    assert main(["info", str(out / "scan-volume.ome.tif")]) == 0
    text = capsys.readouterr().out
    assert f"OME-TIFF exported by qiup from {result.path}" in text and "map        volume [ADU]" in text
    assert "image      ZYX (4, 32, 32) float32" in text and "Z          4 planes, step 7.5 um" in text
    assert f"pixel size {pixel_um:.4g} um on the object; field of view {32 * pixel_um:.3g} um" in text


@pytest.fixture
def phase_stepping_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ps")
    with open_bench(loaded(scaled_config(tmp_path))) as bench:
        result = Runner(bench).run("phase-stepping", {"frames_per_step": 1, "dark_frames": 1},
                                   path=tmp_path / "ps.h5")
    return result.path


def _one_line(capsys, *fragments):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for fragment in fragments:
        assert fragment in err[0]
    return err[0]


def test_a_missing_map_is_refused_in_one_line_naming_the_available_ones(phase_stepping_run, tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["export", str(phase_stepping_run), "--maps", "phase,horse", "--to", str(out)]) == 2
    line = _one_line(capsys, "no map horse", "available: ", "visibility", "phase_unwrapped", "mask")
    assert line.startswith("qiup: error: ")
    assert not out.exists()  # nothing written, not even the maps that exist
    assert main(["export", str(phase_stepping_run), "--maps", "phase,hot_pixels", "--to", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ps-hot_pixels.ome.tif", "ps-phase.ome.tif"]


def test_an_existing_output_is_never_overwritten_without_force(phase_stepping_run, tmp_path, capsys):
    out = tmp_path / "x"
    out.mkdir()
    taken = out / "ps-amplitude.ome.tif"
    taken.write_bytes(b"someone's file")
    assert main(["export", str(phase_stepping_run), "--maps", "visibility,amplitude", "--to", str(out)]) == 2
    _one_line(capsys, str(taken), "exists; not overwritten", "--force")
    assert taken.read_bytes() == b"someone's file" and not (out / "ps-visibility.ome.tif").exists()
    assert main(["export", str(phase_stepping_run), "--maps", "visibility,amplitude", "--to", str(out),
                 "--force"]) == 0
    data, _, pixels, _, _ = read_ome(taken)
    np.testing.assert_array_equal(data, read_run_file(phase_stepping_run)["amplitude"])
    assert capsys.readouterr().err.count("object pixel size unknown") == 0  # the runner recorded it


def test_an_unreadable_file_is_refused_in_one_line_from_the_shell(tmp_path):
    bad, bad_tiff = tmp_path / "notes.h5", tmp_path / "notes.tif"
    bad.write_text("not hdf5")
    bad_tiff.write_text("not a tiff")
    for command, path in (("export", bad), ("export", tmp_path / "absent.h5"), ("info", bad_tiff)):
        extra = ["--to", str(tmp_path / "o")] if command == "export" else []
        proc = subprocess.run([sys.executable, "-m", "app", command, str(path), *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], proc.stderr


def test_every_computed_image_of_a_reprocess_results_file_is_exported(phase_stepping_run, tmp_path, capsys):
    results = tmp_path / "re.h5"
    recorded = read_run_file(phase_stepping_run).object_pixel_size_um  # the run recorded its pixel size
    assert main(["reprocess", str(phase_stepping_run), "--out", str(results), "--figures", "none"]) == 0
    assert main(["export", str(results), "--to", str(tmp_path / "o")]) == 0
    files = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert "re-visibility.ome.tif" in files and "re-mask.ome.tif" in files and "re-phase.ome.tif" in files
    data, axes, pixels, _, notes = read_ome(tmp_path / "o" / "re-mask.ome.tif")
    assert data.dtype == np.uint8 and axes == "YX"
    assert float(pixels.get("PhysicalSizeX")) == pytest.approx(recorded, rel=1e-6)


class _Result:
    """A stored result as the reader gives it (shape, unit, computed or not), for files in odd states."""

    def __init__(self, data, unit="1", written=True):
        self.data, self.shape, self.unit, self.description = np.asarray(data), np.shape(data), unit, ""
        self.written_bytes, self.pixel_size_um = (self.data.nbytes if written else 0), None

    def __array__(self, dtype=None, copy=None):
        assert self.data.ndim < 3, "a stack is read plane by plane, never whole"
        return self.data

    def __getitem__(self, key):
        return self.data[key]

    @property
    def dtype(self):
        return self.data.dtype


def _stage(count, n_steps=4):
    return SimpleNamespace(counts=np.full(n_steps, count), frames_per_step=1, n_steps=n_steps)


def test_an_interrupted_time_series_exports_only_its_completed_repeats(tmp_path):
    amplitude = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    amplitude[2] = np.nan  # repeat 2 was interrupted: never computed
    run = SimpleNamespace(path=tmp_path / "ts.h5", status="aborted", object_pixel_size_um=1.5,
                          stages={"dark": _stage(1, 1), "sample_0000": _stage(1), "sample_0001": _stage(1),
                                  "sample_0002": _stage(0)},
                          results={"amplitude": _Result(amplitude), "start_time_s": _Result([0.0, 2.0, 4.0], "s"),
                                   "phase": _Result(np.full((3, 2, 2), np.nan), "rad", written=False),
                                   "mask": _Result(np.ones((2, 2), np.uint8), "bool", written=False)})
    maps, notes = select_maps(run, None)  # ``phase`` is not computed: listed, never read
    assert [m.name for m in maps] == ["amplitude"]
    assert notes == ["phase: not computed yet; not exported", "mask: not computed yet; not exported"]
    [written] = export_maps(maps, tmp_path, "ts", source="ts.h5")
    data, axes, pixels, _, _ = read_ome(written.path)
    assert axes == "TYX" and data.shape == (2, 2, 2) and np.isfinite(data).all()  # no NaN plane claimed
    assert float(pixels.get("TimeIncrement")) == 2.0 and float(pixels.get("PhysicalSizeX")) == 1.5
    with pytest.raises(ExportError, match="result phase is not computed yet"):
        select_maps(run, ["phase"])


def test_a_run_file_still_being_written_exports_what_is_computed(tmp_path, capsys):
    """A writer thread holds the file open (SWMR) and keeps logging while the export reads it."""
    import threading

    from app.engine.plan import Plan, PlanStage, ResultSpec, plan_to_json
    from app.storage import RunWriter

    shape = (6, 9)
    plan = Plan(sequence="phase-stepping", frame_shape=shape, laser_power_w=0.1, exposure_s=None,
                frame_timeout_s=1.0,
                stages=(PlanStage(label="sample", kind="sample", piezo_setpoints=(0.0,) * 4, frames_per_step=1, laser_on=True,
                              step_phases_rad=tuple(np.pi / 2 * np.arange(4))),),
                results=(ResultSpec("visibility", shape, "1"), ResultSpec("phase", shape, "rad")))
    writer = RunWriter.create(tmp_path / "live.h5", plan=plan, plan_json=plan_to_json(plan), config_text="",
                              config_path="test", identities={}, parameters={}, object_pixel_size_um=3.5)
    visibility = np.linspace(0, 1, 54, dtype=np.float32).reshape(shape)
    writer.write_result("visibility", visibility)
    stop = threading.Event()

    def keep_writing():
        while not stop.is_set():
            writer.log("info", "still running")

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        assert main(["export", str(tmp_path / "live.h5"), "--to", str(tmp_path / "o")]) == 0
    finally:
        stop.set()
        thread.join()
        writer.finish("aborted")
    assert "phase: not computed yet; not exported" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["live-visibility.ome.tif"]
    data, _, pixels, _, _ = read_ome(tmp_path / "o" / "live-visibility.ome.tif")
    np.testing.assert_array_equal(data, visibility)
    assert float(pixels.get("PhysicalSizeX")) == 3.5

"""The object-plane pixel size: pitch x binning / magnification on the simulated bench, the config key on a
real camera, stored in run files and reprocess results, printed by ``qiup info``."""

from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import tifffile

from app.bench import open_bench
from app.bench.scale import object_pixel_size_um
from app.cli import main
from app.config import ConfigError, parse_config_text
from app.config.devices import GenicamCameraConfig
from app.engine import Runner
from app.storage import read_run_file
from app.storage.reader import read_results_file
from app.pipeline.reconstruct import RunSums
from tests.helpers import sim_config_text
from tests.storage_fixtures import write_run_file
from tests.scale_fixtures import expected_pixel_size_um, loaded, pass_pixel_size_from_runner, scaled_config


@pytest.mark.parametrize("binning", [1, 2])
def test_simulated_pixel_size_is_pitch_times_binning_over_magnification(tmp_path, binning):
    config = scaled_config(tmp_path, binning=binning, pitch_um=5.0)
    # 5 um x b / (150 mm x 810 nm / (100 mm x 1550 nm)) = 6.3786 um x b
    assert expected_pixel_size_um(config) == pytest.approx(5.0 * binning * 100 * 1550 / (150 * 810))
    with open_bench(loaded(config)) as bench:
        assert bench.camera.binning() == binning
        assert object_pixel_size_um(bench) == pytest.approx(expected_pixel_size_um(config), rel=1e-12)


def _fake_bench(camera_section, binning):
    return SimpleNamespace(config=SimpleNamespace(settings=SimpleNamespace(camera=camera_section)), world=None,
                           camera=SimpleNamespace(binning=lambda: binning))


def test_a_real_camera_takes_the_config_key_times_its_binning_or_none():
    known = GenicamCameraConfig(backend="genicam", producer_path="x.cti", object_pixel_size_um=3.25)
    assert object_pixel_size_um(_fake_bench(known, 2)) == pytest.approx(6.5)
    unknown = GenicamCameraConfig(backend="genicam", producer_path="x.cti")
    assert object_pixel_size_um(_fake_bench(unknown, 1)) is None


def test_the_config_key_must_be_a_positive_length():
    text = sim_config_text(**{'[camera]\nbackend = "sim"': '[camera]\nbackend = "genicam"\nproducer_path = "x.cti"\n'
                                                          'object_pixel_size_um = -2.0'})
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("quantum_efficiency", "offset_adu", "dark_current", "prnu_rms")))
    with pytest.raises(ConfigError, match="object_pixel_size_um"):
        parse_config_text(text)


def test_pixel_size_is_in_the_run_file_the_reprocess_output_and_qiup_info(tmp_path, monkeypatch, capsys):
    config = scaled_config(tmp_path, binning=2, pitch_um=6.5)
    expected = expected_pixel_size_um(config)
    with open_bench(loaded(config)) as bench:
        pass_pixel_size_from_runner(monkeypatch, bench)
        result = Runner(bench).run("phase-stepping", {"frames_per_step": 1, "dark_frames": 1},
                                   path=tmp_path / "ps.h5")
    assert result.status == "complete"
    run = read_run_file(result.path)
    assert run.object_pixel_size_um == pytest.approx(expected, rel=1e-12)
    assert run.results["visibility"].pixel_size_um == pytest.approx(expected, rel=1e-12)
    with h5py.File(result.path, "r") as h5:
        assert h5.attrs["object_pixel_size_um"] == pytest.approx(expected, rel=1e-12)
        assert h5["results/phase"].attrs["pixel_size_um"] == pytest.approx(expected, rel=1e-12)
        assert h5["results/phase"].shape == (16, 16)  # 32 x 32 ROI, binning 2

    out = tmp_path / "re.h5"
    assert main(["reprocess", str(result.path), "--out", str(out)]) == 0
    res = read_results_file(out)
    assert res.object_pixel_size_um == pytest.approx(expected, rel=1e-12)
    assert res.results["amplitude"].pixel_size_um == pytest.approx(expected, rel=1e-12)

    capsys.readouterr()
    for path in (result.path, out):
        assert main(["info", str(path)]) == 0
        text = capsys.readouterr().out
        assert f"pixel size {expected:.4g} um on the object" in text
        assert f"field of view {16 * expected:.3g} um x {16 * expected:.3g} um (16 x 16 px)" in text


def test_a_run_file_without_a_pixel_size_says_so(tmp_path, capsys):
    sums = RunSums(sums=np.full((4, 6, 8), 500, np.uint32), counts=np.ones(4, np.int64), saturated=None)
    path = write_run_file(tmp_path / "old.h5", {"sample": sums}, config_text="")  # no pixel size given
    assert read_run_file(path).object_pixel_size_um is None
    with h5py.File(path, "r") as h5:
        assert np.isnan(h5.attrs["object_pixel_size_um"])  # stored as unknown, not as a number
    assert main(["info", str(path)]) == 0
    assert "pixel size unknown" in capsys.readouterr().out


def _tiffs(tmp_path):
    k = np.arange(4)[:, None, None]
    frames = (1000 + 400 * np.cos(np.pi / 2 * k + np.linspace(0, 3, 10 * 12).reshape(1, 10, 12))).astype(np.uint16)
    paths = tmp_path / "s.tif", tmp_path / "d.tif"
    tifffile.imwrite(paths[0], np.repeat(frames, 2, axis=0))
    tifffile.imwrite(paths[1], np.full((2, 10, 12), 100, np.uint16))
    return paths


def test_reprocess_of_tiffs_stores_the_given_pixel_size_and_info_shows_the_field_of_view(tmp_path, capsys):
    frames, dark = _tiffs(tmp_path)
    out = tmp_path / "r.h5"
    assert main(["reprocess", "--frames", str(frames), "--dark", str(dark), "--steps", "4",
                 "--pixel-size-um", "2.5", "--out", str(out)]) == 0
    with h5py.File(out, "r") as h5:
        assert h5.attrs["object_pixel_size_um"] == 2.5
        assert h5["results/visibility"].attrs["pixel_size_um"] == 2.5
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "results file of qiup reprocess" in text
    assert "pixel size 2.5 um on the object; field of view 30 um x 25 um (12 x 10 px)" in text
    assert "visibility" in text and "(10, 12)" in text


def test_reprocess_without_a_pixel_size_stores_unknown(tmp_path):
    frames, dark = _tiffs(tmp_path)
    out = tmp_path / "r.h5"
    assert main(["reprocess", "--frames", str(frames), "--dark", str(dark), "--steps", "4", "--out", str(out)]) == 0
    assert read_results_file(out).object_pixel_size_um is None


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_a_nonsense_pixel_size_option_is_refused_in_one_line(tmp_path, capsys, value):
    frames, dark = _tiffs(tmp_path)
    out = tmp_path / "r.h5"
    assert main(["reprocess", "--frames", str(frames), "--dark", str(dark), "--steps", "4",
                 f"--pixel-size-um={value}", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--pixel-size-um must be a positive number of um" in err[0]
    assert not out.exists()


def test_reprocess_refuses_a_pixel_size_that_contradicts_the_run_file(tmp_path, monkeypatch, capsys):
    config = scaled_config(tmp_path)
    with open_bench(loaded(config)) as bench:
        pass_pixel_size_from_runner(monkeypatch, bench)
        result = Runner(bench).run("phase-stepping", {"frames_per_step": 1, "dark_frames": 1},
                                   path=tmp_path / "ps.h5")
    out = tmp_path / "re.h5"
    assert main(["reprocess", str(result.path), "--pixel-size-um", "1.0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "records" in err[0] and "--pixel-size-um says 1" in err[0]
    assert not out.exists()

"""``qiup reprocess`` of TIFF stacks: streamed page by page in bounded memory, exact sums, figures."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile

from app.cli import main
from app.storage import tiff_stacks


def test_prefetch_reads_at_most_a_few_frames_ahead_of_the_consumer():
    produced, consumed = [], []

    def frames():
        for i in range(40):
            produced.append(i)
            yield np.full((2, 2), i, np.uint16)

    lead = []
    for frame in tiff_stacks._prefetched(frames(), depth=3):
        consumed.append(int(frame[0, 0]))
        lead.append(len(produced) - len(consumed))
    assert consumed == list(range(40))
    assert max(lead) <= 3 + 1  # the queue plus the one frame the reader holds while waiting for room


def test_prefetch_hands_reader_errors_to_the_consumer_and_stops_the_reader_early():
    started = threading.Event()

    def frames():
        started.set()
        yield np.zeros((2, 2), np.uint16)
        raise tiff_stacks.StackError("page 1 unreadable")

    it = tiff_stacks._prefetched(frames())
    assert next(it).shape == (2, 2)
    with pytest.raises(tiff_stacks.StackError, match="page 1 unreadable"):
        next(it)

    endless = tiff_stacks._prefetched(np.zeros((2, 2), np.uint16) for _ in iter(int, 1))
    next(endless)
    endless.close()  # must not hang: the reader notices and ends
    assert not any(t.name == "tiff-reader" and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_streamed_sums_are_exact_per_step_for_plain_and_compressed_pages(tmp_path, compression):
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 65536, (3 * 5, 24, 31), dtype=np.uint16)
    frames[3] = 65535  # a saturated frame
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:
        for frame in frames:
            tif.write(frame, compression=compression)
    runs = tiff_stacks.accumulate_stack(path, 3)
    truth = frames.astype(np.int64).reshape(3, 5, 24, 31).sum(axis=1)
    np.testing.assert_array_equal(runs.sums.astype(np.int64), truth)
    assert runs.counts.tolist() == [5, 5, 5] and runs.saturated.all()


def test_reprocess_writes_figures_in_the_formats_asked_for(tmp_path, capsys):
    paths = _stacks(tmp_path)
    out = tmp_path / "res.h5"
    assert main(["reprocess", "--frames", str(paths["sample"]), "--reference", str(paths["reference"]),
                 "--steps", "4", "--figures", "png,svg", "--out", str(out)]) == 0
    for name in ("overview", "visibility", "amplitude", "phase", "complex", "phase_unwrapped"):
        assert (tmp_path / f"res-{name}.png").stat().st_size > 5000
        assert (tmp_path / f"res-{name}.svg").exists()
    assert "res-overview.png" in capsys.readouterr().out


def test_reprocess_without_figures_and_with_a_bad_format(tmp_path, capsys):
    paths = _stacks(tmp_path)
    assert main(["reprocess", "--frames", str(paths["sample"]), "--steps", "4", "--figures", "none",
                 "--out", str(tmp_path / "a.h5")]) == 0
    assert not list(tmp_path.glob("a-*.png")) and (tmp_path / "a.h5").exists()
    assert main(["reprocess", "--frames", str(paths["sample"]), "--steps", "4", "--figures", "gif",
                 "--out", str(tmp_path / "b.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qiup: error: --figures: figure formats are png, pdf, svg (comma-separated) or none, got 'gif'"]
    assert not (tmp_path / "b.h5").exists()


def _stacks(folder, n=48):
    y, x = np.mgrid[0:n, 0:n]
    rng = np.random.default_rng(1)
    paths = {}
    for name, phase in (("reference", 0.0), ("sample", 1.2 * np.exp(-((x - n / 2) ** 2 + (y - n / 2) ** 2) / 80))):
        frames = [rng.poisson(500 * (1 + 0.6 * np.cos(2 * np.pi * k / 4 + 0.3 * x + phase))).astype(np.uint16)
                  for k in range(4) for _ in range(2)]
        paths[name] = folder / f"{name}.tif"
        tifffile.imwrite(paths[name], np.stack(frames))
    return paths


@pytest.mark.parametrize("figures", ["png", "none"])
def test_one_figure_process_lays_out_then_draws_the_maps_before_unwrapping_then_the_unwrapped_phase(
        tmp_path, monkeypatch, figures):
    from app.cli import figure_process

    started, jobs = [], []
    real_init, real_submit = figure_process.FigureWorker.__init__, figure_process.FigureWorker.submit

    def init(self, *args, **kwargs):
        started.append(self)
        real_init(self, *args, **kwargs)

    def submit(self, maps, units, **kwargs):
        jobs.append((sorted(maps), kwargs.get("shape"), kwargs["expect"]))
        real_submit(self, maps, units, **kwargs)

    monkeypatch.setattr(figure_process.FigureWorker, "__init__", init)
    monkeypatch.setattr(figure_process.FigureWorker, "submit", submit)
    paths = _stacks(tmp_path)
    assert main(["reprocess", "--frames", str(paths["sample"]), "--steps", "4", "--figures", figures,
                 "--out", str(tmp_path / "r.h5")]) == 0
    drawn = sorted(p.name for p in tmp_path.glob("r-*.png"))
    assert drawn == ([] if figures == "none" else
                     sorted(f"r-{n}.png" for n in ("overview", "visibility", "amplitude", "phase", "complex",
                                                   "phase_unwrapped")))
    assert len(started) == (0 if figures == "none" else 1)
    every = ("visibility", "amplitude", "phase", "phase_unwrapped", "mask")
    frame_shape = tifffile.imread(paths["sample"]).shape[1:]
    assert jobs == ([] if figures == "none" else  # laid out for the frames' shape before any map exists
                    [([], frame_shape, every), (["amplitude", "mask", "phase", "visibility"], None, every),
                     (["phase_unwrapped"], None, every)])

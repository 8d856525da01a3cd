"""The figure process: jobs over a pipe with their arrays as raw bytes, PNGs written by zlib alone,
and the drawing shared with a forked helper giving the same files as one process drawing alone."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.storage import figure_worker, job_pipe
from app.storage.png import png_bytes

UNITS = {"visibility": "1", "amplitude": "1", "phase": "rad", "phase_unwrapped": "rad"}


def result_maps(h=48, w=64):
    y, x = np.mgrid[0:h, 0:w]
    mask = np.ones((h, w), bool)
    mask[:4] = False
    return {"visibility": np.full((h, w), 0.5, np.float32), "amplitude": np.where(x < w // 2, 0.4, 1.0),
            "phase": np.angle(np.exp(1j * 0.2 * x)), "phase_unwrapped": 0.2 * x.astype(float), "mask": mask}


# -- frames ----------------------------------------------------------------------------------------
def test_a_job_crosses_the_pipe_with_every_array_equal_and_can_be_forwarded_unchanged():
    maps = result_maps()
    maps["strided"] = np.arange(40.0).reshape(5, 8)[:, ::2]  # not contiguous: pickled in the head
    job = (maps, UNITS, {"title": "t", "shape": (48, 64), "out_stem": Path("/x/r")})
    first = io.BytesIO()
    job_pipe.send(first, job)
    first.seek(0)
    frame = job_pipe.read_frame(first)
    forwarded = io.BytesIO()
    job_pipe.write_frame(forwarded, frame)
    assert forwarded.getvalue() == first.getvalue()
    forwarded.seek(0)
    got_maps, units, kwargs = job_pipe.receive(forwarded)
    assert units == UNITS and kwargs == job[2] and list(got_maps) == list(maps)
    for name, data in maps.items():
        assert got_maps[name].dtype == data.dtype
        np.testing.assert_array_equal(got_maps[name], data)
    assert job_pipe.read_frame(forwarded) is None  # the end of the input, between frames


def test_an_input_ending_inside_a_frame_is_an_error_not_a_short_job():
    whole = io.BytesIO()
    job_pipe.send(whole, {"amplitude": np.ones((64, 64))})
    for cut in (8, 30, len(whole.getvalue()) - 1):
        with pytest.raises(EOFError):
            job_pipe.read_frame(io.BytesIO(whole.getvalue()[:cut]))


# -- PNG -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels, mode", [(3, "RGB"), (4, "RGBA")])
def test_png_files_decode_to_the_pixels_written(channels, mode):
    pixels = np.random.default_rng(0).integers(0, 256, (37, 53, channels), dtype=np.uint8)
    data = png_bytes(pixels, dpi=110, text={"Software": "qiup"})
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == mode and image.size == (53, 37)
        assert image.info["Software"] == "qiup" and image.info["dpi"] == pytest.approx((110, 110), abs=0.01)
        np.testing.assert_array_equal(np.asarray(image), pixels)


def test_an_opaque_rgba_image_is_written_as_rgb():
    pixels = np.full((4, 5, 4), 255, np.uint8)
    pixels[..., 0] = 7
    with Image.open(io.BytesIO(png_bytes(pixels))) as image:
        assert image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), pixels[..., :3])


def test_png_refuses_what_is_not_8_bit_rgb_or_rgba():
    with pytest.raises(ValueError, match=r"\(h, w, 3 or 4\) uint8"):
        png_bytes(np.zeros((4, 5), np.uint8))


# -- sharing the drawing ---------------------------------------------------------------------------
def _draw_in_a_figure_process(folder: Path, helper: str) -> dict[str, bytes]:
    from app.cli.figure_process import FigureWorker

    maps = result_maps()
    args = {"title": "horse", "pixel_size_um": 1.5, "out_stem": folder / "r", "expect": tuple(maps)}
    with FigureWorker(helper=helper) as figures:
        figures.prepare((48, 64), UNITS, **args)
        figures.submit({k: maps[k] for k in ("visibility", "amplitude", "phase", "mask")}, UNITS, **args)
        figures.submit({"phase_unwrapped": maps["phase_unwrapped"]}, UNITS, **args)
        paths = figures.results()
    return {p.name: p.read_bytes() for p in paths}


def test_a_helper_sharing_the_drawing_writes_the_same_files_as_one_process(tmp_path):
    shared = _draw_in_a_figure_process(tmp_path / "shared", "always")
    alone = _draw_in_a_figure_process(tmp_path / "alone", "never")
    expected = [f"r-{n}.png" for n in ("visibility", "amplitude", "phase", "complex", "overview", "phase_unwrapped")]
    assert list(shared) == list(alone) == expected  # in the order the figures were completed
    for name, data in alone.items():
        assert shared[name] == data, name


class GoneHelper:
    """A helper that had the job forwarded and then ended without a reply."""

    def reply(self):
        return None


def test_panels_of_a_helper_that_ended_are_drawn_by_the_figure_process_itself(tmp_path):
    maps = result_maps()
    kwargs = {"title": "t", "pixel_size_um": None, "out_stem": tmp_path / "r", "expect": tuple(maps)}
    sets: dict = {}
    paths = figure_worker._draw(sets, maps, UNITS, kwargs, GoneHelper())
    assert [p.name for p in paths] == [f"r-{n}.png" for n in ("overview", "visibility", "amplitude", "phase",
                                                               "complex", "phase_unwrapped")]
    assert all(p.stat().st_size > 1000 for p in paths) and sets == {}  # the set is complete and let go


def test_a_helper_is_forked_only_when_a_core_is_spare_and_the_maps_are_not_large(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for load, spare in ((0.4, True), (1.9, True), (2.0, False), (5.0, False)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert figure_worker.spare_core() is spare
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    limit = figure_worker.HELPER_MAX_PIXELS
    assert figure_worker.wants_helper("auto", {}, UNITS, {"shape": (1024, 1024)})  # the layout job's shape
    assert not figure_worker.wants_helper("auto", {}, UNITS, {"shape": (2048, 2048)}) and 2048**2 > limit
    small, large = np.zeros((8, 8), np.float32), np.zeros((2, limit + 2), np.float32)
    assert figure_worker.wants_helper("auto", {"amplitude": small}, UNITS, {})  # else its largest map
    assert not figure_worker.wants_helper("auto", {"amplitude": small, "phase": large}, UNITS, {})
    assert figure_worker.wants_helper("always", {"phase": large}, UNITS, {})
    assert not figure_worker.wants_helper("never", {"phase": small}, UNITS, {})
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert figure_worker.spare_core() is False
    assert not figure_worker.wants_helper("auto", {}, UNITS, {"shape": (64, 64)})


def test_jobs_sent_from_two_threads_each_get_their_reply(tmp_path):
    """Two threads share one figure process through a lock, as a command's threads would."""
    from app.cli.figure_process import FigureWorker

    lock, errors = threading.Lock(), []
    with FigureWorker(helper="always") as figures:
        def send(tag: str) -> None:
            try:
                with lock:
                    figures.submit({"amplitude": np.ones((20, 30))}, {"amplitude": "1"}, title=tag,
                                   pixel_size_um=None, out_stem=tmp_path / tag, overview=False)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=send, args=(f"t{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        names = sorted(p.name for p in figures.results())
    assert not errors and names == sorted(f"t{i}-amplitude.png" for i in range(4))


def test_reprocessing_and_its_figure_process_run_one_blas_thread_unless_the_user_chose(monkeypatch):
    """An OpenBLAS pool thread spins ~0.1 s on the other core when numpy loads: one thread is asked
    for before numpy loads, unless OPENBLAS_NUM_THREADS says otherwise."""
    import subprocess
    import sys

    probe = ("import os; from app.cli.reprocess_cmd import one_blas_thread; one_blas_thread(); import numpy; "
             "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.strip() == "1"
    env["OPENBLAS_NUM_THREADS"] = "2"
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.strip() == "2"

    from app.cli.figure_process import FigureWorker

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with FigureWorker(helper="never") as figures:
        environ = Path(f"/proc/{figures._proc.pid}/environ")
        if not environ.exists():
            pytest.skip("no /proc here")
        deadline = time.monotonic() + 10.0  # the child's environment shows once its exec has completed
        while not environ.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b"OPENBLAS_NUM_THREADS=1" in environ.read_bytes().split(b"\0")

"""Multi-page TIFF stacks of camera frames -> exact integer step sums (for ``qiup reprocess``).

Stacks are step-major: all frames of step 0, then all of step 1, ... Frames are streamed page by
page: a reader thread decodes the next pages (a bounded queue of a few frames) while the caller's
thread adds them into the exact integer accumulator, so memory does not grow with the number of
frames and decoding (e.g. of compressed pages) overlaps with accumulating.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import tifffile

from app.pipeline.accumulate import StepAccumulator
from app.pipeline.reconstruct import RunSums

PREFETCH_FRAMES = 3  # decoded frames waiting at most: bounds memory at a few frames
# Loading numba's kernels costs ~0.6 s per process and saves ~0.14 ms per megapixel of frames
# (measured on the project machine: 1.21 vs 0.65 ms per 2048 x 2048 frame): worth it past ~4 Gpx.
JIT_WORTH_PIXELS = 4e9


class StackError(ValueError):
    """A TIFF stack that cannot be used: unreadable, wrong frame count, shape or pixel type."""


def _open(path: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(path)
    except FileNotFoundError:
        raise StackError(f"{path}: no such file") from None
    except Exception as exc:  # tifffile raises several types for non-TIFF or damaged files
        raise StackError(f"{path}: not a readable TIFF ({exc})") from None


def _page_frames(path: Path, tif: tifffile.TiffFile):
    """Yield the stack's frames (2-D unsigned arrays), one page at a time."""
    for page in tif.pages:
        try:
            data = page.asarray()
        except Exception as exc:
            raise StackError(f"{path}: page {page.index} unreadable ({exc})") from None
        if data.ndim == 3 and data.shape[-1] in (3, 4):
            raise StackError(f"{path}: colour pages are not camera frames (page shape {data.shape})")
        yield from data.reshape(-1, *data.shape[-2:])


def _prefetched(frames, depth: int = PREFETCH_FRAMES):
    """Iterate ``frames`` produced by a reader thread, at most ``depth`` ahead; its errors re-raised here."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done, stop = object(), threading.Event()

    def read():
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        slots.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            slots.put(exc)

    reader = threading.Thread(target=read, name="tiff-reader", daemon=True)
    reader.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _frame_count(tif: tifffile.TiffFile) -> tuple[int, tuple[int, ...]]:
    """(frames in the stack, shape of the first page) from the page headers only."""
    first = tif.pages[0].shape if len(tif.pages) else ()
    return sum(int(np.prod(p.shape[:-2])) if len(p.shape) > 2 else 1 for p in tif.pages), tuple(first)


def count_frames(path: Path) -> int:
    """Number of frames in the stack (reads the page headers only)."""
    with _open(Path(path)) as tif:
        try:
            return _frame_count(tif)[0]
        except Exception as exc:
            raise StackError(f"{path}: not a readable TIFF ({exc})") from None


def accumulate_stack(path: Path, n_steps: int, frames_per_step: int | None = None) -> RunSums:
    """Integer sums per step of a step-major stack, with the saturation mask."""
    path = Path(path)
    with _open(path) as tif:
        try:
            total, first_shape = _frame_count(tif)
        except Exception as exc:
            raise StackError(f"{path}: not a readable TIFF ({exc})") from None
        frames_per_step = _check_count(path, total, n_steps, frames_per_step)
        jit = total * float(np.prod(first_shape[-2:] or (0,))) >= JIT_WORTH_PIXELS
        frames = _prefetched(_page_frames(path, tif))
        try:
            acc = _accumulate(path, frames, n_steps, frames_per_step, jit)
        finally:
            frames.close()  # stops the reader thread before the file closes, also on an error
    return RunSums(sums=acc.sums, counts=acc.counts, saturated=acc.saturated)  # the accumulator is dropped


def _check_count(path: Path, total: int, n_steps: int, frames_per_step: int | None) -> int:
    if frames_per_step is None:
        if total == 0 or total % n_steps:
            raise StackError(f"{path}: {total} frames do not divide into {n_steps} steps")
        frames_per_step = total // n_steps
    elif total != n_steps * frames_per_step:
        raise StackError(f"{path}: {total} frames, but {n_steps} steps x {frames_per_step} frames per step "
                         f"need {n_steps * frames_per_step}")
    return frames_per_step


def _accumulate(path: Path, frames, n_steps: int, frames_per_step: int, jit: bool) -> StepAccumulator:
    acc: StepAccumulator | None = None
    for i, frame in enumerate(frames):
        if frame.dtype.kind != "u" or frame.dtype.itemsize > 2:
            raise StackError(f"{path}: frames must be uint8 or uint16, got {frame.dtype}")
        if acc is None:
            acc = StepAccumulator(n_steps, frame.shape, jit=jit)
        elif frame.shape != acc.shape:
            raise StackError(f"{path}: frame {i} is {frame.shape}, frame 0 was {acc.shape}")
        acc.add(i // frames_per_step, frame)
    assert acc is not None
    return acc


def accumulate_dark(path: Path) -> RunSums:
    """All frames of a dark stack as one step (its mean is the dark frame)."""
    return accumulate_stack(Path(path), 1, None)


def frame_shape(path: Path) -> tuple[int, int]:
    """(h, w) of the stack's frames from its first page's header (no pixel is read)."""
    with _open(Path(path)) as tif:
        try:
            return tuple(int(n) for n in tif.pages[0].shape[-2:])
        except Exception as exc:
            raise StackError(f"{path}: not a readable TIFF ({exc})") from None

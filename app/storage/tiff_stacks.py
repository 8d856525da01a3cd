"""Multi-page TIFF stacks of camera frames -> exact integer step sums (for ``qiup reprocess``).

Stacks are step-major: all frames of step 0, then all of step 1, ... Frames are read page by page,
so a stack larger than memory still reprocesses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from app.pipeline.accumulate import StepAccumulator
from app.pipeline.reconstruct import RunSums


class StackError(ValueError):
    """A TIFF stack that cannot be used: unreadable, wrong frame count, shape or pixel type."""


def _pages(path: Path):
    """Yield the stack's frames (2-D unsigned arrays), one page at a time."""
    try:
        tif = tifffile.TiffFile(path)
    except FileNotFoundError:
        raise StackError(f"{path}: no such file") from None
    except Exception as exc:  # tifffile raises several types for non-TIFF or damaged files
        raise StackError(f"{path}: not a readable TIFF ({exc})") from None
    with tif:
        for page in tif.pages:
            try:
                data = page.asarray()
            except Exception as exc:
                raise StackError(f"{path}: page {page.index} unreadable ({exc})") from None
            if data.ndim == 3 and data.shape[-1] in (3, 4):
                raise StackError(f"{path}: colour pages are not camera frames (page shape {data.shape})")
            for frame in data.reshape(-1, *data.shape[-2:]):
                yield frame


def count_frames(path: Path) -> int:
    """Number of frames in the stack (reads the page headers only)."""
    try:
        with tifffile.TiffFile(path) as tif:
            return sum(int(np.prod(p.shape[:-2])) if len(p.shape) > 2 else 1 for p in tif.pages)
    except FileNotFoundError:
        raise StackError(f"{path}: no such file") from None
    except Exception as exc:
        raise StackError(f"{path}: not a readable TIFF ({exc})") from None


def accumulate_stack(path: Path, n_steps: int, frames_per_step: int | None = None) -> RunSums:
    """Integer sums per step of a step-major stack, with the saturation mask."""
    path = Path(path)
    total = count_frames(path)
    if frames_per_step is None:
        if total == 0 or total % n_steps:
            raise StackError(f"{path}: {total} frames do not divide into {n_steps} steps")
        frames_per_step = total // n_steps
    elif total != n_steps * frames_per_step:
        raise StackError(f"{path}: {total} frames, but {n_steps} steps x {frames_per_step} frames per step "
                         f"need {n_steps * frames_per_step}")
    acc: StepAccumulator | None = None
    for i, frame in enumerate(_pages(path)):
        if frame.dtype.kind != "u" or frame.dtype.itemsize > 2:
            raise StackError(f"{path}: frames must be uint8 or uint16, got {frame.dtype}")
        if acc is None:
            acc = StepAccumulator(n_steps, frame.shape)
        elif frame.shape != acc.shape:
            raise StackError(f"{path}: frame {i} is {frame.shape}, frame 0 was {acc.shape}")
        acc.add(i // frames_per_step, frame)
    assert acc is not None
    return RunSums(sums=acc.sums.copy(), counts=acc.counts.copy(), saturated=acc.saturated.copy())


def accumulate_dark(path: Path) -> RunSums:
    """All frames of a dark stack as one step (its mean is the dark frame)."""
    return accumulate_stack(Path(path), 1, None)

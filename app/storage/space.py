"""Disk space: a run's planned size, free space, and write errors worded as one line.

A run is refused before it starts when its planned size does not fit, and the writer re-checks free
space while it runs (cheaply: at most every ``interval_s`` or ``every_bytes`` written) so it stops
with a clear message before HDF5 fails half-way through a write.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from app.storage.layout import LOG_DTYPE, PROVENANCE_DTYPE, record_size, sums_dtype

MiB = 1024 * 1024
_OVERHEAD_BYTES = 256 * 1024  # superblock, header, config text, attributes
_PER_DATASET_BYTES = 8 * 1024  # object headers and chunk indexes
_LOG_BYTES = 256 * 1024  # room for the run's log messages
MARGIN_BYTES = 1 * MiB  # kept free while the run goes on


def planned_size_bytes(plan, save_raw: bool) -> int:
    """Upper bound of the file's size at the end of ``plan`` (raw frames counted uncompressed)."""
    h, w = plan.frame_shape
    px = h * w
    n_datasets = 8 + len(plan.results)
    total = _OVERHEAD_BYTES + _LOG_BYTES + 2 * record_size(sum(s.n_steps for s in plan.stages))
    for stage in plan.stages:
        n = stage.n_steps
        total += 2 * n * px * (np.dtype(sums_dtype(stage.frames_per_step)).itemsize + 1)  # sums + saturation slots
        total += 2 * n * (8 + 4) + 2 * stage.cycles * 8
        n_datasets += 6
    for spec in plan.results:
        total += int(np.prod(spec.shape, dtype=np.int64)) * np.dtype(spec.dtype).itemsize
    frames = plan.total_frames()
    total += frames * PROVENANCE_DTYPE.itemsize + 64 * LOG_DTYPE.itemsize
    if save_raw:
        total += frames * px * 2
    return int(total + n_datasets * _PER_DATASET_BYTES)


def free_bytes(path: Path) -> int:
    """Free bytes (for this user) on the file system holding ``path`` (or its folder)."""
    path = Path(path)
    target = path if path.exists() else path.parent
    return int(shutil.disk_usage(target).free)


def describe_free(path: Path) -> str:
    try:
        return f"{free_bytes(path) / MiB:.1f} MB free on {Path(path).resolve().parent}"
    except OSError:
        return f"free space on {Path(path).parent} unknown"


_ERRNO_RE = re.compile(r"errno = (\d+)")


def write_error_message(exc: BaseException, path: Path, doing: str) -> str:
    """One line for a failed write: the cause (disk full, size limit, ...), free space and the file."""
    code = getattr(exc, "errno", None)
    if not code:
        found = _ERRNO_RE.search(str(exc))
        code = int(found.group(1)) if found else None
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(exc):
        cause = "disk full"
    elif code == errno.EFBIG or "File too large" in str(exc):
        cause = "file size limit reached"
    elif code:
        cause = os.strerror(code)
    else:
        cause = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return f"{cause}: {describe_free(path)} while {doing} {path}"


class SpaceWatch:
    """Re-checks free space every ``interval_s`` or after ``every_bytes`` written; at every write once
    less than ``low_bytes`` were free at the last check (a statvfs call costs microseconds)."""

    def __init__(self, path: Path, *, interval_s: float = 2.0, every_bytes: int = 16 * MiB,
                 low_bytes: int = 64 * MiB, clock=time.monotonic):
        self.path, self.interval_s, self.every_bytes, self._clock = Path(path), interval_s, every_bytes, clock
        self.low_bytes = low_bytes
        self._last = clock()
        self._written = 0
        self._free_at_last = None

    def wrote(self, nbytes: int) -> None:
        self._written += int(nbytes)

    def needs_check(self) -> bool:
        low = self._free_at_last is None or self._free_at_last < self.low_bytes
        return low or self._written >= self.every_bytes or self._clock() - self._last >= self.interval_s

    def check(self, upcoming_bytes: int = 0) -> str | None:
        """None while there is room for ``upcoming_bytes`` plus a margin, else the one-line reason."""
        self._last, self._written = self._clock(), 0
        try:
            free = free_bytes(self.path)
        except OSError:
            return None
        self._free_at_last = free
        if free < upcoming_bytes + MARGIN_BYTES:
            return f"disk full: {free / MiB:.1f} MB free on {self.path.resolve().parent} while writing {self.path}"
        return None

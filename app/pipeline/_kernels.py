"""Hot loops of the accumulate and live paths: one fused pass per frame, no allocation.

numba compiles them to SIMD loops that run near the memory bandwidth; without numba the same
results come from numpy ufuncs with ``out=`` (exact too, about 3x slower). Frames are read through a
flat "pitched" view so that ROI views of a larger buffer (rows contiguous, a row pitch) stay on the
fast path. Measurements: docs/decisions/0020-pipeline-accumulation.md.

numba is imported and its cached machine code loaded only when jitted kernels are first asked for
(about 0.6 s): a short job (reprocessing a small stack) can use the numpy kernels and skip that cost,
and importing the pipeline stays cheap. Both kernel sets give identical, exact integer results.
"""

from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np

# numba is a declared dependency; without it the numpy kernels keep the pipeline usable
HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _add_frame_py(acc, flat, pitch):
    """acc += frame (rows at flat[r*pitch : r*pitch + w]); returns the frame maximum."""
    h, w = acc.shape
    top = 0
    for r in range(h):
        acc_row = acc[r]
        frame_row = flat[r * pitch: r * pitch + w]
        for c in range(w):
            v = frame_row[c]
            acc_row[c] += v
            top = v if v > top else top
    return top


def _subtract_frame_py(acc, flat, pitch):
    """acc -= frame, wrapping modulo the accumulator's width (undoes an add exactly)."""
    h, w = acc.shape
    for r in range(h):
        acc_row = acc[r]
        frame_row = flat[r * pitch: r * pitch + w]
        for c in range(w):
            acc_row[c] -= frame_row[c]


def _drain_into_py(acc, stage):
    """acc += stage; stage = 0 (both C-contiguous (h, w))."""
    a = acc.reshape(-1)
    s = stage.reshape(-1)
    for i in range(s.size):
        a[i] += s[i]
        s[i] = 0


def _mark_at_or_above_py(flags, flat, pitch, level):
    """flags |= frame >= level; returns how many pixels of this frame are at or above level."""
    h, w = flags.shape
    n = 0
    for r in range(h):
        flag_row = flags[r]
        frame_row = flat[r * pitch: r * pitch + w]
        for c in range(w):
            if frame_row[c] >= level:
                flag_row[c] = True
                n += 1
    return n


def _replace_and_update_py(last, flat, pitch, c_map, s_map, m_map, cos_k, sin_k):
    """Rolling update when a new frame replaces ``last``: C += cos*d, S += sin*d, M += d (d = new - old)."""
    h, w = last.shape
    for r in range(h):
        last_row = last[r]
        frame_row = flat[r * pitch: r * pitch + w]
        c_row = c_map[r]
        s_row = s_map[r]
        m_row = m_map[r]
        for c in range(w):
            delta = np.float32(np.int32(frame_row[c]) - np.int32(last_row[c]))
            last_row[c] = frame_row[c]
            c_row[c] += cos_k * delta
            s_row[c] += sin_k * delta
            m_row[c] += delta


@cache
def _jitted():
    """The numba-compiled kernels (imported, compiled or loaded from numba's cache once per process)."""
    import numba

    jit = numba.njit(nogil=True, cache=True, boundscheck=False)
    return {fn.__name__.removesuffix("_py"): jit(fn) for fn in
            (_add_frame_py, _mark_at_or_above_py, _subtract_frame_py, _drain_into_py, _replace_and_update_py)}


class Kernels:
    """The accumulate/live hot loops, jitted (numba) or as numpy ufuncs with ``out=``; same results."""

    def __init__(self, jit: bool):
        self.jit = bool(jit and HAVE_NUMBA)
        self._nb = _jitted() if self.jit else None

    def add_frame(self, acc: np.ndarray, frame: np.ndarray) -> int:
        """acc += frame in place without allocating; returns the frame's maximum value."""
        view = pitched(frame) if self.jit else None
        if view is not None:
            return int(self._nb["_add_frame"](acc, view[0], view[1]))
        np.add(acc, frame, out=acc)
        return int(frame.max())

    def subtract_frame(self, acc: np.ndarray, frame: np.ndarray) -> None:
        """acc -= frame in place, modulo 2^bits of acc (exact inverse of a wrapped add)."""
        view = pitched(frame) if self.jit else None
        if view is not None:
            self._nb["_subtract_frame"](acc, view[0], view[1])
            return
        np.subtract(acc, frame, out=acc, casting="unsafe")

    def drain_into(self, acc: np.ndarray, stage: np.ndarray) -> None:
        """acc += stage, then stage = 0, in one pass."""
        if self.jit:
            self._nb["_drain_into"](acc, stage)
            return
        np.add(acc, stage, out=acc)
        stage[...] = 0

    def mark_at_or_above(self, flags: np.ndarray, frame: np.ndarray, level: int) -> int:
        """flags |= (frame >= level) in place; returns the number of such pixels in this frame."""
        view = pitched(frame) if self.jit else None
        if view is not None:
            return int(self._nb["_mark_at_or_above"](flags, view[0], view[1], frame.dtype.type(level)))
        hits = frame >= level
        np.logical_or(flags, hits, out=flags)
        return int(hits.sum())

    def replace_and_update(self, last, frame, c_map, s_map, m_map, cos_k: float, sin_k: float) -> None:
        """In-place rolling update of the float32 C, S, M maps when ``frame`` replaces ``last`` (live.py)."""
        view = pitched(frame) if self.jit else None
        if view is not None:
            self._nb["_replace_and_update"](last, view[0], view[1], c_map, s_map, m_map, np.float32(cos_k),
                                            np.float32(sin_k))
            return
        delta = frame.astype(np.float32) - last
        c_map += np.float32(cos_k) * delta
        s_map += np.float32(sin_k) * delta
        m_map += delta
        np.copyto(last, frame)


def pitched(frame: np.ndarray) -> tuple[np.ndarray, int] | None:
    """A flat view over ``frame``'s rows and the row pitch in elements, or None if rows are not contiguous."""
    h, w = frame.shape
    item = frame.itemsize
    if frame.strides[1] != item or (h > 1 and (frame.strides[0] < w * item or frame.strides[0] % item)):
        return None
    pitch = frame.strides[0] // item if h > 1 else w
    flat = np.lib.stride_tricks.as_strided(frame, shape=((h - 1) * pitch + w,), strides=(item,), writeable=False)
    return flat, pitch


@cache
def kernels(jit: bool = True) -> Kernels:
    """The shared kernel set: jitted when ``jit`` and numba is installed, else the numpy one."""
    return Kernels(jit)


def add_frame(acc: np.ndarray, frame: np.ndarray) -> int:
    """acc += frame with the default (jitted) kernels; returns the frame's maximum."""
    return kernels().add_frame(acc, frame)


def replace_and_update(last, frame, c_map, s_map, m_map, cos_k: float, sin_k: float) -> None:
    """Rolling C, S, M update with the default (jitted) kernels (see ``Kernels.replace_and_update``)."""
    kernels().replace_and_update(last, frame, c_map, s_map, m_map, cos_k, sin_k)

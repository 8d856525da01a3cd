"""Hot loops of the accumulate and live paths: one fused pass per frame, no allocation.

numba compiles them to SIMD loops that run near the memory bandwidth; without numba the same
results come from numpy ufuncs with ``out=`` (exact too, about 3x slower). Frames are read through a
flat "pitched" view so that ROI views of a larger buffer (rows contiguous, a row pitch) stay on the
fast path. Measurements: docs/decisions/0020-pipeline-accumulation.md.
"""

from __future__ import annotations

import numpy as np

try:  # numba is a declared dependency; the fallback keeps the pipeline usable without it
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

HAVE_NUMBA = numba is not None


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


if HAVE_NUMBA:
    _jit = numba.njit(nogil=True, cache=True, boundscheck=False)
    _add_frame_nb = _jit(_add_frame_py)
    _mark_at_or_above_nb = _jit(_mark_at_or_above_py)
    _subtract_frame_nb = _jit(_subtract_frame_py)
    _drain_into_nb = _jit(_drain_into_py)
    _replace_and_update_nb = _jit(_replace_and_update_py)


def pitched(frame: np.ndarray) -> tuple[np.ndarray, int] | None:
    """A flat view over ``frame``'s rows and the row pitch in elements, or None if rows are not contiguous."""
    h, w = frame.shape
    item = frame.itemsize
    if frame.strides[1] != item or (h > 1 and (frame.strides[0] < w * item or frame.strides[0] % item)):
        return None
    pitch = frame.strides[0] // item if h > 1 else w
    flat = np.lib.stride_tricks.as_strided(frame, shape=((h - 1) * pitch + w,), strides=(item,), writeable=False)
    return flat, pitch


def add_frame(acc: np.ndarray, frame: np.ndarray) -> int:
    """acc += frame in place without allocating; returns the frame's maximum value."""
    view = pitched(frame) if HAVE_NUMBA else None
    if view is not None:
        return int(_add_frame_nb(acc, view[0], view[1]))
    np.add(acc, frame, out=acc)
    return int(frame.max())


def subtract_frame(acc: np.ndarray, frame: np.ndarray) -> None:
    """acc -= frame in place, modulo 2^bits of acc (exact inverse of a wrapped add)."""
    view = pitched(frame) if HAVE_NUMBA else None
    if view is not None:
        _subtract_frame_nb(acc, view[0], view[1])
        return
    np.subtract(acc, frame, out=acc, casting="unsafe")


def drain_into(acc: np.ndarray, stage: np.ndarray) -> None:
    """acc += stage, then stage = 0, in one pass."""
    if HAVE_NUMBA:
        _drain_into_nb(acc, stage)
        return
    np.add(acc, stage, out=acc)
    stage[...] = 0


def mark_at_or_above(flags: np.ndarray, frame: np.ndarray, level: int) -> int:
    """flags |= (frame >= level) in place; returns the number of such pixels in this frame."""
    view = pitched(frame) if HAVE_NUMBA else None
    if view is not None:
        return int(_mark_at_or_above_nb(flags, view[0], view[1], frame.dtype.type(level)))
    hits = frame >= level
    np.logical_or(flags, hits, out=flags)
    return int(hits.sum())


def replace_and_update(last, frame, c_map, s_map, m_map, cos_k: float, sin_k: float) -> None:
    """In-place rolling update of the float32 C, S, M maps when ``frame`` replaces ``last`` (live.py)."""
    view = pitched(frame) if HAVE_NUMBA else None
    if view is not None:
        _replace_and_update_nb(last, view[0], view[1], c_map, s_map, m_map, np.float32(cos_k), np.float32(sin_k))
        return
    delta = frame.astype(np.float32) - last
    c_map += np.float32(cos_k) * delta
    s_map += np.float32(sin_k) * delta
    m_map += delta
    np.copyto(last, frame)

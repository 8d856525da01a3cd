"""The camera's frame rate measured from the frames themselves (Qt-free; ``add`` from the runner's thread).

Two numbers: the camera's rate from its own frame ids and timestamps (the median interval per frame
id, so a phase step's move between blocks or a dropped frame does not bias it), and the rate at which
frames reached the GUI's process on the wall clock (lower when the computer cannot keep up).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class FrameRateMeter:
    def __init__(self, window: int = 64):
        self._lock = threading.Lock()
        self._frames: deque[tuple[int, float, float]] = deque(maxlen=window)  # (frame id, camera s, monotonic s)

    def add(self, frame_id: int, timestamp_s: float) -> None:
        with self._lock:
            self._frames.append((int(frame_id), float(timestamp_s), time.monotonic()))

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()

    def rates_hz(self, max_age_s: float = 3.0) -> tuple[float | None, float | None]:
        """(camera rate from its timestamps, arrival rate on the wall clock); None without recent frames."""
        with self._lock:
            frames = list(self._frames)
        if len(frames) < 3 or time.monotonic() - frames[-1][2] > max_age_s:
            return None, None
        ids, stamps, arrivals = (np.asarray(c, np.float64) for c in zip(*frames))
        d_id, d_t = np.diff(ids), np.diff(stamps)
        ok = (d_id > 0) & (d_t > 0)  # a restarted camera numbers from 1 again
        camera = 1.0 / float(np.median(d_t[ok] / d_id[ok])) if ok.sum() >= 2 else None
        span = arrivals[-1] - arrivals[0]
        arrival = (len(frames) - 1) / span if span > 0 else None
        return camera, arrival

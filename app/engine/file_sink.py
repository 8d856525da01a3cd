"""The engine's only door to the run-file writer: every write an acquisition makes goes through here.

Today it speaks :class:`app.storage.runfile.RunWriter`'s ``write_step`` + ``set_blocks_done`` API; the
storage rework replaces them with ``commit_block`` / ``mark_cycle_start`` / ``rollback_cycle``, and
only this module changes with it. :class:`NoFile` is the same interface for runs without a file.
"""

from __future__ import annotations

import numpy as np


class FileSink:
    """Writes one run's blocks, provenance, results and log lines through its RunWriter."""

    def __init__(self, writer):
        self.writer = writer
        self.path = writer.path

    # --- commit points (switch to writer.commit_block / mark_cycle_start / rollback_cycle at merge) ---
    def commit_block(self, label: str, step: int, step_sum: np.ndarray, count: int, saturated: np.ndarray, *,
                     blocks_done: int, frames_done: int) -> None:
        """A finished block: its step's sums and count, then the progress flush (the resume point)."""
        self.writer.write_step(label, step, step_sum, count)
        self.writer.set_blocks_done(blocks_done, frames_done)

    def mark_cycle_start(self, label: str) -> None:
        """A cycle begins (the point a suspender's rollback returns to); the current writer needs nothing."""

    def rollback_cycle(self, label: str, sums: np.ndarray, counts: np.ndarray, *, blocks_done: int,
                       frames_done: int) -> None:
        """Back to the cycle's start: ``sums``/``counts`` are the stage's sums without the discarded cycle."""
        for k in range(len(counts)):
            self.writer.write_step(label, k, sums[k], int(counts[k]))
        self.writer.truncate_frames(frames_done)
        self.writer.set_blocks_done(blocks_done, frames_done)

    # --- everything else ---
    def append_frame(self, provenance: tuple, raw: np.ndarray | None) -> None:
        self.writer.append_frame(provenance, raw)

    def stage_value(self, label: str, name: str, index: int, value: float) -> None:
        self.writer.write_stage_array(label, name, index, value)

    def write_result(self, name: str, data, index: int | None) -> None:
        self.writer.write_result(name, data, index)

    def log(self, level: str, message: str) -> None:
        self.writer.log(level, message)


class NoFile:
    """A run without a file: every write is a no-op."""

    path = None

    def commit_block(self, *args, **kwargs) -> None: ...
    def mark_cycle_start(self, label: str) -> None: ...
    def rollback_cycle(self, *args, **kwargs) -> None: ...
    def append_frame(self, provenance: tuple, raw) -> None: ...
    def stage_value(self, label: str, name: str, index: int, value: float) -> None: ...
    def write_result(self, name: str, data, index) -> None: ...
    def log(self, level: str, message: str) -> None: ...

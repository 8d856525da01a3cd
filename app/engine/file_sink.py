"""The engine's only door to the run-file writer: every write an acquisition makes goes through here.

It speaks :class:`app.storage.runfile.RunWriter`'s atomic commit points (``commit_block``,
``mark_cycle_start``, ``rollback_cycle``; decision 0041). :class:`NoFile` is the same interface for
runs without a file.
"""

from __future__ import annotations

import numpy as np


class FileSink:
    """Writes one run's blocks, provenance, results and log lines through its RunWriter."""

    def __init__(self, writer):
        self.writer = writer
        self.path = writer.path

    # --- commit points: durable together or not at all (decision 0041) ---
    def commit_block(self, label: str, step: int, step_sum: np.ndarray, count: int, saturated: np.ndarray, *,
                     blocks_done: int, frames_done: int) -> None:
        """A finished block: its step's sums, count, saturation and the resume point, in one commit."""
        self.writer.commit_block(label, step, step_sum, count, saturated, blocks_done=blocks_done,
                                 frames_done=frames_done)

    def mark_cycle_start(self, label: str) -> None:
        """A cycle begins: the slots current now are where a suspender's rollback returns to."""
        self.writer.mark_cycle_start(label)

    def rollback_cycle(self, label: str, sums: np.ndarray, counts: np.ndarray, *, blocks_done: int,
                       frames_done: int) -> None:
        """Back to the cycle's start, atomically; ``sums``/``counts`` (the stage without the discarded
        cycle) are what the file holds again, so they are not written."""
        self.writer.rollback_cycle(label, blocks_done=blocks_done, frames_done=frames_done)

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

"""A run's results: small ones in memory, stacked ones (time series, delay volumes) on disk when there
is a run file, so a 1000-repeat time series does not hold gigabytes of results in RAM (issue 9, item 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.engine.plan import Plan, ResultSpec


def is_stacked(spec: ResultSpec) -> bool:
    """One image per repeat or delay: (n, h, w)."""
    return len(spec.shape) == 3


def empty_result(spec: ResultSpec) -> np.ndarray:
    """NaN (float), 0 (integer) or b"" (text) until computed, as in the run file."""
    fill = 0 if spec.dtype.startswith("uint") else b"" if spec.dtype.startswith("S") else np.nan
    return np.full(spec.shape, fill, dtype=spec.dtype)


class ResultStore:
    """Where the worker puts results: the file (if any) and, for small or file-less results, memory."""

    def __init__(self, plan: Plan, *, has_file: bool):
        self.memory: dict[str, np.ndarray] = {}
        self.on_disk: set[str] = set()
        for spec in plan.results:
            if has_file and is_stacked(spec):
                self.on_disk.add(spec.name)
            else:
                self.memory[spec.name] = empty_result(spec)

    def __contains__(self, name: str) -> bool:
        return name in self.memory or name in self.on_disk

    def keep(self, name: str, data, index: int | None) -> None:
        """Keep a computed result in memory (a no-op for results that live on disk)."""
        if name not in self.memory:
            return
        if index is None:
            self.memory[name] = np.asarray(data)
        else:
            self.memory[name][index] = data


@dataclass
class RunResult:
    """How a run ended and what it produced; ``result["amplitude"]`` (stacked ones read from the file)."""

    sequence: str
    status: str  # complete | aborted | failed
    path: Path | None
    results: dict[str, np.ndarray] = field(default_factory=dict)  # the results held in memory
    error: str | None = None
    plan: Plan | None = None
    laser_off_confirmed: bool = True  # False: the laser did not confirm emission off at the end
    on_disk: frozenset[str] = frozenset()  # result names read from the run file on access

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.results:
            return self.results[name]
        if name in self.on_disk and self.path is not None:
            from app.storage import read_run_file

            return np.asarray(read_run_file(self.path).results[name])
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return name in self.results or name in self.on_disk

    def names(self) -> list[str]:
        return sorted(set(self.results) | set(self.on_disk))

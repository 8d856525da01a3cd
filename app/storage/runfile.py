"""One HDF5 file per run: config and identities first, step sums as they complete, results last.

Layout (units in attributes): ``/`` attrs status (running/complete/aborted/failed), software_version,
sequence, created, parameters_json; ``/config/text``; ``/devices/<name>`` attrs; ``/runs/<label>/sums``
(N, h, w) integer and ``counts`` (N,); ``/results/<name>`` float32 (h, w). Every write is flushed, so
a crash keeps everything written before it.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import h5py
import numpy as np

STATUSES = ("running", "complete", "aborted", "failed")


def software_version() -> str:
    try:
        return version("qiup")
    except PackageNotFoundError:
        return "unknown"


class RunFile:
    """Writer of one run's HDF5 file."""

    def __init__(self, path: Path, *, sequence: str, config_text: str,
                 identities: dict[str, dict[str, str]], parameters: dict[str, Any]):
        self.path = Path(path)
        self._h5 = h5py.File(self.path, "w")
        root = self._h5
        root.attrs["status"] = "running"
        root.attrs["sequence"] = sequence
        root.attrs["software_version"] = software_version()
        root.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        root.attrs["parameters_json"] = json.dumps(parameters)
        root.create_dataset("config/text", data=config_text, dtype=h5py.string_dtype())
        for name, ident in identities.items():
            group = root.create_group(f"devices/{name}")
            for key, value in ident.items():
                group.attrs[key] = value
        self._h5.flush()

    def write_step_sums(self, label: str, sums: np.ndarray, counts: np.ndarray, **attrs: Any) -> None:
        """Store (or replace) the integer sums and counts of one phase-stepped run."""
        group = self._h5.require_group(f"runs/{label}")
        for name, data in (("sums", sums), ("counts", counts)):
            if name in group:
                del group[name]
            group.create_dataset(name, data=data)
        for key, value in attrs.items():
            group.attrs[key] = value
        self._h5.flush()

    def write_result(self, name: str, data: np.ndarray, *, unit: str) -> None:
        results = self._h5.require_group("results")
        if name in results:
            del results[name]
        dset = results.create_dataset(name, data=data)
        dset.attrs["unit"] = unit
        self._h5.flush()

    def finish(self, status: str) -> None:
        """Set the final status and close; safe to call twice."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        if self._h5.id.valid:
            self._h5.attrs["status"] = status
            self._h5.close()

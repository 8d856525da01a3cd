"""The scripting helpers behind ``from app import ...``: a bench from a config path, a run file read back."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def open_bench(config: str | Path | object = None) -> Iterator[object]:
    """Connect the bench of a config file (default: the simulated bench); laser off and closed on exit."""
    from app.bench_factory import open_bench as _open_bench
    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG
    from app.config import LoadedConfig, load_config

    loaded = config if isinstance(config, LoadedConfig) else load_config(config or DEFAULT_CONFIG)
    with _open_bench(loaded) as bench:
        yield bench


@dataclass
class RunData:
    """A run file read into memory: status, sequence, parameters, results and step sums."""

    path: Path
    status: str
    sequence: str
    parameters: dict
    results: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.results[name]


def read_run(path: str | Path) -> RunData:
    """Everything but raw frames; works on finished, running and crashed files."""
    from app.storage import file_status, open_run_file

    with open_run_file(path) as h5:
        data = RunData(Path(path), file_status(h5), str(h5.attrs.get("sequence", "")),
                       json.loads(h5.attrs.get("parameters_json", "{}")))
        for name, d in h5.get("results", {}).items():
            data.results[name] = d[()]
            data.units[name] = str(d.attrs.get("unit", ""))
        for label, g in h5["runs"].items():
            data.sums[label], data.counts[label] = g["sums"][()], g["counts"][()]
        if "log" in h5:
            data.log = [f"{lvl.decode()}: {msg.decode()}" for _, lvl, msg in h5["log"][()]]
    return data

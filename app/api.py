"""The scripting helpers behind ``from app import ...``: a bench from a config path, a run file read back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from app.storage.reader import StoredRun

RunData = StoredRun  # what read_run returns: status, parameters, stages, results (lazy), log, ...


@contextlib.contextmanager
def open_bench(config: str | Path | object = None) -> Iterator[object]:
    """Connect the bench of a config file (default: the simulated bench); laser off and closed on exit."""
    from app.bench_factory import open_bench as _open_bench
    from app.config import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG
    from app.config import LoadedConfig, load_config

    loaded = config if isinstance(config, LoadedConfig) else load_config(config or DEFAULT_CONFIG)
    with _open_bench(loaded) as bench:
        yield bench


def read_run(path: str | Path) -> StoredRun:
    """A run file (finished, running or crashed) through the one reader: small things now, arrays when used.

    ``run["amplitude"]`` is the whole result; ``run.results["amplitude"][5]`` reads one repeat of a
    time series; ``run.counts["sample"]``, ``run.stage("sample").sums``, ``run.provenance()``.
    """
    from app.storage.reader import read_run_file

    return read_run_file(path)

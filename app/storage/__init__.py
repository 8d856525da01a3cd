"""Run files (HDF5, SWMR): the one writer, the one reader, disk-space rules; figures of result maps.

Names are imported lazily (as in ``app``): a process that needs only ``app.storage.figures`` (the
figure process) does not load h5py and the run-file modules.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "STATUSES": "app.storage.layout",
    "LazyResult": "app.storage.reader", "RunFileError": "app.storage.reader", "StoredRun": "app.storage.reader",
    "StoredStage": "app.storage.reader", "check_resumable": "app.storage.reader",
    "open_run_file": "app.storage.reader", "read_run_file": "app.storage.reader",
    "validate_progress": "app.storage.reader",
    "RunWriteError": "app.storage.creation", "new_run_path": "app.storage.creation",
    "new_timestamped_run_path": "app.storage.creation", "release_unused_name": "app.storage.creation",
    "software_version": "app.storage.creation",
    "RunWriter": "app.storage.runfile",
    "planned_size_bytes": "app.storage.space",
}


def file_status(h5) -> str:
    """``/status`` of an open run file (for callers holding an h5py file; prefer :func:`read_run_file`)."""
    return h5["status"][()].decode() if "status" in h5 else str(h5.attrs.get("status", "unknown"))


def __getattr__(name: str):
    if name == "read_snapshot":  # the former name of read_run_file, kept for callers outside app/storage
        name = "read_run_file"
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'app.storage' has no attribute {name!r}")


__all__ = sorted([*_EXPORTS, "file_status", "read_snapshot"])

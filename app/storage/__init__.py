"""Run files (HDF5, SWMR): the one writer, the one reader, disk-space rules; figures of result maps."""

from app.storage.layout import STATUSES
from app.storage.reader import (LazyResult, RunFileError, StoredRun, StoredStage, check_resumable, open_run_file,
                                read_run_file, validate_progress)
from app.storage.creation import RunWriteError, new_run_path, software_version
from app.storage.runfile import RunWriter
from app.storage.space import planned_size_bytes


def file_status(h5) -> str:
    """``/status`` of an open run file (for callers holding an h5py file; prefer :func:`read_run_file`)."""
    return h5["status"][()].decode() if "status" in h5 else str(h5.attrs.get("status", "unknown"))


read_snapshot = read_run_file  # the former name, kept for callers outside app/storage

__all__ = ["STATUSES", "LazyResult", "RunFileError", "RunWriteError", "RunWriter", "StoredRun", "StoredStage",
           "check_resumable", "file_status", "new_run_path", "open_run_file", "planned_size_bytes", "read_run_file",
           "read_snapshot", "software_version", "validate_progress"]

"""Run files (HDF5, SWMR) and quick-look images."""

from app.storage.runfile import STATUSES, RunFile, RunWriter, software_version
from app.storage.runread import RunFileError, RunSnapshot, file_status, open_run_file, read_snapshot

__all__ = ["STATUSES", "RunFile", "RunFileError", "RunSnapshot", "RunWriter", "file_status", "open_run_file",
           "read_snapshot", "software_version"]

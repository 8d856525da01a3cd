"""Run files (HDF5) and quick-look images."""

from app.storage.runfile import STATUSES, RunFile, software_version

__all__ = ["STATUSES", "RunFile", "software_version"]

"""Files written whole or not at all, and kept through a power cut: a temporary file next to the
target, synced to the disk, then renamed over it in one step (the directory synced too).

Without the syncs a rename survives a crash of the process but not of the machine: the file system
may put the new name on disk before the data, leaving a file that says more than it holds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def sync_file(path: Path) -> None:
    """What ``path`` holds reaches the disk (fsync; opened for writing, which Windows' fsync needs)."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_directory(path: Path) -> None:
    """The entries of directory ``path`` (a new name, a rename) reach the disk; a no-op where
    directories cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory: the data itself is synced
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """``with replacing(path) as tmp:`` write ``tmp``; when the block ends without error, ``tmp`` is
    synced and renamed over ``path``. On any error ``tmp`` is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        sync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    sync_directory(path.parent)

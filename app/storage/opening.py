"""Opening run files for reading in every state: closed, being written (SWMR), left by a crash, or cut
short by a failed write; and whether the process that wrote one is still alive."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import h5py


class RunFileError(Exception):
    """A file is not a usable qiup run file; the message says which file and why, in one line."""


@contextlib.contextmanager
def open_run_file(path: str | Path) -> Iterator[h5py.File]:
    """Open a run file for reading, whether closed, being written, or left behind by a crash."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such file")
    if path.is_dir():
        raise RunFileError(f"{path}: is a folder, not a run file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        h5 = _open_interrupted(path, exc)
    try:
        if "config/text" not in h5 or "runs" not in h5:
            raise RunFileError(f"{path}: not a qiup run file (no /config/text or /runs)")
        yield h5
    finally:
        h5.close()


def _open_interrupted(path: Path, exc: OSError) -> h5py.File:
    """A file whose writer is running or was killed (SWMR read), or one whose last writes failed (its
    end is missing: read through a view padded with zeros; only uncommitted data lived there)."""
    message = str(exc)
    try:
        if "already open for write" in message:
            return h5py.File(path, "r", swmr=True)
        found = _STORED_EOF.search(message)
        if "truncated file" in message and found:
            return h5py.File(_ZeroPadded(path, int(found.group(1))), "r")
    except OSError as exc2:
        raise RunFileError(f"{path}: cannot be read ({str(exc2).splitlines()[0]})") from None
    raise RunFileError(f"{path}: not an HDF5 run file ({message.splitlines()[0]})") from None


_STORED_EOF = re.compile(r"stored_eof = (\d+)")


class _ZeroPadded(io.RawIOBase):
    """A read-only file that reads as zeros from its real end up to ``size``."""

    def __init__(self, path: Path, size: int):
        self._f = open(path, "rb")  # noqa: SIM115 - closed with this object
        self._real, self._size, self._pos = os.path.getsize(path), size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else self._pos + offset if whence == 1 else self._size + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        self._f.seek(self._pos)
        data = self._f.read(max(0, min(n, self._real - self._pos)))
        data += b"\0" * (n - len(data))
        buffer[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def writer_alive(pid: int, host: str) -> bool:
    """True when ``pid`` on ``host`` is a live process other than this one (unknown hosts count as alive)."""
    if pid <= 0 or pid == os.getpid() and host == socket.gethostname():
        return False
    if host != socket.gethostname():
        return False  # cannot be checked from here; the status says whether it was left running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

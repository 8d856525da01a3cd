"""One qiup process per bench: a lock file per config, held with ``flock`` (a crash frees it).

The file lives in the user's runtime directory (platformdirs; ``QIUP_LOCK_DIR`` overrides it, e.g. for
tests), is named after a hash of the resolved config path, and holds the holder's pid, host and a
label (the runner sets it to the run). A second process refuses with one line naming the holder,
before it opens any device. The file is never deleted (deleting a lock file races with its next
user); it is emptied on release.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from pathlib import Path

from drivers.errors import DeviceError

ENV_LOCK_DIR = "QIUP_LOCK_DIR"


class BenchInUse(DeviceError):
    """Another process holds this bench; the message names it (pid, host, label)."""


def lock_dir() -> Path:
    """Where bench lock files live (created on first use)."""
    override = os.environ.get(ENV_LOCK_DIR)
    candidates = [Path(override)] if override else []
    if not override:
        import warnings

        import platformdirs

        with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs warns and falls back to /tmp
            warnings.simplefilter("ignore")
            candidates += [Path(platformdirs.user_runtime_dir("qiup")), Path(platformdirs.user_state_dir("qiup"))]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except OSError:
            continue
    raise DeviceError(f"cannot create the bench lock directory {candidates[0]} (set {ENV_LOCK_DIR})")


def lock_path(config_path: str | Path) -> Path:
    key = hashlib.sha256(str(Path(config_path).resolve()).encode()).hexdigest()[:16]
    return lock_dir() / f"bench-{key}.lock"


class BenchLock:
    """A held bench lock; ``set_label`` says what it is used for, ``release`` frees it (idempotent)."""

    def __init__(self, config_path: str | Path, fd: int, path: Path, label: str):
        self.config_path = Path(config_path)
        self.path = path
        self._fd: int | None = fd
        self.label = label
        self._write()

    @classmethod
    def acquire(cls, config_path: str | Path, label: str) -> "BenchLock":
        """Take the bench of ``config_path``; BenchInUse naming the holder if another process has it."""
        path = lock_path(config_path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(fd)
            os.close(fd)
            raise BenchInUse(f"the bench of {Path(config_path)} is in use by {holder}") from None
        except OSError:
            os.close(fd)
            raise
        return cls(config_path, fd, path, label)

    def set_label(self, label: str) -> None:
        """What holds the bench (e.g. "run 'phase-stepping' -> runs/x.h5"); shown to a second process."""
        self.label = label
        self._write()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing the last descriptor releases the flock

    def _write(self) -> None:
        if self._fd is None:
            return
        record = {"pid": os.getpid(), "host": socket.gethostname(), "label": self.label,
                  "config": str(self.config_path.resolve())}
        data = json.dumps(record).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def __enter__(self) -> "BenchLock":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _describe_holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0)
        record = json.loads(raw.decode())
        return f"pid {record['pid']} on {record['host']} ({record['label']})"
    except (OSError, ValueError, KeyError):
        return "another process (it has not written its name yet)"

"""Reading run files, including ones whose writer is still running or was killed.

A file written in SWMR mode carries "open for writing" flags until its writer closes it; a plain open
then fails ("file is already open for write"). :func:`open_run_file` falls back to a SWMR read, which
works both while a run is going and after a crash. :func:`reopen_for_writing` (resume) copies a
crashed file into a fresh one and puts it in place, because HDF5 cannot clear those flags itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np


class RunFileError(Exception):
    """A file is not a readable qiup run file; the message says which file and why."""


@contextlib.contextmanager
def open_run_file(path: str | Path) -> Iterator[h5py.File]:
    """Open a run file for reading, whether closed, being written, or left behind by a crash."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise RunFileError(f"{path}: not an HDF5 run file ({exc})") from None
        h5 = h5py.File(path, "r", swmr=True)
    try:
        if "config/text" not in h5 or "runs" not in h5:
            raise RunFileError(f"{path}: not a qiup run file (no /config/text or /runs)")
        yield h5
    finally:
        h5.close()


def file_status(h5: h5py.File) -> str:
    """``/status`` (updated live) if present, else the root attribute (older files)."""
    if "status" in h5:
        return h5["status"][()].decode()
    return str(h5.attrs.get("status", "unknown"))


def writer_alive(h5: h5py.File) -> bool:
    """True when the writer recorded in the file is a live process on this host."""
    pid, host = int(h5.attrs.get("writer_pid", -1)), str(h5.attrs.get("writer_host", ""))
    if pid <= 0 or host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunSnapshot:
    """What resume needs from a file: the run's identity, its progress and its step sums."""

    sequence: str
    parameters: dict
    config_text: str
    status: str
    blocks_done: int
    frames_done: int
    sums: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    piezo_offsets: dict[str, np.ndarray]
    last_frame_id: int = 0  # camera frame id of the last kept frame (0: none yet)


def read_snapshot(path: str | Path) -> RunSnapshot:
    with open_run_file(path) as h5:
        if int(h5.attrs.get("format_version", 1)) < 2 or "progress" not in h5:
            raise RunFileError(f"{path}: written by an older qiup without resume information")
        runs = h5["runs"]
        return RunSnapshot(
            sequence=str(h5.attrs["sequence"]),
            parameters=json.loads(h5.attrs["parameters_json"]),
            config_text=h5["config/text"][()].decode(),
            status=file_status(h5),
            blocks_done=int(h5["progress/blocks_done"][()]),
            frames_done=int(h5["progress/frames_done"][()]),
            sums={k: runs[k]["sums"][()] for k in runs},
            counts={k: runs[k]["counts"][()] for k in runs},
            piezo_offsets={k: runs[k]["piezo_offset"][()] for k in runs},
            last_frame_id=_last_frame_id(h5, int(h5["progress/frames_done"][()])),
        )


def _last_frame_id(h5, frames_done: int) -> int:
    prov = h5["frames/provenance"]
    return int(prov[frames_done - 1]["frame_id"]) if 0 < frames_done <= prov.shape[0] else 0


def reopen_for_writing(path: str | Path) -> h5py.File:
    """Open an interrupted run file read-write (libver latest), rewriting it if a crash left it flagged."""
    path = Path(path)
    try:
        return h5py.File(path, "r+", libver="latest")
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise RunFileError(f"{path}: cannot open for writing ({exc})") from None
    tmp = path.with_name(path.name + ".resume-tmp")
    with open_run_file(path) as src, h5py.File(tmp, "w", libver="latest") as dst:
        if writer_alive(src):
            raise RunFileError(f"{path}: its writer (pid {src.attrs['writer_pid']}) is still running")
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name in src:
            src.copy(src[name], dst, name=name)
    os.replace(tmp, path)
    return h5py.File(path, "r+", libver="latest")

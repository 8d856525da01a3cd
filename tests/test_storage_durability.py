"""Files survive a power cut as well as a crash: data reaches the disk (fsync) before anything says it
is there. Checked by recording each fsync and the rename in order, with what the file says at that
moment (a real power cut cannot be staged in a test)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import app.storage.atomic as atomic
import app.storage.runfile as runfile
from app.pipeline.reconstruct import RunSums
from tests.storage_fixtures import write_run_file


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.fixture
def events(monkeypatch):
    """[(what, path)] of every fsync and os.replace in app.storage.atomic, in order."""
    seen = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        seen.append(("fsync", _fd_path(fd)))
        real_fsync(fd)

    def replace(src, dst):
        seen.append(("replace", f"{src} -> {dst}"))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    return seen


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name a file descriptor's file")
def test_a_replaced_file_is_synced_before_its_rename_and_its_folder_after(tmp_path, events):
    target = tmp_path / "settings.json"
    target.write_text("old")
    with atomic.replacing(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    tmp_name = str(tmp)
    assert events == [("fsync", tmp_name), ("replace", f"{tmp_name} -> {target}"), ("fsync", str(tmp_path))]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, events):
    target = tmp_path / "calibration.toml"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic.replacing(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["calibration.toml"]
    assert events == []  # nothing synced, nothing renamed


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name a file descriptor's file")
def test_a_run_file_is_synced_while_it_says_running_and_again_once_it_says_complete(tmp_path, monkeypatch):
    """The order a power cut needs: the data on disk under 'running', only then 'complete' on disk."""
    path = tmp_path / "run.h5"
    statuses = []
    real_fsync = os.fsync
    offset_size = {}
    real_finish = runfile.RunWriter.finish

    def finish(self, status, reason=None):
        offset_size.update(zip(("offset", "size"), self._fixed["status"]))
        return real_finish(self, status, reason)

    def fsync(fd):
        if _fd_path(fd) == str(path):
            with open(path, "rb") as f:  # what the file says now, as the disk will have it
                f.seek(offset_size["offset"])
                statuses.append(f.read(offset_size["size"]).rstrip(b"\0").decode())
        real_fsync(fd)

    monkeypatch.setattr(runfile.RunWriter, "finish", finish)
    monkeypatch.setattr(runfile.os, "fsync", fsync)
    sums = np.arange(3 * 4 * 5, dtype=np.int64).reshape(3, 4, 5)
    write_run_file(Path(path), {"sample": RunSums(sums, np.ones(3, np.int64))}, config_text="")
    assert statuses == ["running", "complete"]


def test_a_run_file_whose_data_cannot_be_synced_ends_failed_not_complete(tmp_path, monkeypatch):
    import errno

    from app.storage import RunWriteError, read_run_file

    def fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(runfile.os, "fsync", fsync)
    sums = np.arange(3 * 4 * 5, dtype=np.int64).reshape(3, 4, 5)
    with pytest.raises(RunWriteError):
        write_run_file(tmp_path / "run.h5", {"sample": RunSums(sums, np.ones(3, np.int64))}, config_text="")
    run = read_run_file(tmp_path / "run.h5")
    assert run.status == "failed" and "Input/output error" in run.failure

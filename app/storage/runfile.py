"""The one writer of a run file: SWMR, everything pre-created, atomic commit points.

HDF5's single-writer/multiple-reader mode forbids creating objects once it is on, so :meth:`create`
lays out the whole file from the plan (docs/data-format.md, decision 0030). Each block is committed
atomically (:mod:`app.storage.layout`): its step's sums, saturation and count go into the step's
non-current slot, then a checksummed commit record makes that slot current together with
``blocks_done``/``frames_done``. A crash at any moment leaves the previous commit intact.

Every method raises :class:`RunWriteError` (one line) when a write fails; after that the writer only
tries to record ``failed`` and its reason in the pre-allocated ``/status`` and ``/failure``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from app.storage import layout as L
from app.storage.atomic import sync_directory
from app.storage.creation import (RunWriteError, StageSlots, reopen_for_writing, reserved_by_us, stage_slots,
                                  write_layout)
from app.storage.reader import RunFileError, read_commit_state, read_run_file
from app.storage.space import SpaceWatch, free_bytes, planned_size_bytes, write_error_message

_log = logging.getLogger(__name__)

STATUSES = L.STATUSES
CRASH_ENV = "QIUP_TEST_CRASH_AT"  # tests only: "<point>:<n>" exits the process at the n-th pass of point


class _CrashPoints:
    """Deterministic crash injection for tests: ``QIUP_TEST_CRASH_AT=commit.record:3`` exits at the 3rd pass."""

    def __init__(self):
        spec = os.environ.get(CRASH_ENV, "")
        self.point, _, n = spec.partition(":")
        self.n = int(n or 1) if self.point else 0
        self.seen = 0

    def __call__(self, point: str) -> None:
        if self.point == point:
            self.seen += 1
            if self.seen == self.n:
                os._exit(137)


class RunWriter:
    """The writer of one run file; make it with :meth:`create` (new run) or :meth:`adopt` (resume)."""

    def __init__(self, path: Path, h5: h5py.File, stages: dict[str, StageSlots], record: L.CommitRecord,
                 frames: int, growth_per_frame: int):
        self.path, self._h5, self._stages = Path(path), h5, stages
        self._record = record
        self._frames = frames
        self._growth_per_frame = growth_per_frame
        self._marks: dict[str, tuple[np.ndarray, set[int]]] = {}
        self._space = SpaceWatch(self.path)
        self._crash = _CrashPoints()
        self._broken: str | None = None
        self._detached = False
        self._threads_silenced: set[int] = set()
        # Datasets stay open for the writer's life: a dataset object freed mid-run makes HDF5 flush its
        # chunks inside a destructor, where a write error is printed and swallowed instead of raised.
        self._datasets: dict[str, h5py.Dataset] = {}
        status, failure = h5["status"], h5["failure"]
        self._fixed = {"status": (status.id.get_offset(), status.dtype.itemsize),
                       "failure": (failure.id.get_offset(), failure.dtype.itemsize)}

    # ------------------------------------------------------------------------ creation
    @classmethod
    def create(cls, path: Path, *, plan, plan_json: str, config_text: str, config_path: str,
               identities: dict[str, dict[str, str]], parameters: dict[str, Any],
               save_raw_frames: bool = False, raw_compression: str = "lzf",
               object_pixel_size_um: float | None = None) -> "RunWriter":
        """Create the file exclusively (never truncating another's), lay out ``plan``, switch to SWMR.

        ``object_pixel_size_um``: one pixel of the frames on the object (``app.bench.scale``); None: unknown.
        """
        path = Path(path)
        L.pixel_size_attr(object_pixel_size_um)  # ValueError for a nonsense size, before any file exists
        _silence_hdf5()
        need = planned_size_bytes(plan, save_raw_frames)
        try:
            free = free_bytes(path.parent)
        except OSError as exc:
            raise RunWriteError(f"{path.parent}: cannot write run files there ({exc.strerror or exc})") from None
        if free < need + 1024 * 1024:
            raise RunWriteError(f"disk full: the run needs about {need / 2**20:.1f} MB, {free / 2**20:.1f} MB free "
                                f"on {path.resolve().parent} (for {path})")
        reserved = path.exists() and reserved_by_us(path)
        try:
            h5 = h5py.File(path, "w" if reserved else "x", libver="latest")  # "w" only over our own reservation
        except FileExistsError:
            raise RunWriteError(f"{path}: already exists; run files are never overwritten") from None
        except OSError as exc:
            if path.exists() and not reserved:
                raise RunWriteError(f"{path}: already exists; run files are never overwritten") from None
            raise RunWriteError(write_error_message(exc, path, "creating")) from None
        try:
            stages = write_layout(h5, plan, plan_json, config_text, identities, parameters, save_raw_frames,
                                  raw_compression, object_pixel_size_um)
            h5.attrs["config_path"] = str(config_path)
            record = L.CommitRecord(0, 0, 0, np.zeros(sum(s.n_steps for s in stages.values()), np.uint8))
            h5[L.RECORD_NAMES[0]][...] = record.encode()
            h5.flush()
            h5.swmr_mode = True
        except BaseException as exc:
            with contextlib.suppress(Exception):
                h5.close()
            with contextlib.suppress(OSError):
                path.unlink()  # a half-made layout is no run file; the name is free again
            if isinstance(exc, (OSError, RuntimeError, ValueError)):
                raise RunWriteError(write_error_message(exc, path, "creating")) from None
            raise
        h, w = plan.frame_shape
        growth = L.PROVENANCE_DTYPE.itemsize + (2 * h * w if save_raw_frames else 0)
        return cls(path, h5, stages, record, 0, growth)

    @classmethod
    def adopt(cls, path: Path) -> "RunWriter":
        """Take over an interrupted run file (resume); refuses while its recorded writer is alive.

        Frames past the last commit are dropped. A file left by a crash keeps HDF5's "open for write"
        flags, which no API clears, so it is copied into a fresh file that replaces it atomically.
        """
        path = Path(path)
        _silence_hdf5()
        run = read_run_file(path)  # RunFileError for anything missing or torn
        if run.writer_alive:
            raise RunFileError(f"{path}: its writer (pid {run.writer_pid} on {run.writer_host}) is still running")
        try:
            h5 = reopen_for_writing(path)
        except RunFileError:
            raise
        except OSError as exc:
            raise RunWriteError(write_error_message(exc, path, "reopening")) from None
        try:
            stages = stage_slots(h5)
            record, _ = read_commit_state(h5, path)
            h5.attrs.update(status="running", writer_pid=os.getpid(), writer_host=socket.gethostname())
            h5["status"][()] = np.bytes_("running")
            h5["failure"][()] = np.bytes_("")
            _truncate(h5["frames/provenance"], h5.get("frames/raw"), record.frames_done)
            h5.flush()
            h5.swmr_mode = True
        except BaseException as exc:
            with contextlib.suppress(Exception):
                h5.close()
            if isinstance(exc, (OSError, RuntimeError, ValueError)):
                raise RunWriteError(write_error_message(exc, path, "reopening")) from None
            raise
        raw = h5.get("frames/raw")
        growth = L.PROVENANCE_DTYPE.itemsize + (0 if raw is None else 2 * int(np.prod(raw.shape[1:])))
        return cls(path, h5, stages, record, record.frames_done, growth)

    # ------------------------------------------------------------------------ commit points
    def commit_block(self, label: str, step: int, step_sum: np.ndarray, count: int, saturated: np.ndarray, *,
                     blocks_done: int, frames_done: int) -> None:
        """Make a block durable: the step's sums, count and saturation with the progress, or nothing."""
        st = self._stage(label)
        if not 0 <= step < st.n_steps:
            raise ValueError(f"{label}: step {step} outside 0..{st.n_steps - 1}")
        mark = self._marks.get(label)
        if mark is not None:
            if step in mark[1]:
                raise RuntimeError(f"{label}: step {step} committed twice in one cycle (its rollback slot is gone)")
            mark[1].add(step)
        k = st.first + step
        slot = 1 - int(self._record.slots[k])
        with self._writing("writing"):
            self._crash("commit.begin")
            sums_ds = self._ds(f"runs/{label}/sums")
            data = np.asarray(step_sum).astype(sums_ds.dtype, copy=False)
            sat = np.ascontiguousarray(saturated, bool).view(np.uint8)  # no copy
            sums_ds[slot, step] = data
            self._ds(f"runs/{label}/saturated")[slot, step] = sat
            self._ds(f"runs/{label}/slot_counts")[slot, step] = int(count)
            self._ds(f"runs/{label}/slot_crc32")[slot, step] = L.slot_checksum(count, data, sat)
            self._crash("commit.slot")
            self._h5.flush()
            self._crash("commit.slot_flushed")
            slots = self._record.slots.copy()
            slots[k] = slot
            self._write_record(slots, blocks_done, frames_done)
            self._crash("commit.done")

    def mark_cycle_start(self, label: str) -> None:
        """The slots current now are where :meth:`rollback_cycle` returns to (each step is written once per cycle)."""
        st = self._stage(label)
        self._marks[label] = (self._record.slots[st.first: st.first + st.n_steps].copy(), set())

    def rollback_cycle(self, label: str, *, blocks_done: int, frames_done: int) -> None:
        """Atomically back to the slots current at :meth:`mark_cycle_start`; frames past ``frames_done`` dropped."""
        st = self._stage(label)
        if label not in self._marks:
            raise RuntimeError(f"{label}: rollback without mark_cycle_start")
        saved, _ = self._marks[label]
        slots = self._record.slots.copy()
        slots[st.first: st.first + st.n_steps] = saved
        with self._writing("rolling back"):
            self._write_record(slots, blocks_done, frames_done)
            self._crash("rollback.record")
            _truncate(self._ds("frames/provenance"), self._ds("frames/raw") if self._has_raw else None, frames_done)
            self._frames = frames_done
            self._h5.flush()
            self._crash("rollback.done")
        self._marks[label] = (saved, set())

    def _write_record(self, slots: np.ndarray, blocks_done: int, frames_done: int) -> None:
        record = L.CommitRecord(self._record.seq + 1, int(blocks_done), int(frames_done), slots)
        self._ds(L.RECORD_NAMES[record.seq % 2])[...] = record.encode()
        self._crash("commit.record")
        self._h5.flush()
        self._record = record

    # ------------------------------------------------------------------------ other data
    def append_frame(self, provenance: tuple, raw: np.ndarray | None = None) -> None:
        n = self._frames
        with self._writing("writing a frame to"):
            prov = self._ds("frames/provenance")
            prov.resize((n + 1,))
            prov[n] = np.array(provenance, dtype=L.PROVENANCE_DTYPE)
            if raw is not None and self._has_raw:
                dset = self._ds("frames/raw")
                dset.resize((n + 1, *dset.shape[1:]))
                dset[n] = raw
            self._space.wrote(self._growth_per_frame)
            self._frames = n + 1

    @property
    def frames_written(self) -> int:
        return self._frames

    @property
    def blocks_done(self) -> int:
        return self._record.blocks_done

    def write_result(self, name: str, data, index: int | None = None) -> None:
        with self._writing(f"writing result {name} to"):
            dset = self._ds(f"results/{name}")
            if index is None:
                dset[()] = data
            else:
                dset[index] = data
            self._space.wrote(np.asarray(data).nbytes)
            self._h5.flush()

    def write_stage_array(self, label: str, name: str, index: int, value) -> None:
        with self._writing(f"writing {label}/{name} to"):
            self._ds(f"runs/{label}/{name}")[index] = value

    def log(self, level: str, message: str) -> None:
        with self._writing("logging to"):
            log = self._ds("log")
            n = log.shape[0]
            log.resize((n + 1,))
            log[n] = np.array((time.time(), level.encode()[:8], message.encode("utf-8", "replace")[:240]),
                              dtype=L.LOG_DTYPE)
            self._h5.flush()

    def finish(self, status: str, reason: str | None = None) -> None:
        """Final status (and the failure reason) into the file, then close; safe to call twice.

        After a write failure the status is ``failed`` whatever was asked, with the failure's reason;
        it is written in place into the pre-allocated ``/status`` and ``/failure`` (no new space), and
        the original :class:`RunWriteError` is raised again.
        """
        if status not in ("complete", "aborted", "failed"):
            raise ValueError(f"status must be complete, aborted or failed, got {status!r}")
        if not self._h5.id.valid:
            return
        _silence_hdf5()
        broken_before = self._broken
        if self._broken is not None:
            status, reason = "failed", reason or self._broken
        if not self._detached:
            try:
                self._h5.flush()
                self._sync()  # what the file holds reaches the disk before a status says it is there
            except Exception as exc:  # noqa: BLE001 - the data may not be on the disk: not complete
                self._broken = self._broken or write_error_message(exc, self.path, "syncing to the disk")
                status, reason = "failed", reason or self._broken
            try:
                self._ds("failure")[()] = np.bytes_(_fixed_bytes(reason or "", 512))
                self._ds("status")[()] = np.bytes_(status)
                self._h5.flush()
                self._sync()  # and the status too: a power cut after the run keeps it
            except Exception as exc:  # noqa: BLE001 - no room even for that: write the status in place
                self._broken = self._broken or write_error_message(exc, self.path, "finishing")
                self._detach(status, reason or self._broken)
        self._close()
        if self._broken is not None and self._broken != broken_before:
            raise RunWriteError(self._broken)  # finishing itself failed (an earlier failure was already raised)
        if self._broken is not None:
            return  # the file is SWMR-flagged or detached: /status says failed, the attribute stays
        try:
            with h5py.File(self.path, "r+") as h5:  # out of SWMR: attributes may change again
                h5.attrs["status"] = status
                h5.attrs["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        except OSError as exc:  # a live reader holds the file, or no space for the attribute: /status is final
            _log.warning("%s: root status attribute not updated (%s); /status says %r", self.path, exc, status)

    def close_without_status(self) -> None:
        """Close as a crash would leave it (used by tests)."""
        self._close()

    # ------------------------------------------------------------------------ internals
    @property
    def _has_raw(self) -> bool:
        return "frames/raw" in self._h5

    def _ds(self, name: str) -> h5py.Dataset:
        dset = self._datasets.get(name)
        if dset is None:
            dset = self._datasets[name] = self._h5[name]
        return dset

    def _sync(self) -> None:
        """fsync of the file (HDF5 flushes to the operating system only) and of its directory's entry."""
        os.fsync(self._h5.id.get_vfd_handle())
        sync_directory(self.path.parent)

    def _close(self) -> None:
        self._datasets.clear()
        if self._h5.id.valid:
            with contextlib.suppress(Exception):
                self._h5.close()

    def _detach(self, status: str, reason: str) -> None:
        """After HDF5 failed to write: point its file descriptor at /dev/null so that nothing it still
        holds (half-written chunks, metadata) reaches the file, then write the pre-allocated ``/status``
        and ``/failure`` in place. The file keeps its last commit, intact."""
        if self._detached:
            return
        self._detached = True
        try:
            fd = self._h5.id.get_vfd_handle()
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, fd)
            os.close(null)
        except Exception as exc:  # noqa: BLE001 - not the sec2 driver: leave the file as a crash would
            _log.error("%s: could not detach the failed HDF5 file (%s)", self.path, exc)
            return
        try:
            out = os.open(self.path, os.O_WRONLY)
            try:
                for name, text in (("failure", reason), ("status", status)):
                    offset, size = self._fixed[name]
                    os.pwrite(out, _fixed_bytes(text, size).ljust(size, b"\0"), offset)
                os.fsync(out)
            finally:
                os.close(out)
        except (OSError, TypeError) as exc:
            _log.error("%s: could not record the failure in the file (%s)", self.path, exc)

    def _stage(self, label: str) -> StageSlots:
        try:
            return self._stages[label]
        except KeyError:
            raise ValueError(f"{self.path}: no stage {label!r} in this run file") from None

    @contextlib.contextmanager
    def _writing(self, doing: str):
        """Turn any failure of h5py/HDF5 into one RunWriteError; once broken, refuse further writes."""
        if self._broken is not None:
            raise RunWriteError(self._broken)
        tid = threading.get_ident()
        if tid not in self._threads_silenced:
            _silence_hdf5()
            self._threads_silenced.add(tid)
        if self._space.needs_check():
            problem = self._space.check(self._growth_per_frame)
            if problem:
                self._broken = problem
                raise RunWriteError(problem)
        try:
            yield
        except RunWriteError as exc:
            self._broken = self._broken or str(exc)
            raise
        except (OSError, RuntimeError) as exc:  # h5py's wording of a failed write or flush
            self._broken = write_error_message(exc, self.path, doing)
            self._detach("failed", self._broken)
            raise RunWriteError(self._broken) from None


def _silence_hdf5() -> None:
    """HDF5 prints its error stack from threads h5py has not silenced; h5py's exception says it all."""
    with contextlib.suppress(Exception):
        h5py._errors.silence_errors()


def _fixed_bytes(text: str, size: int) -> bytes:
    return text.encode("utf-8", "replace")[:size]


def _truncate(prov: h5py.Dataset, raw: h5py.Dataset | None, n_frames: int) -> None:
    if prov.shape[0] > n_frames:
        prov.resize((n_frames,))
    if raw is not None and raw.shape[0] > n_frames:
        raw.resize((n_frames, *raw.shape[1:]))

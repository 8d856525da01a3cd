"""Reading run files for the GUI, off the GUI thread (Qt-free).

A :class:`FileWorker` thread does every read (a run file may be GBs, or being written by a run); the
GUI asks for a map, a plane, a projection or a section and polls for the answer on a timer. A newer
request of the same kind replaces one still waiting, so dragging a slider never builds a queue. Files
are only ever opened for reading, through the one reader (``app.storage.reader``), which also reads a
file being written (SWMR) or left by a crash.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.storage.opening import RunFileError, open_run_file
from app.storage.reader import is_results_file, read_results_file, read_run_file

PLANES_PER_READ = 8  # a projection reads this many planes at a time (bounded memory, short h5py lock holds)


# ------------------------------------------------------------------------------------ what was opened
@dataclass(frozen=True)
class OpenedFile:
    """A run file or a ``qiup reprocess`` results file as read now, with its ``qiup info`` summary."""

    path: Path
    stored: object  # StoredRun or StoredResults
    summary: str
    delays: np.ndarray | None = None  # delay of each plane of a delay scan's volumes, um (None: none written)
    start_times: np.ndarray | None = None  # start of each repeat of a time series, s (None: none written)
    read_at_s: float = field(default_factory=time.time)

    @property
    def is_run(self) -> bool:
        return hasattr(self.stored, "stages")

    @property
    def status(self) -> str:
        return self.stored.status if self.is_run else "results"

    @property
    def pixel_size_um(self) -> float | None:
        return self.stored.object_pixel_size_um

    @property
    def written_here(self) -> bool:
        """Being written by this very process (the GUI's own run; the reader's liveness check skips it)."""
        run = self.stored
        return (self.is_run and run.status == "running" and run.writer_pid == os.getpid()
                and run.writer_host == socket.gethostname())

    @property
    def writer_alive(self) -> bool:
        return self.is_run and (self.stored.writer_alive or self.written_here)

    @property
    def results(self) -> dict:
        return self.stored.results

    def stack_axis(self, name: str) -> tuple[str, np.ndarray | None]:
        """('delay', delays in um) for a delay-scan volume, else ('repeat', start times in s or None)."""
        n = self.results[name].shape[0]
        if self.delays is not None and self.delays.size == n:
            return "delay", self.delays
        return "repeat", self.start_times if self.start_times is not None and self.start_times.size == n else None


def open_file(path: str | Path) -> OpenedFile:
    """Read ``path`` (run or results file) and its text summary; RunFileError (one line) otherwise."""
    from app.cli.info_cmd import describe

    path = Path(path)
    stored = read_results_file(path) if is_results_file(path) else read_run_file(path)
    try:
        summary = describe(path)
    except RunFileError as exc:  # the file changed between the two reads (a run just finished): say so
        summary = f"{path}\n  summary not available ({exc})"
    return OpenedFile(path, stored, summary, _axis_values(stored, "delays_um"), _axis_values(stored, "start_time_s"))


def _axis_values(stored, name: str) -> np.ndarray | None:
    r = stored.results.get(name)
    return None if r is None or not r.written_bytes or len(r.shape) != 1 else np.asarray(r, float)


def status_text(opened: OpenedFile) -> str:
    """The file's status in words, honestly: what it holds and whether anyone is still writing it."""
    if not opened.is_run:
        return f"results file of qiup reprocess (source {opened.stored.attrs.get('source', '?')})"
    run = opened.stored
    held = f"{run.frames_done}/{run.total_frames} frames ({run.blocks_done}/{run.total_blocks} blocks) committed"
    if run.status == "complete":
        return f"complete: {held}"
    if run.status == "running":
        if opened.writer_alive:
            who = "this qiup process (the GUI's own run)" if opened.written_here else f"pid {run.writer_pid} on {run.writer_host}"
            return (f"running: being written by {who} (read-only view, "
                    f"refreshed while it runs); {held} so far; results are written when the run ends")
        return (f"running, but its writer (pid {run.writer_pid} on {run.writer_host or '?'}) is gone: the process "
                f"crashed or was killed; the file holds {held}; results were never computed "
                "(qiup resume FILE continues it, qiup reprocess FILE computes maps from what it holds)")
    why = f" ({run.failure})" if run.failure else ""
    return f"{run.status}{why}: {held}"


def computed(opened: OpenedFile, name: str) -> bool:
    """True when result ``name`` holds data (a run writes its results when it ends)."""
    return bool(opened.results[name].written_bytes)


def image_results(opened: OpenedFile) -> list[str]:
    """Results that are images: 2-D maps and 3-D stacks (delay-scan volumes, time-series maps)."""
    return [name for name, r in opened.results.items() if len(r.shape) in (2, 3)]


# ------------------------------------------------------------------------------------ reads
def _dataset(h5, opened: OpenedFile, name: str):
    key = f"results/{name}"
    if key not in h5:
        raise RunFileError(f"{opened.path}: /{key} is missing")
    return h5[key]


def _open(opened: OpenedFile):
    if opened.is_run:
        return open_run_file(opened.path)
    import h5py

    return h5py.File(opened.path, "r")


def read_map(opened: OpenedFile, name: str, index: int | None = None) -> np.ndarray:
    """A 2-D result, or plane ``index`` of a 3-D one, as float32 (masks as 0/1)."""
    with _open(opened) as h5:
        d = _dataset(h5, opened, name)
        data = d[()] if index is None else d[int(index)]
    return np.asarray(data, np.float32)


def max_projection(opened: OpenedFile, name: str) -> np.ndarray:
    """Maximum over the first axis of a 3-D result (NaN only where every plane is NaN), read in chunks."""
    with _open(opened) as h5:
        d = _dataset(h5, opened, name)
        out = None
        for z in range(0, d.shape[0], PLANES_PER_READ):
            chunk = np.asarray(d[z: z + PLANES_PER_READ], np.float32)
            part = np.fmax.reduce(chunk, axis=0)
            out = part if out is None else np.fmax(out, part)
    return out


def read_section(opened: OpenedFile, name: str, row: int) -> np.ndarray:
    """(planes, width) section of a 3-D result at image row ``row`` (x against delay: a B-scan)."""
    with _open(opened) as h5:
        return np.asarray(_dataset(h5, opened, name)[:, int(row), :], np.float32)


# ------------------------------------------------------------------------------------ the worker
@dataclass
class Job:
    """One request: its kind, a ticket (newer requests get bigger ones) and, once done, value or error."""

    kind: str
    ticket: int
    fn: Callable[[], object]
    done: bool = False
    value: object = None
    error: str | None = None


class FileWorker:
    """One daemon thread that runs read requests; per kind only the newest waiting request runs."""

    def __init__(self, name: str = "qiup-gui-files"):
        self._cond = threading.Condition()
        self._waiting: dict[str, Job] = {}
        self._ticket = 0
        self._running = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def request(self, kind: str, fn: Callable[[], object]) -> Job:
        """Queue ``fn`` as the newest request of ``kind`` (replacing one of that kind not yet started)."""
        with self._cond:
            self._ticket += 1
            job = Job(kind, self._ticket, fn)
            replaced = self._waiting.pop(kind, None)
            if replaced is not None:
                replaced.error, replaced.fn, replaced.done = "superseded by a newer request", None, True
            self._waiting[kind] = job
            self._cond.notify()
            return job

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                job = min(self._waiting.values(), key=lambda j: j.ticket)  # oldest kind first: none starves
                del self._waiting[job.kind]
                self._running += 1
            try:
                job.value = job.fn()
            except (RunFileError, OSError, KeyError, ValueError, IndexError) as exc:
                job.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - shown in the view; the worker goes on
                job.error = f"{type(exc).__name__}: {exc}"
            with self._cond:
                job.fn = None  # what it referred to is freed here, not later on some other thread
                job.done = True
                self._running -= 1

    def idle(self) -> bool:
        """Nothing waiting and nothing running."""
        with self._cond:
            return not self._waiting and not self._running

    def close(self, timeout_s: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout_s)


# ------------------------------------------------------------------------------------ the runs folder
@dataclass(frozen=True)
class RunEntry:
    """One file of the runs folder as listed: name, status and sequence (or why it cannot be read)."""

    path: Path
    modified_s: float
    status: str
    sequence: str


def list_runs(folder: Path, limit: int = 100) -> list[RunEntry]:
    """The newest ``limit`` .h5 files of ``folder`` (newest first) with their status, read-only."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = []
    for p in folder.glob("*.h5"):
        try:
            files.append((p.stat().st_mtime, p))
        except OSError:
            continue  # removed meanwhile
    entries = []
    for mtime, p in sorted(files, reverse=True)[:limit]:
        entries.append(RunEntry(p, mtime, *_peek(p)))
    return entries


def _alive(pid, host) -> bool:
    """The writer recorded in a file still runs (this process counts: the GUI's own run)."""
    from app.storage.opening import writer_alive

    host = host.decode() if isinstance(host, bytes) else str(host)
    return (int(pid) == os.getpid() and host == socket.gethostname()) or writer_alive(int(pid), host)


def _peek(path: Path) -> tuple[str, str]:
    """(status, sequence) of a run or results file, read-only; ('unreadable', why) otherwise."""
    if is_results_file(path):
        return "results", "reprocess"
    try:
        with open_run_file(path) as h5:
            status = h5["status"][()] if "status" in h5 else b"?"
            status = status.decode() if isinstance(status, bytes) else str(status)
            sequence = h5.attrs.get("sequence", "?")
            if status == "running" and not _alive(h5.attrs.get("writer_pid", -1), h5.attrs.get("writer_host", "")):
                status = "running, writer gone"
            return status, sequence.decode() if isinstance(sequence, bytes) else str(sequence)
    except (RunFileError, OSError, KeyError) as exc:
        return "unreadable", str(exc).splitlines()[0][:120]

"""The one reader of run files: any qiup run file (closed, being written, left by a crash) -> :class:`StoredRun`.

Everything small (status, parameters, plan, progress, counts, units, log) is read at once; sums,
saturation, results, provenance and raw frames are read when asked for, slice by slice, so a
1000-repeat time series is never loaded whole. Sums are resolved through the commit record
(:mod:`app.storage.layout`) and checked against their slot checksum on every read. A file that lacks
a dataset or attribute gives :class:`RunFileError` with one line naming the file and what is missing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from app.storage import layout as L
from app.storage.opening import RunFileError, open_run_file, writer_alive

__all__ = ["LazyResult", "LogEntry", "RunFileError", "StoredResults", "StoredRun", "StoredStage", "check_resumable",
           "is_results_file", "open_run_file", "read_commit_state", "read_results_file", "read_run_file",
           "validate_progress", "writer_alive"]


# ----------------------------------------------------------------------------------- helpers
def _need(h5, name: str, path: Path):
    if name not in h5:
        raise RunFileError(f"{path}: {h5.name.rstrip('/')}/{name} is missing")
    return h5[name]


def _attr(obj, key: str, path: Path):
    if key not in obj.attrs:
        where = obj.name if obj.name != "/" else ""
        raise RunFileError(f"{path}: attribute {where}/{key or ''} is missing".replace("//", "/"))
    value = obj.attrs[key]
    return value.decode() if isinstance(value, bytes) else value


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def read_commit_state(h5: h5py.File, path: Path) -> tuple[L.CommitRecord, int]:
    """The newest valid commit record (and how many were torn); RunFileError if none is valid."""
    raws = [_need(h5, name, path)[()] for name in L.RECORD_NAMES]
    record, torn = L.newest_valid_record(raws)
    if record is None:
        raise RunFileError(f"{path}: no valid commit record (both /commit records are torn or empty)")
    return record, torn


def _lazy_result(opener: Callable, path: Path, name: str, d: h5py.Dataset) -> "LazyResult":
    return LazyResult(opener, path, name, tuple(d.shape), d.dtype, _text(d.attrs.get("unit", "")),
                      _text(d.attrs.get("description", "")), int(d.id.get_storage_size()),
                      L.pixel_size_from_attr(d.attrs.get(L.PIXEL_SIZE_ATTR)))


# ----------------------------------------------------------------------------------- typed view
@dataclass(frozen=True)
class LogEntry:
    time_s: float  # unix time
    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


class LazyResult:
    """A result dataset read only when sliced (``r[5]``) or converted (``np.asarray(r)``)."""

    def __init__(self, opener: Callable, path: Path, name: str, shape: tuple, dtype: np.dtype, unit: str,
                 description: str, written_bytes: int, pixel_size_um: float | None = None):
        self._open, self.path, self.name, self.shape, self.dtype = opener, path, name, shape, dtype
        self.unit, self.description, self.written_bytes = unit, description, written_bytes
        self.pixel_size_um = pixel_size_um  # object-plane size of one pixel (2-D/3-D results), um; None: unknown

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __getitem__(self, key):
        with self._open(self.path) as h5:
            return _need(h5, f"results/{self.name}", self.path)[key]

    def __array__(self, dtype=None, copy=None):
        data = self[()]
        data = np.asarray(data)
        return data if dtype is None else data.astype(dtype)

    def __repr__(self) -> str:
        return f"<result {self.name} {self.shape} {self.dtype} [{self.unit}]>"


@dataclass(frozen=True, eq=False)
class StoredStage:
    """One stage's committed data: its settings, counts, and (read on demand) sums and saturation."""

    run: "StoredRun" = field(repr=False)
    label: str
    kind: str
    stage_index: int
    index: int
    shape: tuple[int, int]
    step_phases_rad: np.ndarray
    piezo_setpoints: np.ndarray
    frames_per_step: int
    cycles: int
    laser_emission: bool
    phase_lock: bool
    delay_um: float
    sample_in: int
    counts: np.ndarray  # (N,) frames in each step's committed sum
    slots: np.ndarray  # (N,) current slot of each step
    cycle_phase_rad: np.ndarray
    piezo_offset: np.ndarray
    sums_dtype: np.dtype

    @property
    def n_steps(self) -> int:
        return len(self.counts)

    @property
    def sums(self) -> np.ndarray:
        """(N, h, w) exact committed sums, each step verified against its slot checksum."""
        sums, _ = self.read()
        return sums

    @property
    def saturated(self) -> np.ndarray:
        """(h, w) bool: any committed frame of this stage reached the ADC maximum."""
        _, saturated = self.read()
        return saturated

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(sums (N, h, w), saturated (h, w)) from the current slots, checksums verified."""
        path = self.run.path
        sums = np.zeros((self.n_steps, *self.shape), self.sums_dtype)
        saturated = np.zeros(self.shape, bool)
        with self.run._open() as h5:
            g = _need(h5, f"runs/{self.label}", path)
            dsums, dsat, dcrc = (_need(g, n, path) for n in ("sums", "saturated", "slot_crc32"))
            for k in range(self.n_steps):
                if self.counts[k] == 0:
                    continue
                s = int(self.slots[k])
                data, sat = dsums[s, k], dsat[s, k]
                if L.slot_checksum(int(self.counts[k]), data, sat) != int(dcrc[s, k]):
                    raise RunFileError(f"{path}: /runs/{self.label} step {k} (slot {s}) does not match its "
                                       "checksum: the sums on disk are not the ones committed")
                if int(data.max(initial=0)) > int(self.counts[k]) * L.FRAME_MAX_ADU:
                    raise RunFileError(f"{path}: /runs/{self.label} step {k}: sums exceed {self.counts[k]} frames "
                                       f"x {L.FRAME_MAX_ADU} ADU")
                sums[k] = data
                saturated |= sat.astype(bool)
        return sums, saturated


@dataclass(frozen=True, eq=False)
class StoredRun:
    """A run file as stored: header, progress at the last valid commit, stages, results (lazy), log."""

    path: Path
    format_version: int
    status: str
    failure: str
    sequence: str
    software_version: str
    created: str
    finished: str
    parameters: dict
    plan_json: str
    config_text: str
    config_path: str
    writer_pid: int
    writer_host: str
    identities: dict[str, dict[str, str]]
    total_blocks: int
    total_frames: int
    blocks_done: int
    frames_done: int
    commit_seq: int
    torn_records: int
    frames_recorded: int
    has_raw_frames: bool
    stages: dict[str, StoredStage]
    results: dict[str, LazyResult]
    log: list[LogEntry]
    object_pixel_size_um: float | None = None  # one image pixel on the object, um; None: not recorded

    # -- conveniences (the scripting API's names) --------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        """The whole result ``name`` as an array (use ``run.results[name][i]`` for one slice)."""
        return np.asarray(self.results[name])

    @property
    def units(self) -> dict[str, str]:
        return {name: r.unit for name, r in self.results.items()}

    @property
    def counts(self) -> dict[str, np.ndarray]:
        return {label: s.counts for label, s in self.stages.items()}

    @property
    def sums(self) -> "_LazySums":
        return _LazySums(self)

    @property
    def writer_alive(self) -> bool:
        return self.status == "running" and writer_alive(self.writer_pid, self.writer_host)

    def stage(self, label: str) -> StoredStage:
        try:
            return self.stages[label]
        except KeyError:
            raise RunFileError(f"{self.path}: no stage /runs/{label}") from None

    def provenance(self, committed_only: bool = True) -> np.ndarray:
        """Per-frame records (structured array); by default only frames of committed blocks."""
        with self._open() as h5:
            prov = _need(h5, "frames/provenance", self.path)
            return prov[: self.frames_done] if committed_only else prov[()]

    def raw_frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Raw frames ``start:stop`` (uint16, ADU), read only now."""
        if not self.has_raw_frames:
            raise RunFileError(f"{self.path}: no raw frames (the run had save_raw_frames off)")
        stop = self.frames_done if stop is None else min(stop, self.frames_done)
        with self._open() as h5:
            return _need(h5, "frames/raw", self.path)[start:stop]

    def last_frame_id(self) -> int:
        """Camera frame id of the last committed frame (0: none)."""
        if self.frames_done == 0:
            return 0
        with self._open() as h5:
            return int(_need(h5, "frames/provenance", self.path)[self.frames_done - 1]["frame_id"])

    @contextlib.contextmanager
    def _open(self):
        with open_run_file(self.path) as h5:
            yield h5


class _LazySums:
    """``run.sums[label]``: one stage's sums, read when indexed."""

    def __init__(self, run: StoredRun):
        self._run = run

    def __getitem__(self, label: str) -> np.ndarray:
        return self._run.stage(label).sums

    def keys(self):
        return self._run.stages.keys()

    def __iter__(self):
        return iter(self._run.stages)


def read_run_file(path: str | Path) -> StoredRun:
    """Read a run file's header, progress (newest valid commit), stages and result index."""
    path = Path(path)
    with open_run_file(path) as h5:
        version = int(h5.attrs.get("format_version", 1))
        if version != L.FORMAT_VERSION:
            raise RunFileError(f"{path}: run file format {version}; this qiup reads format {L.FORMAT_VERSION}")
        record, torn = read_commit_state(h5, path)
        status = _text(_need(h5, "status", path)[()])
        failure = _text(_need(h5, "failure", path)[()])
        identities = {name: {k: _text(v) for k, v in g.attrs.items()} for name, g in h5.get("devices", {}).items()}
        groups = sorted(_need(h5, "runs", path).items(), key=lambda kv: int(_attr(kv[1], "stage_index", path)))
        run_fields = dict(
            path=path, format_version=version, status=status, failure=failure,
            sequence=str(_attr(h5, "sequence", path)), software_version=str(h5.attrs.get("software_version", "?")),
            created=str(h5.attrs.get("created", "")), finished=str(h5.attrs.get("finished", "")),
            parameters=json.loads(_attr(h5, "parameters_json", path)), plan_json=str(_attr(h5, "plan_json", path)),
            config_text=_text(_need(h5, "config/text", path)[()]), config_path=str(h5.attrs.get("config_path", "")),
            writer_pid=int(h5.attrs.get("writer_pid", -1)), writer_host=str(h5.attrs.get("writer_host", "")),
            identities=identities, total_blocks=int(_attr(h5, "total_blocks", path)),
            total_frames=int(_attr(h5, "total_frames", path)), blocks_done=record.blocks_done,
            frames_done=record.frames_done, commit_seq=record.seq, torn_records=torn,
            frames_recorded=int(_need(h5, "frames/provenance", path).shape[0]), has_raw_frames="frames/raw" in h5,
            stages={}, results={}, log=[], object_pixel_size_um=L.pixel_size_from_attr(
                h5.attrs.get(L.PIXEL_SIZE_ROOT_ATTR)),
        )
        run = StoredRun(**run_fields)
        first = 0
        for label, g in groups:
            dsums = _need(g, "sums", path)
            for name in ("saturated", "slot_counts", "slot_crc32", "cycle_phase_rad", "piezo_offset"):
                _need(g, name, path)
            n = dsums.shape[1]
            slots = record.slots[first: first + n]
            if len(slots) != n:
                raise RunFileError(f"{path}: the commit record covers {len(record.slots)} steps, /runs has more")
            counts = g["slot_counts"][()][slots, np.arange(n)]
            run.stages[label] = StoredStage(
                run=run, label=label, kind=str(_attr(g, "kind", path)), stage_index=int(_attr(g, "stage_index", path)),
                index=int(_attr(g, "index", path)), shape=tuple(dsums.shape[2:]),
                step_phases_rad=np.asarray(_attr(g, "step_phases_rad", path), float),
                piezo_setpoints=np.asarray(_attr(g, "piezo_setpoints", path), float),
                frames_per_step=int(_attr(g, "frames_per_step", path)), cycles=int(_attr(g, "cycles", path)),
                laser_emission=bool(_attr(g, "laser_emission", path)), phase_lock=bool(_attr(g, "phase_lock", path)),
                delay_um=float(_attr(g, "delay_um", path)), sample_in=int(_attr(g, "sample_in", path)),
                counts=counts.astype(np.int64), slots=slots.copy(), cycle_phase_rad=g["cycle_phase_rad"][()],
                piezo_offset=g["piezo_offset"][()], sums_dtype=dsums.dtype)
            first += n
        if first != len(record.slots):
            raise RunFileError(f"{path}: the commit record covers {len(record.slots)} steps, /runs has {first}")
        for name, d in _need(h5, "results", path).items():
            run.results[name] = _lazy_result(open_run_file, path, name, d)
        if "log" in h5:
            run.log.extend(LogEntry(float(t), _text(lvl), _text(msg)) for t, lvl, msg in h5["log"][()])
    return run


# ----------------------------------------------------------------------------------- resume checks
def validate_progress(run: StoredRun, plan) -> None:
    """Check that what resume would trust is consistent; RunFileError (one line) otherwise.

    ``plan`` is the engine's plan stored in the file (stages with ``label``/``n_steps``, blocks with
    ``stage``/``step``/``frames``). Checked: progress within the plan, frames_done equal to the plan's
    frames before blocks_done, every step's count equal to the plan's at blocks_done, provenance rows
    present, and every committed sum within its checksum and within count x 65535.
    """
    path, blocks = run.path, plan.blocks
    if not 0 <= run.blocks_done <= len(blocks):
        raise RunFileError(f"{path}: blocks_done {run.blocks_done} outside the plan's 0..{len(blocks)}")
    expected_counts = {s.label: np.zeros(s.n_steps, np.int64) for s in plan.stages}
    frames = 0
    for b in blocks[: run.blocks_done]:
        expected_counts[plan.stages[b.stage].label][b.step] += b.frames
        frames += b.frames
    if run.frames_done != frames:
        raise RunFileError(f"{path}: frames_done {run.frames_done} does not match the plan's {frames} frames "
                           f"in the first {run.blocks_done} blocks")
    if run.frames_recorded < run.frames_done:
        raise RunFileError(f"{path}: /frames/provenance has {run.frames_recorded} rows, {run.frames_done} committed")
    if [s.label for s in plan.stages] != list(run.stages):
        raise RunFileError(f"{path}: /runs stages {list(run.stages)} differ from the stored plan's")
    for label, expected in expected_counts.items():
        stage = run.stages[label]
        if stage.counts.shape != expected.shape or not np.array_equal(stage.counts, expected):
            raise RunFileError(f"{path}: /runs/{label} counts {stage.counts.tolist()} differ from the plan's "
                               f"{expected.tolist()} at block {run.blocks_done}")
        if expected.any():
            stage.read()  # checksums and the count x 65535 bound


def check_resumable(path: str | Path, plan_from_json: Callable[[str], object] | None = None) -> StoredRun:
    """Everything ``qiup resume`` checks before it opens the bench; RunFileError (one line) otherwise."""
    run = read_run_file(path)
    if run.status == "complete":
        raise RunFileError(f"{path}: the run is already complete; nothing to resume")
    if run.writer_alive:
        raise RunFileError(f"{path}: its writer (pid {run.writer_pid} on {run.writer_host}) is still running; "
                           "resume it when that process has ended")
    if plan_from_json is not None:
        try:
            plan = plan_from_json(run.plan_json)
        except (ValueError, TypeError, KeyError) as exc:
            raise RunFileError(f"{path}: the stored plan cannot be read ({exc})") from None
        validate_progress(run, plan)
    return run


# ----------------------------------------------------------------------------------- results files
@dataclass(frozen=True, eq=False)
class StoredResults:
    """A results file written by ``qiup reprocess``: its attributes and result maps (read lazily)."""

    path: Path
    attrs: dict
    results: dict[str, LazyResult]

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self.results[name])

    @property
    def object_pixel_size_um(self) -> float | None:
        """One image pixel on the object, um (None: not recorded)."""
        return L.pixel_size_from_attr(self.attrs.get(L.PIXEL_SIZE_ROOT_ATTR))


@contextlib.contextmanager
def _open_plain(path: Path):
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise RunFileError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0]})") from None
    with h5:
        yield h5


def is_results_file(path: str | Path) -> bool:
    """True for a ``qiup reprocess`` results file (a ``source`` attribute and /results, no /runs)."""
    try:
        with h5py.File(path, "r") as h5:
            return "source" in h5.attrs and "results" in h5 and "runs" not in h5
    except OSError:
        return False


def read_results_file(path: str | Path) -> StoredResults:
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"{path}: no such file")
    with _open_plain(path) as h5:
        results = {name: _lazy_result(_open_plain, path, name, d) for name, d in _need(h5, "results", path).items()}
        return StoredResults(path, {k: (_text(v) if isinstance(v, bytes) else v) for k, v in h5.attrs.items()}, results)

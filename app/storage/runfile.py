"""One HDF5 file per run, written in SWMR mode: everything pre-created, then filled in as it is made.

HDF5's single-writer/multiple-reader mode forbids creating objects or attributes once it is on, so the
writer creates the whole layout up front from the run's plan (docs/data-format.md, decision 0030):
step sums (fixed shape), results (NaN until computed), resizable per-frame provenance and raw frames,
and ``/status`` + ``/progress`` as small datasets that are overwritten. Every completed block is
flushed, so a crash keeps everything before it. ``finish`` leaves SWMR, sets the root ``status``
attribute and closes; afterwards the file opens with any HDF5 reader.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import h5py
import numpy as np

_log = logging.getLogger(__name__)

STATUSES = ("running", "complete", "aborted", "failed")
FORMAT_VERSION = 2
STATUS_DTYPE = "S16"
PROVENANCE_DTYPE = np.dtype([
    ("stage", "i4"), ("step", "i4"), ("cycle", "i4"), ("frame_id", "i8"), ("timestamp_s", "f8"),
    ("delay_um", "f8"), ("piezo_position", "f8"), ("laser_power_w", "f8"), ("exposure_s", "f8"),
])
PROVENANCE_UNITS = {"timestamp_s": "s (camera clock)", "delay_um": "um (delay stage readback)",
                    "piezo_position": "phase piezo unit (readback)", "laser_power_w": "W (measured)",
                    "exposure_s": "s"}
LOG_DTYPE = np.dtype([("time_s", "f8"), ("level", "S8"), ("message", "S240")])


def software_version() -> str:
    try:
        return version("qiup")
    except PackageNotFoundError:
        return "unknown"


def sums_dtype(frames_per_step: int) -> str:
    """uint32 while the sum of F 16-bit frames cannot overflow it, else uint64."""
    return "uint32" if frames_per_step * 65535 <= np.iinfo(np.uint32).max else "uint64"


class RunWriter:
    """The writer of one run file; create it with :meth:`create` (new run) or :meth:`adopt` (resume)."""

    def __init__(self, path: Path, h5: h5py.File):
        self.path, self._h5 = Path(path), h5
        self._frames = int(h5["frames/provenance"].shape[0])

    # ------------------------------------------------------------------------ creation
    @classmethod
    def create(cls, path: Path, *, plan, plan_json: str, config_text: str, config_path: str,
               identities: dict[str, dict[str, str]], parameters: dict[str, Any],
               save_raw_frames: bool = False, raw_compression: str = "lzf") -> "RunWriter":
        """Write the header and pre-create every dataset of ``plan`` (an engine Plan), then switch to SWMR."""
        path = Path(path)
        h5 = h5py.File(path, "w", libver="latest")
        try:
            _write_layout(h5, plan, plan_json, config_text, identities, parameters, save_raw_frames, raw_compression)
            h5.attrs["config_path"] = str(config_path)
            h5.flush()
            h5.swmr_mode = True
        except BaseException:
            h5.close()
            raise
        return cls(path, h5)

    @classmethod
    def adopt(cls, path: Path) -> "RunWriter":
        """Take over an interrupted run file for writing (see :func:`app.storage.runread.reopen_for_writing`)."""
        from app.storage.runread import reopen_for_writing

        h5 = reopen_for_writing(path)
        h5.attrs.update(status="running", writer_pid=os.getpid(), writer_host=socket.gethostname())
        h5["status"][()] = np.bytes_("running")
        h5.flush()
        h5.swmr_mode = True
        return cls(path, h5)

    # ------------------------------------------------------------------------ writing
    def write_step(self, label: str, step: int, sums: np.ndarray, count: int) -> None:
        group = self._h5[f"runs/{label}"]
        group["sums"][step] = sums
        group["counts"][step] = count

    def write_stage_array(self, label: str, name: str, index: int, value: float) -> None:
        self._h5[f"runs/{label}/{name}"][index] = value

    def set_blocks_done(self, n_blocks: int, n_frames: int) -> None:
        """Record progress (the resume point) and flush: everything up to here is on disk."""
        self._h5["progress/blocks_done"][()] = n_blocks
        self._h5["progress/frames_done"][()] = n_frames
        self._h5.flush()

    def append_frame(self, provenance: tuple, raw: np.ndarray | None = None) -> None:
        n = self._frames
        prov = self._h5["frames/provenance"]
        prov.resize((n + 1,))
        prov[n] = np.array(provenance, dtype=PROVENANCE_DTYPE)
        if raw is not None and "frames/raw" in self._h5:
            dset = self._h5["frames/raw"]
            dset.resize((n + 1, *dset.shape[1:]))
            dset[n] = raw
        self._frames = n + 1

    def truncate_frames(self, n_frames: int) -> None:
        """Drop frame records past ``n_frames`` (frames of a discarded cycle or an unfinished block)."""
        self._h5["frames/provenance"].resize((n_frames,))
        if "frames/raw" in self._h5:
            raw = self._h5["frames/raw"]
            raw.resize((n_frames, *raw.shape[1:]))
        self._frames = n_frames

    @property
    def frames_written(self) -> int:
        return self._frames

    def write_result(self, name: str, data, index: int | None = None) -> None:
        dset = self._h5[f"results/{name}"]
        if index is None:
            dset[()] = data
        else:
            dset[index] = data
        self._h5.flush()

    def log(self, level: str, message: str) -> None:
        log = self._h5["log"]
        n = log.shape[0]
        log.resize((n + 1,))
        log[n] = np.array((time.time(), level.encode()[:8], message.encode("utf-8", "replace")[:240]), dtype=LOG_DTYPE)
        self._h5.flush()

    def set_status(self, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        self._h5["status"][()] = np.bytes_(status)
        self._h5.flush()

    def finish(self, status: str) -> None:
        """Final status into ``/status`` and the root attribute, then close; safe to call twice."""
        if not self._h5.id.valid:
            return
        self.set_status(status)
        self._h5.close()
        try:
            with h5py.File(self.path, "r+") as h5:  # out of SWMR: attributes may change again
                h5.attrs["status"] = status
                h5.attrs["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        except OSError as exc:  # a live reader (qiup info, a notebook) holds the file: /status is final
            _log.warning("%s: root status attribute not updated while a reader has the file open (%s); "
                         "/status says %r", self.path, exc, status)

    def close_without_status(self) -> None:
        """Close as a crash would leave it (used by tests and by resume's hand-over)."""
        if self._h5.id.valid:
            self._h5.close()


RunFile = RunWriter  # the skeleton's name


def _write_layout(h5, plan, plan_json, config_text, identities, parameters, save_raw, compression) -> None:
    root = h5
    root.attrs["status"] = "running"
    root.attrs["format_version"] = FORMAT_VERSION
    root.attrs["sequence"] = plan.sequence
    root.attrs["software_version"] = software_version()
    root.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    root.attrs["parameters_json"] = json.dumps(parameters)
    root.attrs["plan_json"] = plan_json
    root.attrs["laser_power_w"] = plan.laser_power_w
    root.attrs["total_blocks"] = len(plan.blocks)
    root.attrs["total_frames"] = plan.total_frames()
    root.attrs["writer_pid"] = os.getpid()
    root.attrs["writer_host"] = socket.gethostname()
    root.create_dataset("status", data=np.bytes_("running"), dtype=STATUS_DTYPE)
    root.create_dataset("progress/blocks_done", data=0, dtype="i8")
    root.create_dataset("progress/frames_done", data=0, dtype="i8")
    root.create_dataset("config/text", data=config_text, dtype=h5py.string_dtype())
    for name, ident in identities.items():
        group = root.create_group(f"devices/{name}")
        for key, value in ident.items():
            group.attrs[key] = value
    h, w = plan.frame_shape
    for i, stage in enumerate(plan.stages):
        g = root.create_group(f"runs/{stage.label}")
        n = stage.n_steps
        g.create_dataset("sums", shape=(n, h, w), dtype=sums_dtype(stage.frames_per_step), chunks=(1, h, w),
                         fillvalue=0)
        g.create_dataset("counts", shape=(n,), dtype="i8", fillvalue=0)
        g.create_dataset("cycle_phase_rad", shape=(stage.cycles,), dtype="f8", fillvalue=np.nan)
        g.create_dataset("piezo_offset", shape=(stage.cycles,), dtype="f8", fillvalue=np.nan)
        g.attrs.update(kind=stage.kind, stage_index=i, index=stage.index, step_phases_rad=np.array(stage.step_phases_rad),
                       piezo_setpoints=np.array(stage.piezo_setpoints), frames_per_step=stage.frames_per_step,
                       cycles=stage.cycles, laser_emission=stage.laser_on, phase_lock=stage.phase_lock,
                       delay_um=np.nan if stage.delay_um is None else stage.delay_um,
                       sample_in=-1 if stage.sample_in is None else int(stage.sample_in))
    results = root.create_group("results")
    for spec in plan.results:
        fill = 0 if spec.dtype.startswith("uint") else np.nan
        d = results.create_dataset(spec.name, shape=spec.shape, dtype=spec.dtype, fillvalue=fill)
        d.attrs["unit"] = spec.unit
        if spec.description:
            d.attrs["description"] = spec.description
    prov = root.create_dataset("frames/provenance", shape=(0,), maxshape=(None,), dtype=PROVENANCE_DTYPE,
                               chunks=(256,))
    prov.attrs["units_json"] = json.dumps(PROVENANCE_UNITS)
    if save_raw:
        kw = {} if compression == "none" else {"compression": compression}
        root.create_dataset("frames/raw", shape=(0, h, w), maxshape=(None, h, w), dtype="uint16",
                            chunks=(1, h, w), **kw).attrs["unit"] = "ADU"
    root.create_dataset("log", shape=(0,), maxshape=(None,), dtype=LOG_DTYPE, chunks=(64,))

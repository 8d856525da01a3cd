"""Making run files: a free name reserved atomically, the whole layout pre-created and pre-allocated from
the plan (decision 0030), and a crashed file reopened for writing."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import h5py
import numpy as np

from app.storage import layout as L
from app.storage.opening import RunFileError, open_run_file

RESERVATION = b"qiup: run file name reserved by pid "


class RunWriteError(OSError):
    """A run file could not be written (disk full, size limit, I/O error, name taken); one line."""


def software_version() -> str:
    try:
        return version("qiup")
    except PackageNotFoundError:
        return "unknown"


def new_run_path(out_dir: Path, name: str) -> Path:
    """Reserve a free ``<out_dir>/<name>.h5`` atomically (``-1``, ``-2`` ... when taken) for this process."""
    out_dir = Path(out_dir)
    for n in range(10_000):
        path = out_dir / (f"{name}.h5" if n == 0 else f"{name}-{n}.h5")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunWriteError(f"{out_dir}: cannot write run files there ({exc.strerror or exc})") from None
        with os.fdopen(fd, "wb") as f:
            f.write(reservation_token())
        return path
    raise RunWriteError(f"{out_dir}: no free run file name for {name!r}")


def new_timestamped_run_path(out_dir: Path, sequence: str) -> Path:
    """``<out_dir>/<YYYYmmdd-HHMMSS>-<sequence>.h5`` reserved atomically: how the CLI and the GUI name runs."""
    return new_run_path(out_dir, f"{time.strftime('%Y%m%d-%H%M%S')}-{sequence}")


def release_unused_name(path: Path | None) -> None:
    """Remove this process's name reservation that never became a run file (the run stopped before making it)."""
    if path is not None and reserved_by_us(Path(path)):
        Path(path).unlink(missing_ok=True)


def reservation_token() -> bytes:
    return RESERVATION + f"{os.getpid()} on {socket.gethostname()}".encode()


def reserved_by_us(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4096) == reservation_token()
    except OSError:
        return False


class StageSlots:
    """Where one stage's steps live: its group and its first index in the commit record's slot table."""

    def __init__(self, label: str, first: int, n_steps: int, shape: tuple[int, int]):
        self.label, self.first, self.n_steps, self.shape = label, first, n_steps, shape


def stage_slots(h5: h5py.File) -> dict[str, StageSlots]:
    groups = sorted(h5["runs"].items(), key=lambda item: int(item[1].attrs["stage_index"]))
    out, first = {}, 0
    for label, g in groups:
        n, h, w = g["sums"].shape[1:]
        out[label] = StageSlots(label, first, n, (h, w))
        first += n
    return out


def reopen_for_writing(path: Path) -> h5py.File:
    """Open read-write; a file a crash left flagged "open for write" is first copied to a clean one."""
    try:
        return h5py.File(path, "r+", libver="latest")
    except OSError as exc:
        if "already open for write" not in str(exc) and "truncated file" not in str(exc):
            raise RunFileError(f"{path}: cannot open for writing ({str(exc).splitlines()[0]})") from None
    tmp = path.with_name(path.name + ".resume-tmp")
    try:
        with open_run_file(path) as src, h5py.File(tmp, "x", libver="latest") as dst:
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            for name in src:
                src.copy(src[name], dst, name=name)
    except FileExistsError:
        raise RunFileError(f"{path}: {tmp.name} exists (another resume in progress?); remove it if not") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.replace(tmp, path)
    return h5py.File(path, "r+", libver="latest")


def early_allocated(shape, dtype, fill, chunks=None) -> dict:
    """Dataset keywords that reserve the space at creation (fill written now), so commits never grow the file."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_ALLOC)
    kw = {"shape": shape, "dtype": dtype, "fillvalue": fill, "dcpl": dcpl}
    if chunks is not None:
        kw["chunks"] = chunks
    return kw


def write_layout(h5, plan, plan_json, config_text, identities, parameters, save_raw, compression,
                 object_pixel_size_um: float | None = None) -> dict:
    root = h5
    pixel_um = L.pixel_size_attr(object_pixel_size_um)
    root.attrs[L.PIXEL_SIZE_ROOT_ATTR] = pixel_um
    root.attrs["status"] = "running"
    root.attrs["format_version"] = L.FORMAT_VERSION
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
    # written now so their (contiguous) storage exists: a failed writer overwrites it in place
    root.create_dataset("status", **early_allocated((), L.STATUS_DTYPE, np.bytes_("running")))[()] = np.bytes_("running")
    root.create_dataset("failure", **early_allocated((), L.FAILURE_DTYPE, np.bytes_("")))[()] = np.bytes_("-" * 512)
    root["failure"][()] = np.bytes_("")
    root.create_dataset("config/text", data=config_text, dtype=h5py.string_dtype())
    for name, ident in identities.items():
        group = root.create_group(f"devices/{name}")
        for key, value in ident.items():
            group.attrs[key] = value
    h, w = plan.frame_shape
    stages, first = {}, 0
    root.create_group("runs")  # empty for a procedure (decision 0049): its records are results
    for i, stage in enumerate(plan.stages):
        g = root.create_group(f"runs/{stage.label}")
        n = stage.n_steps
        g.create_dataset("sums", **early_allocated((2, n, h, w), L.sums_dtype(stage.frames_per_step), 0, (1, 1, h, w)))
        g.create_dataset("saturated", **early_allocated((2, n, h, w), "uint8", 0, (1, 1, h, w)))
        g.create_dataset("slot_counts", **early_allocated((2, n), "i8", 0))
        g.create_dataset("slot_crc32", **early_allocated((2, n), "u4", 0))
        g.create_dataset("cycle_phase_rad", **early_allocated((stage.cycles,), "f8", np.nan))
        g.create_dataset("piezo_offset", **early_allocated((stage.cycles,), "f8", np.nan))
        g.attrs.update(kind=stage.kind, stage_index=i, index=stage.index, step_phases_rad=np.array(stage.step_phases_rad),
                       piezo_setpoints=np.array(stage.piezo_setpoints), frames_per_step=stage.frames_per_step,
                       cycles=stage.cycles, laser_emission=stage.laser_on, phase_lock=stage.phase_lock,
                       delay_um=np.nan if stage.delay_um is None else stage.delay_um,
                       sample_in=-1 if stage.sample_in is None else int(stage.sample_in))
        stages[stage.label] = StageSlots(stage.label, first, n, (h, w))
        first += n
    size = L.record_size(first)
    for name in L.RECORD_NAMES:
        root.create_dataset(name, **early_allocated((size,), "uint8", 0))
    results = root.create_group("results")
    for spec in plan.results:
        fill = 0 if spec.dtype.startswith("uint") else None if spec.dtype.startswith("S") else np.nan  # text: b""
        d = results.create_dataset(spec.name, shape=spec.shape, dtype=spec.dtype, fillvalue=fill)
        d.attrs["unit"] = spec.unit
        if len(spec.shape) >= 2:  # images and stacks: the object-plane size of their last two axes
            d.attrs[L.PIXEL_SIZE_ATTR] = pixel_um
        if spec.description:
            d.attrs["description"] = spec.description
    prov = root.create_dataset("frames/provenance", shape=(0,), maxshape=(None,), dtype=L.PROVENANCE_DTYPE,
                               chunks=(256,))
    prov.attrs["units_json"] = json.dumps(L.PROVENANCE_UNITS)
    if save_raw:
        kw = {} if compression == "none" else {"compression": compression}
        root.create_dataset("frames/raw", shape=(0, h, w), maxshape=(None, h, w), dtype="uint16",
                            chunks=(1, h, w), **kw).attrs["unit"] = "ADU"
    root.create_dataset("log", shape=(0,), maxshape=(None,), dtype=L.LOG_DTYPE, chunks=(64,))
    return stages



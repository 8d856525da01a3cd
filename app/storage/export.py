"""OME-TIFF export of result maps: one file per map, at its physical scale (Fiji/Bio-Formats, napari).

Pure: maps (data + unit, description, pixel size, Z or T axis) in, files out. A 2-D map is one plane
(YX); a delay-scan volume is a Z stack whose ``PhysicalSizeZ`` is the delay step (delay-stage travel,
um) with each plane's delay as ``PositionZ``; a time series is a T stack whose ``TimeIncrement`` is the
interval between repeats. Float maps are written as float32, masks as uint8. Every target is checked
before the first is written; each file is written whole or not at all (a temporary file renamed).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MICRON = "µm"  # OME's spelling of the micrometre (Bio-Formats and napari read this unit)
SUFFIX = ".ome.tif"


class ExportError(ValueError):
    """An export that cannot be done as asked (one line naming the file or map)."""


@dataclass(frozen=True)
class MapToExport:
    """One result map with what a viewer needs to show it at its real scale."""

    name: str
    data: np.ndarray  # (h, w), or (n, h, w) along ``axes[0]``
    axes: str  # "YX", "ZYX" or "TYX"
    unit: str
    description: str = ""
    pixel_size_um: float | None = None  # one pixel on the object
    z_positions_um: tuple[float, ...] | None = None  # delay of each Z plane
    time_points_s: tuple[float, ...] | None = None  # start of each T plane from the run start


@dataclass(frozen=True)
class Written:
    path: Path
    warnings: tuple[str, ...]


def output_path(out_dir: Path, stem: str, name: str) -> Path:
    return Path(out_dir) / f"{stem}-{name}{SUFFIX}"


def uniform_step(values, what: str) -> tuple[float | None, str | None]:
    """(|step|, None) for equally spaced values; (None, why) otherwise."""
    values = np.asarray(values, float)
    if values.size < 2:
        return None, f"only {values.size} {what}: no spacing"
    steps = np.diff(values)
    if not np.isfinite(steps).all() or steps[0] == 0:
        return None, f"{what} are not finite and distinct"
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0.0):
        return None, f"{what} are not equally spaced ({values.min():g} .. {values.max():g}, {values.size} values)"
    return abs(float(steps[0])), None


def ome_metadata(m: MapToExport, source: str) -> tuple[dict, list[str]]:
    """The OME metadata (tifffile's ``metadata=``) of one map, and the warnings about what is unknown."""
    warnings: list[str] = []
    annotation = {"qiup.map": m.name, "qiup.unit": m.unit or "-", "qiup.source": source}
    if m.description:
        annotation["qiup.description"] = m.description
    meta: dict = {"axes": m.axes, "Name": f"{m.name} [{m.unit or '-'}]",
                  "Description": f"{m.name} ({m.unit or 'no unit'}): {m.description or m.name}; from {source}"}
    if m.pixel_size_um is not None:
        meta.update(PhysicalSizeX=float(m.pixel_size_um), PhysicalSizeXUnit=MICRON,
                    PhysicalSizeY=float(m.pixel_size_um), PhysicalSizeYUnit=MICRON)
        annotation["qiup.pixel_size_um"] = repr(float(m.pixel_size_um))
    else:
        warnings.append(f"{m.name}: object pixel size unknown; written in pixels (no PhysicalSizeX/Y)")
    if m.axes == "ZYX":
        positions = tuple(float(z) for z in (m.z_positions_um or ()))
        step, why = uniform_step(positions, "delays")
        if step is not None:
            meta.update(PhysicalSizeZ=step, PhysicalSizeZUnit=MICRON)
        else:
            warnings.append(f"{m.name}: no PhysicalSizeZ ({why})")
        if len(positions) == m.data.shape[0]:
            meta["Plane"] = {"PositionZ": list(positions), "PositionZUnit": [MICRON] * len(positions)}
            annotation["qiup.delays_um"] = json.dumps(list(positions))
    elif m.axes == "TYX":
        times = tuple(float(t) for t in (m.time_points_s or ()))
        finite = np.isfinite(times).all() and len(times) == m.data.shape[0]
        if finite and len(times) >= 2:
            meta.update(TimeIncrement=float(np.mean(np.diff(times))), TimeIncrementUnit="s")
        else:
            warnings.append(f"{m.name}: no TimeIncrement (start times unknown or a single repeat)")
        if finite:
            meta["Plane"] = {"DeltaT": list(times), "DeltaTUnit": ["s"] * len(times)}
            annotation["qiup.start_time_s"] = json.dumps(list(times))
    elif m.axes != "YX":
        raise ExportError(f"{m.name}: axes {m.axes!r} cannot be exported (YX, ZYX or TYX)")
    meta["MapAnnotation"] = annotation
    return meta, warnings


def export_data(data) -> np.ndarray:
    """float32 for measured maps, uint8 for masks (bool or unsigned integer)."""
    data = np.asarray(data)
    if data.dtype == bool or np.issubdtype(data.dtype, np.unsignedinteger):
        return data.astype(np.uint8) if data.dtype != np.uint8 else data
    return data.astype(np.float32, copy=False)


def check_targets(paths: list[Path], overwrite: bool) -> None:
    """Refuse (one line) before anything is written: an existing file without ``overwrite``, a folder."""
    for path in paths:
        if path.is_dir():
            raise ExportError(f"{path}: is a folder; not overwritten")
        if path.exists() and not overwrite:
            raise ExportError(f"{path}: exists; not overwritten (give --force to replace it)")


def write_ome_tiff(path: Path, m: MapToExport, *, source: str) -> Written:
    """Write one map as an OME-TIFF, whole or not at all; returns the path and the warnings."""
    import tifffile

    data = export_data(m.data)
    if data.ndim != len(m.axes):
        raise ExportError(f"{m.name}: {data.ndim}-D data for axes {m.axes!r}")
    meta, warnings = ome_metadata(m, source)
    extra = {}
    if m.pixel_size_um is not None:  # plain TIFF readers (ImageJ without Bio-Formats): pixels per cm
        extra = {"resolution": (1e4 / m.pixel_size_um, 1e4 / m.pixel_size_um), "resolutionunit": "CENTIMETER"}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tifffile.imwrite(tmp, data, ome=True, photometric="minisblack", metadata=meta, **extra)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return Written(path, tuple(warnings))


def export_maps(maps: list[MapToExport], out_dir: Path, stem: str, *, source: str,
                overwrite: bool = False) -> list[Written]:
    """Write every map to ``<out_dir>/<stem>-<name>.ome.tif``; all targets are checked first."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: is a file, not a folder")
    paths = [output_path(out_dir, stem, m.name) for m in maps]
    check_targets(paths, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_ome_tiff(path, m, source=source) for path, m in zip(paths, maps, strict=True)]


# ----------------------------------------------------------------------------------- from stored files
def image_names(stored) -> list[str]:
    """Results of a run or results file that are images (2-D maps, 3-D stacks), in file order."""
    return [name for name, r in stored.results.items() if len(r.shape) in (2, 3)]


def _completed_repeats(stored) -> int | None:
    """Time series of an unfinished run: how many leading repeats have all their frames (None: n/a)."""
    stages = getattr(stored, "stages", None)
    if not stages or getattr(stored, "status", "complete") == "complete":
        return None
    done = 0
    for label, stage in stages.items():
        if label.startswith("sample_"):
            if int(stage.counts.sum()) < stage.frames_per_step * stage.n_steps:
                break
            done += 1
    return done


def map_from_stored(stored, name: str) -> MapToExport:
    """One image result of a stored run (``StoredRun``) or results file (``StoredResults``) with its scale."""
    result = stored.results[name]
    if not result.written_bytes:
        raise ExportError(f"{stored.path}: result {name} is not computed yet (the run is "
                          f"{getattr(stored, 'status', 'unfinished')})")
    pixel = result.pixel_size_um if result.pixel_size_um is not None else stored.object_pixel_size_um
    data = np.asarray(result)
    common = dict(name=name, unit=result.unit, description=result.description, pixel_size_um=pixel)
    if data.ndim == 2:
        return MapToExport(data=data, axes="YX", **common)
    n = data.shape[0]
    delays = stored.results.get("delays_um")
    if delays is not None and delays.shape == (n,):
        return MapToExport(data=data, axes="ZYX", z_positions_um=tuple(np.asarray(delays, float)), **common)
    times = stored.results.get("start_time_s")
    if times is not None and times.shape == (n,):
        keep = _completed_repeats(stored)
        keep = n if keep is None else min(keep, n)
        if keep == 0:
            raise ExportError(f"{stored.path}: result {name} has no completed repeat yet")
        return MapToExport(data=data[:keep], axes="TYX", time_points_s=tuple(np.asarray(times, float)[:keep]),
                           **common)
    raise ExportError(f"{stored.path}: result {name} {data.shape} is a stack without delays_um or start_time_s")


def select_maps(stored, names: list[str] | None) -> tuple[list[MapToExport], list[str]]:
    """The maps asked for (all computed images when ``names`` is None) and notes on those left out."""
    available = image_names(stored)
    if names is None:
        chosen, notes = [], []
        for name in available:
            if stored.results[name].written_bytes:
                chosen.append(map_from_stored(stored, name))
            else:
                notes.append(f"{name}: not computed yet; not exported")
        if not chosen:
            raise ExportError(f"{stored.path}: no computed image results to export")
        return chosen, notes
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ExportError(f"{stored.path}: no map {', '.join(unknown)}; available: {', '.join(available) or 'none'}")
    return [map_from_stored(stored, n) for n in dict.fromkeys(names)], []

"""OME-TIFF export of result maps: one file per map, at its physical scale (Fiji/Bio-Formats, napari).

Pure: maps (data + unit, description, pixel size, Z or T axis) in, files out. A 2-D map is one plane
(YX); a delay-scan volume is a Z stack whose ``PhysicalSizeZ`` is the delay step (delay-stage travel,
um) with each plane's delay as ``PositionZ``; a time series is a T stack whose ``TimeIncrement`` is the
interval between repeats. Float maps are written as float32, masks as uint8. Every target is checked
before the first is written; each file is written whole or not at all (a temporary file renamed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.storage.atomic import replacing

MICRON = "µm"  # OME's spelling of the micrometre (Bio-Formats and napari read this unit)
SUFFIX = ".ome.tif"


class ExportError(ValueError):
    """An export that cannot be done as asked (one line naming the file or map)."""


@dataclass(frozen=True)
class MapToExport:
    """One result map with what a viewer needs to show it at its real scale."""

    name: str
    data: np.ndarray  # (h, w), or (n, h, w) along ``axes[0]``; or a lazy result read plane by plane
    axes: str  # "YX", "ZYX" or "TYX"
    unit: str
    description: str = ""
    pixel_size_um: float | None = None  # one pixel on the object
    z_positions_um: tuple[float, ...] | None = None  # delay of each Z plane
    time_points_s: tuple[float, ...] | None = None  # start of each T plane from the run start
    planes: int | None = None  # export only the first ``planes`` of a stack (None: all)

    @property
    def shape(self) -> tuple[int, ...]:
        shape = tuple(self.data.shape) if hasattr(self.data, "shape") else np.shape(self.data)
        return shape if self.planes is None or len(shape) < 3 else (min(self.planes, shape[0]), *shape[1:])

    @property
    def dtype(self) -> np.dtype:
        """float32 for measured maps, uint8 for masks (bool or unsigned integer)."""
        dtype = np.dtype(self.data.dtype if hasattr(self.data, "dtype") else np.asarray(self.data).dtype)
        return np.dtype(np.uint8) if dtype == bool or np.issubdtype(dtype, np.unsignedinteger) else np.dtype(np.float32)

    def plane_data(self):
        """The planes in the export type, read one at a time (a long time series is never loaded whole)."""
        for i in range(self.shape[0]):
            yield np.asarray(self.data[i]).astype(self.dtype, copy=False)


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
        if len(positions) == m.shape[0]:
            meta["Plane"] = {"PositionZ": list(positions), "PositionZUnit": [MICRON] * len(positions)}
            annotation["qiup.delays_um"] = json.dumps(list(positions))
    elif m.axes == "TYX":
        times = tuple(float(t) for t in (m.time_points_s or ()))
        finite = np.isfinite(times).all() and len(times) == m.shape[0]
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

    shape, dtype = m.shape, m.dtype
    if len(shape) != len(m.axes):
        raise ExportError(f"{m.name}: {len(shape)}-D data for axes {m.axes!r}")
    meta, warnings = ome_metadata(m, source)
    if len(shape) == 2:
        data, extra = np.asarray(m.data).astype(dtype, copy=False), {}
    else:
        data, extra = m.plane_data(), {"shape": shape, "dtype": dtype}
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    extra["bigtiff"] = nbytes > 2**32 - 2**26  # classic TIFF ends at 4 GiB
    if m.pixel_size_um is not None:  # plain TIFF readers (ImageJ without Bio-Formats): pixels per cm
        extra.update(resolution=(1e4 / m.pixel_size_um, 1e4 / m.pixel_size_um), resolutionunit="CENTIMETER")
    with replacing(Path(path)) as tmp:
        tifffile.imwrite(tmp, data, ome=True, photometric="minisblack", metadata=meta, **extra)
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
    common = dict(name=name, unit=result.unit, description=result.description, pixel_size_um=pixel)
    if len(result.shape) == 2:
        return MapToExport(data=np.asarray(result), axes="YX", **common)
    n = result.shape[0]  # a stack: read plane by plane when written
    delays = stored.results.get("delays_um")
    if delays is not None and delays.shape == (n,):
        return MapToExport(data=result, axes="ZYX", z_positions_um=tuple(np.asarray(delays, float)), **common)
    times = stored.results.get("start_time_s")
    if times is not None and times.shape == (n,):
        keep = _completed_repeats(stored)
        keep = n if keep is None else min(keep, n)
        if keep == 0:
            raise ExportError(f"{stored.path}: result {name} has no completed repeat yet")
        return MapToExport(data=result, axes="TYX", time_points_s=tuple(np.asarray(times, float)[:keep]),
                           planes=keep, **common)
    raise ExportError(f"{stored.path}: result {name} {result.shape} is a stack without delays_um or start_time_s")


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
    not_images = [n for n in unknown if n in stored.results]
    if not_images:
        shapes = ", ".join(f"{n} {tuple(stored.results[n].shape)}" for n in not_images)
        raise ExportError(f"{stored.path}: {shapes} not an image; maps: {', '.join(available) or 'none'}")
    if unknown:
        raise ExportError(f"{stored.path}: no map {', '.join(unknown)}; available: {', '.join(available) or 'none'}")
    return [map_from_stored(stored, n) for n in dict.fromkeys(names)], []


# ----------------------------------------------------------------------------------- reading back
@dataclass(frozen=True)
class OmeSummary:
    """What an exported OME-TIFF says about itself (``qiup info``)."""

    path: Path
    axes: str
    shape: tuple[int, ...]
    dtype: np.dtype
    name: str
    annotations: dict[str, str]
    pixel_size_um: float | None
    z_step_um: float | None
    time_increment_s: float | None


def read_ome_summary(path: Path) -> OmeSummary:
    """The OME metadata of an OME-TIFF (ExportError, one line, for anything else)."""
    import xml.etree.ElementTree as ET

    import tifffile

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    try:
        with tifffile.TiffFile(path) as tif:
            text, series = tif.ome_metadata, tif.series[0]
            axes, shape, dtype = series.axes, tuple(series.shape), series.dtype
        if not text:
            raise ExportError(f"{path}: a TIFF without OME metadata (not a qiup export)")
        root = ET.fromstring(text)
    except (tifffile.TiffFileError, ET.ParseError, IndexError, OSError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(f"{path}: not a readable OME-TIFF ({why})") from None
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    image = root.find(f"{ns}Image")
    pixels = image.find(f"{ns}Pixels") if image is not None else None
    if pixels is None:
        raise ExportError(f"{path}: its OME metadata has no Image/Pixels")

    def length_um(key: str) -> float | None:
        value, unit = pixels.get(key), pixels.get(f"{key}Unit", MICRON)
        scale = {MICRON: 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3}.get(unit)
        return None if value is None or scale is None else float(value) * scale

    increment = pixels.get("TimeIncrement")
    return OmeSummary(path, axes, shape, np.dtype(dtype), image.get("Name", ""),
                      {m.get("K"): m.text or "" for m in root.iter(f"{ns}M")}, length_um("PhysicalSizeX"),
                      length_um("PhysicalSizeZ"), None if increment is None else float(increment))

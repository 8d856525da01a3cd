"""``qiup info FILE``: what a run file, a ``qiup reprocess`` results file or a ``qiup export`` OME-TIFF holds."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("info", help="summarise a run file, results file or exported OME-TIFF "
                                    "(works while written and after a crash)")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.cli import CliError
    from app.storage import RunFileError
    from app.storage.export import ExportError

    try:
        print(describe(args.file))
    except (RunFileError, ExportError) as exc:
        raise CliError(str(exc)) from None
    return 0


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def _result_lines(results) -> list[str]:
    lines = ["  results"]
    for r in results.values():
        state = "" if r.written_bytes else "(not yet)"
        lines.append(f"    {r.name:<22} {str(r.shape):<16} {str(r.dtype):<8} {_size(r.nbytes):>9}  "
                     f"{r.unit or '-':<5} {state}".rstrip())
    return lines


def _length(um: float) -> str:
    return f"{um / 1000:.3g} mm" if um >= 1000 else f"{um:.3g} um"


def _scale_lines(pixel_size_um: float | None, shape: tuple[int, ...] | None) -> list[str]:
    """Object-plane pixel size and the field of view of ``shape`` (h, w) images."""
    if pixel_size_um is None:
        return ["  pixel size unknown (not recorded): results are in camera pixels"]
    line = f"  pixel size {pixel_size_um:.4g} um on the object"
    if shape is not None:
        h, w = shape
        line += f"; field of view {_length(w * pixel_size_um)} x {_length(h * pixel_size_um)} ({w} x {h} px)"
    return [line]


def _image_shape(results, fallback=None) -> tuple[int, int] | None:
    for r in results.values():
        if len(r.shape) >= 2:
            return tuple(r.shape[-2:])
    return fallback


def _delay_lines(results) -> list[str]:
    """The delay axis of a delay scan (the Z axis of its volumes)."""
    r = results.get("delays_um")
    if r is None or not r.written_bytes or r.shape[0] < 1:
        return []
    import numpy as np

    from app.storage.export import uniform_step

    delays = np.asarray(r, float)
    step, _ = uniform_step(delays, "delays")
    spacing = f", step {step:.4g} um" if step is not None else ", unequal steps"
    return [f"  delays     {delays.min():.4g} .. {delays.max():.4g} um{spacing} ({delays.size} planes)"]


def describe_ome(path: Path) -> str:
    """An OME-TIFF written by ``qiup export``: map, unit, axes, shape, pixel size, field of view, Z/T spacing."""
    from app.storage.export import read_ome_summary

    ome = read_ome_summary(path)
    notes = ome.annotations
    lines = [f"{path}", f"  OME-TIFF exported by qiup from {notes.get('qiup.source', '?')}" if "qiup.map" in notes
             else "  OME-TIFF (not written by qiup export)"]
    if "qiup.map" in notes:
        meaning = f": {notes['qiup.description']}" if notes.get("qiup.description") else ""
        lines.append(f"  map        {notes['qiup.map']} [{notes.get('qiup.unit', '-')}]{meaning}")
    lines.append(f"  image      {ome.axes} {ome.shape} {ome.dtype}")
    lines += _scale_lines(ome.pixel_size_um, tuple(ome.shape[-2:]))
    if "Z" in ome.axes:
        step = f"step {ome.z_step_um:.4g} um" if ome.z_step_um is not None else "no spacing recorded"
        lines.append(f"  Z          {ome.shape[ome.axes.index('Z')]} planes, {step}")
    if "T" in ome.axes:
        step = f"every {ome.time_increment_s:.4g} s" if ome.time_increment_s is not None else "no interval recorded"
        lines.append(f"  T          {ome.shape[ome.axes.index('T')]} repeats, {step}")
    return "\n".join(lines)


def describe(path: Path) -> str:
    from app.storage.reader import is_results_file, read_results_file, read_run_file

    if path.suffix.lower() in (".tif", ".tiff"):
        return describe_ome(path)
    if is_results_file(path):
        res = read_results_file(path)
        lines = [f"{path}", f"  results file of qiup reprocess   source {res.attrs.get('source', '?')}   "
                            f"qiup {res.attrs.get('software_version', '?')}"]
        lines += _scale_lines(res.object_pixel_size_um, _image_shape(res.results))
        return "\n".join(lines + _result_lines(res.results))
    run = read_run_file(path)
    lines = [f"{path}", f"  status     {run.status}" + (f" ({run.writer_host} pid {run.writer_pid} writing)"
                                                       if run.writer_alive else "")]
    if run.failure:
        lines.append(f"  failure    {run.failure}")
    lines.append(f"  sequence   {run.sequence}   qiup {run.software_version}   created {run.created or '?'}")
    lines.append(f"  parameters {json.dumps(run.parameters)}")
    lines.append(f"  progress   {run.blocks_done}/{run.total_blocks} blocks, {run.frames_done}/{run.total_frames} "
                 f"frames committed" + (f" ({run.torn_records} torn commit record ignored)" if run.torn_records else ""))
    lines.append(f"  devices    {', '.join(run.identities) or '-'}")
    first_stage = next(iter(run.stages.values()), None)
    lines += _scale_lines(run.object_pixel_size_um, _image_shape(run.results, first_stage and first_stage.shape))
    lines.append("  stages")
    for label, stage in run.stages.items():
        expected = stage.frames_per_step * stage.n_steps
        lines.append(f"    {label:<14} {stage.kind:<9} {stage.n_steps} steps  {int(stage.counts.sum())}/{expected} frames")
    lines += _result_lines(run.results)
    lines += _delay_lines(run.results)
    raw = "with raw frames" if run.has_raw_frames else "no raw frames"
    lines.append(f"  frames     {run.frames_done} committed, {run.frames_recorded} recorded ({raw})")
    lines += [f"  {entry.level:<7}  {entry.message}" for entry in run.log]
    return "\n".join(lines)

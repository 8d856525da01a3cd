"""``qiup info FILE.h5``: what a run file (or a ``qiup reprocess`` results file) holds."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("info", help="summarise a run file or results file (works while written and after a crash)")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.cli import CliError
    from app.storage import RunFileError

    try:
        print(describe(args.file))
    except RunFileError as exc:
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


def describe(path: Path) -> str:
    from app.storage.reader import is_results_file, read_results_file, read_run_file

    if is_results_file(path):
        res = read_results_file(path)
        lines = [f"{path}", f"  results file of qiup reprocess   source {res.attrs.get('source', '?')}   "
                            f"qiup {res.attrs.get('software_version', '?')}"]
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
    lines.append("  stages")
    for label, stage in run.stages.items():
        expected = stage.frames_per_step * stage.n_steps
        lines.append(f"    {label:<14} {stage.kind:<9} {stage.n_steps} steps  {int(stage.counts.sum())}/{expected} frames")
    lines += _result_lines(run.results)
    raw = "with raw frames" if run.has_raw_frames else "no raw frames"
    lines.append(f"  frames     {run.frames_done} committed, {run.frames_recorded} recorded ({raw})")
    lines += [f"  {entry.level:<7}  {entry.message}" for entry in run.log]
    return "\n".join(lines)

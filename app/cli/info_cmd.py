"""``qiup info FILE.h5``: what a run file holds (status, sequence, progress, stages, results, log)."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("info", help="summarise a run file (works while it is written and after a crash)")
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


def describe(path: Path) -> str:
    import numpy as np

    from app.storage import file_status, open_run_file

    lines = []
    with open_run_file(path) as h5:
        a = h5.attrs
        lines.append(f"{path}")
        lines.append(f"  status     {file_status(h5)}")
        lines.append(f"  sequence   {a.get('sequence', '?')}   qiup {a.get('software_version', '?')}   "
                     f"created {a.get('created', '?')}")
        lines.append(f"  parameters {json.dumps(json.loads(a.get('parameters_json', '{}')))}")
        if "progress" in h5:
            lines.append(f"  progress   {int(h5['progress/blocks_done'][()])}/{a.get('total_blocks', '?')} blocks, "
                         f"{int(h5['progress/frames_done'][()])}/{a.get('total_frames', '?')} frames")
        lines.append(f"  devices    {', '.join(h5['devices'].keys()) if 'devices' in h5 else '-'}")
        lines.append("  stages")
        for label, g in h5["runs"].items():
            counts = g["counts"][()]
            expected = int(g.attrs.get("frames_per_step", 0)) * len(counts)
            lines.append(f"    {label:<14} {g.attrs.get('kind', '?'):<9} {len(counts)} steps  "
                         f"{int(counts.sum())}/{expected or '?'} frames")
        lines.append("  results")
        for name, d in h5.get("results", {}).items():
            data = d[()]
            done = bool(np.isfinite(data).any()) if data.dtype.kind == "f" else True
            lines.append(f"    {name:<22} {str(d.shape):<16} {d.attrs.get('unit', ''):<5} {'' if done else '(not yet)'}")
        if "frames/provenance" in h5:
            raw = "with raw frames" if "frames/raw" in h5 else "no raw frames"
            lines.append(f"  frames     {h5['frames/provenance'].shape[0]} recorded ({raw})")
        for t, level, message in h5["log"][()] if "log" in h5 else []:
            lines.append(f"  {level.decode():<7}  {message.decode()}")
    return "\n".join(lines)

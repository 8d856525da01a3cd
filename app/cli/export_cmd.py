"""``qiup export RUN.h5 --to DIR``: result maps as OME-TIFF files at their physical scale (Fiji, napari)."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("export", help="write result maps as OME-TIFF (physical pixel sizes; Fiji, napari)")
    p.add_argument("file", type=Path, help="a run file or a qiup reprocess results file (.h5)")
    p.add_argument("--maps", help="comma-separated map names (default: every computed image result)")
    p.add_argument("--to", dest="out_dir", type=Path, required=True, help="folder for <file>-<map>.ome.tif")
    p.add_argument("--force", action="store_true", help="replace existing files of the same names")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.cli import CliError
    from app.storage.export import ExportError, export_maps, select_maps
    from app.storage.reader import RunFileError

    names = None if args.maps is None else [n.strip() for n in args.maps.split(",") if n.strip()]
    if names is not None and not names:
        raise CliError(f"--maps {args.maps!r}: give map names separated by commas")
    try:
        stored = _read(args.file)
        maps, notes = select_maps(stored, names)
        written = export_maps(maps, args.out_dir, args.file.name.removesuffix(".h5"), source=str(args.file),
                              overwrite=args.force)
    except (RunFileError, ExportError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"--to {args.out_dir}: cannot write there ({exc.strerror or exc})") from None
    for note in notes:
        print(f"qiup: note: {note}", file=sys.stderr)
    for w in written:
        for warning in w.warnings:
            print(f"qiup: warning: {warning}", file=sys.stderr)
        print(f"qiup: wrote {w.path}")
    return 0


def _read(path: Path):
    """The run file or results file at ``path``, through the one reader (RunFileError: one line)."""
    from app.storage.reader import RunFileError, is_results_file, read_results_file, read_run_file

    if not path.is_file():
        raise RunFileError(f"{path}: no such file")
    return read_results_file(path) if is_results_file(path) else read_run_file(path)

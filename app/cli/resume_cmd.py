"""``qiup resume FILE.h5``: continue an interrupted run from its last completed block."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("resume", help="continue an interrupted run file from its last completed step")
    p.add_argument("file", type=Path, help="the run file (status running, aborted or failed)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    return 0 if resume_run(args.file).status == "complete" else 1


def resume_run(path: Path, *, stream=None):
    """Open the bench from the config stored in the file and finish the run; returns the RunResult."""
    from app.bench_factory import open_bench
    from app.cli import CliError
    from app.cli.run_cmd import ProgressPrinter, _quicklooks
    from app.config import LoadedConfig, parse_config_text
    from app.engine import Runner
    from app.storage import RunFileError, open_run_file, read_snapshot

    stream = stream or sys.stdout
    try:
        snap = read_snapshot(path)
        with open_run_file(path) as h5:
            config_path = Path(str(h5.attrs.get("config_path", path)))
    except RunFileError as exc:
        raise CliError(str(exc)) from None
    if snap.status == "complete":
        raise CliError(f"{path}: the run is already complete; nothing to resume")
    loaded = LoadedConfig(parse_config_text(snap.config_text, source=f"{path}:/config/text"), config_path,
                          snap.config_text)
    print(f"qiup: resuming {snap.sequence} in {path} ({snap.status}, {snap.frames_done} frames on disk)", file=stream)
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        ProgressPrinter(stream).connect(runner.events)
        try:
            result = runner.resume_run(path)
        except RunFileError as exc:
            raise CliError(str(exc)) from None
        finally:
            if runner.result is not None:
                print(f"qiup: run file {path} ({runner.result.status})", file=stream)
    if result.status == "complete":
        _quicklooks(result, Path(path), stream)
    return result

"""``qiup resume FILE.h5``: continue an interrupted run from its last commit point."""

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
    """Check the file (live writer, status, commit record, counts, checksums) before opening the bench,
    then finish the run from the config stored in the file; returns the RunResult."""
    from app.cli import CliError
    from app.engine.plan import plan_from_json
    from app.storage import RunFileError, RunWriteError, check_resumable

    stream = stream or sys.stdout
    try:
        run = check_resumable(path, plan_from_json)  # before any device is touched
    except RunFileError as exc:
        raise CliError(str(exc)) from None

    from app.bench_factory import open_bench
    from app.cli.run_cmd import ProgressPrinter, _quicklooks
    from app.config import LoadedConfig, parse_config_text
    from app.engine import Runner

    loaded = LoadedConfig(parse_config_text(run.config_text, source=f"{path}:/config/text"),
                          Path(run.config_path or path), run.config_text)
    print(f"qiup: resuming {run.sequence} in {path} ({run.status}, {run.frames_done} frames committed)", file=stream)
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        ProgressPrinter(stream).connect(runner.events)
        try:
            result = runner.resume_run(path)
        except (RunFileError, RunWriteError) as exc:
            raise CliError(str(exc)) from None
        finally:
            if runner.result is not None:
                print(f"qiup: run file {path} ({runner.result.status})", file=stream)
    if result.status == "complete":
        try:
            _quicklooks(result, Path(path), stream)
        except OSError as exc:  # the run is complete on disk; a quick-look that does not fit is no failure
            print(f"qiup: quick-looks not written ({exc.strerror or exc}); the run file is complete", file=stream)
    return result

"""``qiup resume FILE.h5``: continue an interrupted run from its last commit point."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("resume", help="continue an interrupted run file from its last completed step")
    p.add_argument("file", type=Path, help="the run file (status running, aborted or failed)")
    from app.cli.run_cmd import add_figures_option

    add_figures_option(p)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from app.cli.run_cmd import figure_formats

    return 0 if resume_run(args.file, figures=figure_formats(args.figures)).status == "complete" else 1


def resume_run(path: Path, *, stream=None, figures: tuple[str, ...] = ("png",)):
    """Check the file (live writer, status, commit record, counts, checksums) before opening the bench,
    then finish the run from the config stored in the file; returns the RunResult. Figures of a
    completed run are drawn as ``qiup run`` draws them (after the bench is closed)."""
    from app.cli import CliError
    from app.engine.plan import plan_from_json
    from app.storage import RunFileError, RunWriteError, check_resumable

    stream = stream or sys.stdout
    try:
        run = check_resumable(path, plan_from_json)  # before any device is touched
    except RunFileError as exc:
        raise CliError(str(exc)) from None

    from app.bench_factory import open_bench
    from app.cli.figure_process import FigureWorker, NoFigures
    from app.cli.run_cmd import ProgressPrinter, RunFigures, sample_name
    from app.config import LoadedConfig, parse_config_text
    from app.engine import Runner

    loaded = LoadedConfig(parse_config_text(run.config_text, source=f"{path}:/config/text"),
                          Path(run.config_path or path), run.config_text)
    print(f"qiup: resuming {run.sequence} in {path} ({run.status}, {run.frames_done} frames committed)", file=stream)
    with (FigureWorker if figures else NoFigures)() as worker:  # matplotlib loads while the bench connects
        drawn = RunFigures(worker, figures, sample=sample_name(loaded.settings))
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
                drawn.submit(result, Path(path), run.sequence)
        drawn.report(stream)  # bench closed, laser off; a figure failure is one line on stderr
    return result

"""Figures drawn in a helper process, so they use the second core while the command keeps computing.

``FigureWorker()`` starts ``python -m app.storage.figure_worker`` at once (this module imports
nothing heavy, and neither does the child before matplotlib), so the child imports matplotlib
(~0.4 s) while the caller is still reading and accumulating frames; ``prepare`` lets it lay the
figures out before the maps exist. Each ``submit`` sends one job (maps as raw bytes over a pipe,
app.storage.job_pipe; the child reads jobs as they come, so a submit never waits for drawing; see
app.storage.figure_worker for the job's arguments and how it shares the drawing with a second
process); ``results()`` waits for every job and returns the paths written, or raises
``FigureError`` with the child's one-line reason. Leaving the ``with`` block ends the child in
every case. Nothing here may hold up a run: callers submit after their data file is complete.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class FigureError(RuntimeError):
    """Figures could not be written (the data files are not affected)."""


class FigureWorker:
    """One figure process for the life of a command; use it as a context manager."""

    def __init__(self, helper: str = "auto") -> None:
        """``helper``: whether a second process shares the drawing: 'auto' (when a core is spare,
        app.storage.figure_worker.spare_core), 'always' or 'never'."""
        if helper not in ("auto", "always", "never"):
            raise ValueError(f"helper is auto, always or never, got {helper!r}")
        root = str(Path(__file__).resolve().parents[2])  # where the app package is, wherever we run from
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))))
        # drawing needs no BLAS threads, and an OpenBLAS pool thread spins ~0.1 s on a core when numpy loads
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        self._proc = subprocess.Popen([sys.executable, "-m", "app.storage.figure_worker", helper],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._pending = 0
        self._broken: str | None = None

    def submit(self, maps, units, **kwargs) -> None:
        """Queue ``write_figures(maps, units, **kwargs)`` in the child (returns once the child has the maps).

        Never raises: a child that has gone is reported by ``results()``."""
        from app.storage import job_pipe

        if self._broken:
            return
        try:
            job_pipe.send(self._proc.stdin, (dict(maps), dict(units), kwargs))
        except OSError as exc:  # BrokenPipeError: the child has ended
            self._broken = f"the figure process ended early ({exc})"
            return
        self._pending += 1

    def prepare(self, shape: tuple[int, int], units, **kwargs) -> None:
        """Let the child lay out the figures of ``submit(..., **kwargs)`` for maps of ``shape`` (axes,
        colour bars, labels, text sizes) before any map exists; ``kwargs`` must name every map coming
        (``expect``). One job like any other (its reply lists no paths)."""
        self.submit({}, units, shape=tuple(int(n) for n in shape), **kwargs)

    def results(self) -> list[Path]:
        """Paths written by every submitted job, in order; FigureError if any job failed."""
        import pickle

        from app.storage import job_pipe

        paths, errors = [], [] if self._broken is None else [self._broken]
        for _ in range(self._pending):
            try:
                ok, value = job_pipe.receive(self._proc.stdout)
            except (EOFError, pickle.UnpicklingError, ValueError) as exc:
                self._pending = 0
                raise FigureError(f"the figure process ended early ({exc or 'no reply'})") from None
            (paths.extend if ok else errors.append)(value)
        self._pending = 0
        if errors:
            raise FigureError("; ".join(errors))
        return paths

    def close(self) -> None:
        """End the child by the end of its input: it finishes the jobs it has, then exits at once
        (skipping matplotlib's interpreter teardown, so its CPU time is counted as a child's)."""
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()  # end of jobs: the child exits
            except OSError:
                pass
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None and self._proc.poll() is None:
            self._proc.kill()  # the caller failed: its figures are not wanted
        self.close()


class NoFigures:
    """Stands in for the figure process when no figures are wanted (``--figures none``)."""

    def submit(self, *args, **kwargs) -> None:
        pass

    def prepare(self, *args, **kwargs) -> None:
        pass

    def results(self) -> list[Path]:
        return []

    def close(self) -> None:
        pass

    def __enter__(self) -> NoFigures:
        return self

    def __exit__(self, *exc) -> None:
        pass

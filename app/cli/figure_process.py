"""Figures drawn in a helper process, so they use the second core while the command keeps computing.

``FigureWorker()`` starts ``python -m app.storage.figure_worker`` at once (this module imports
nothing heavy, and neither does the child before matplotlib), so the child imports matplotlib
(~0.4 s) while the caller is still reading and accumulating frames. Each ``submit`` sends one job
(maps pickled over a pipe; the child reads jobs as they come, so a submit never waits for drawing;
see app.storage.figure_worker for the job's arguments); ``results()`` waits for every job and
returns the paths written, or raises ``FigureError`` with the child's one-line reason. Leaving the
``with`` block ends the child in every case. Nothing here may hold up a run: callers submit after
their data file is complete.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path


class FigureError(RuntimeError):
    """Figures could not be written (the data files are not affected)."""


class FigureWorker:
    """One figure process for the life of a command; use it as a context manager."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # where the app package is, wherever we run from
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))))
        self._proc = subprocess.Popen([sys.executable, "-m", "app.storage.figure_worker"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        self._pending = 0
        self._broken: str | None = None

    def submit(self, maps, units, **kwargs) -> None:
        """Queue ``write_figures(maps, units, **kwargs)`` in the child (returns once the child has the maps).

        Never raises: a child that has gone is reported by ``results()``."""
        if self._broken:
            return
        try:
            pickle.dump((dict(maps), dict(units), kwargs), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except OSError as exc:  # BrokenPipeError: the child has ended
            self._broken = f"the figure process ended early ({exc})"
            return
        self._pending += 1

    def results(self) -> list[Path]:
        """Paths written by every submitted job, in order; FigureError if any job failed."""
        paths, errors = [], [] if self._broken is None else [self._broken]
        for _ in range(self._pending):
            try:
                ok, value = pickle.load(self._proc.stdout)
            except (EOFError, pickle.UnpicklingError) as exc:
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

    def results(self) -> list[Path]:
        return []

    def close(self) -> None:
        pass

    def __enter__(self) -> NoFigures:
        return self

    def __exit__(self, *exc) -> None:
        pass

"""The figure process's side of app.cli.figure_process: draw each job it is sent, reply with the paths.

Run as ``python -m app.storage.figure_worker``: jobs ``(maps, units, keyword arguments)`` arrive on
stdin as app.storage.job_pipe frames; each gets one reply ``(True, paths)`` or ``(False, one-line
reason)`` on stdout; end of input ends the process. The keyword arguments are those of
``write_figures`` plus ``expect`` (every map the figures will show, when the maps come over several
jobs, e.g. the first ones before the slow unwrapping) and ``shape`` (lay the figures out for maps
of this shape now, before any map is there: app.storage.figures.FigureSet.prepare). Each job writes
the figures it completes. Only matplotlib, numpy and the figure modules are loaded here. PNGs are
encoded in a thread (zlib lets go of the GIL) as soon as each figure is complete, while the next one
is drawn; an encoding's failure is that job's failure, as before.

The drawing is shared by two processes when a core is spare and the maps are not large
(``wants_helper``), so it uses both cores once the maps exist: this process reads its first job
(for ``qiup reprocess``, the layout job that comes before the maps) before any thread is started,
forks a helper that has that job as it is, and forwards it every later job as received; each of
the two draws every other panel; the helper sends back its panels' tiles and this process composes
the overview page. If the helper cannot be started or ends early, this process draws its panels
itself: a figure is never lost to it.
"""

from __future__ import annotations

import functools
import gc
import math
import os
import queue
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.storage import job_pipe


def _shares(panels: list[str]) -> tuple[list[str], list[str]]:
    """(this process's panels, the helper's): every other one, the helper taking the first, as this
    process also composes the overview."""
    return panels[1::2], panels[0::2]


def _figure_set(sets: dict, maps, units, *, title: str, pixel_size_um, out_stem, formats=("png",), overview=True,
                per_map=True, expect=None, shape=None, helper: bool | None = None, encoder=None,
                waiting=lambda: False):
    """(key, figure set, formats) of a job: its set is made on its first job. ``helper``: None when no
    helper shares the work, True in the helper, False in the process that has one; ``encoder``: the
    thread that encodes PNGs while the next figure is drawn; ``waiting()``: another job has come
    (the backgrounds still to render wait: ``idle``)."""
    from app.storage.figures import FigureSet, check_formats, panel_names

    formats = check_formats(formats)
    key = (str(out_stem), overview, per_map if isinstance(per_map, bool) else tuple(per_map))
    if key not in sets:
        names = list(expect or maps)
        draws = None if helper is None else _shares(panel_names(names, maps))[1 if helper else 0]
        sets[key] = FigureSet(names, units, title=title, pixel_size_um=pixel_size_um, overview=overview,
                              per_map=per_map, first_maps=maps, draws=draws, compose_overview=not helper,
                              encoder=encoder if "png" in formats else None)
    figures = sets[key]
    if shape is not None:
        figures.prepare(shape, stop=waiting)
    Path(out_stem).parent.mkdir(parents=True, exist_ok=True)
    return key, figures, formats


def _draw(sets: dict, maps, units, kwargs: dict, helper, encoder=None, waiting=lambda: False) -> list[Path]:
    """This process's part of one job: its panels, the helper's tiles, the overview; the paths.
    ``helper``: the helper that has this job too, or None (then every panel is drawn here)."""
    key, figures, formats = _figure_set(sets, maps, units, helper=None if helper is None else False, encoder=encoder,
                                        waiting=waiting, **kwargs)
    if helper is None:
        figures.take_over()  # a set begun with a helper that has gone since (nothing to do otherwise)
    out_stem = kwargs["out_stem"]
    written, error = [], None
    try:
        written += figures.write(figures.add(maps), out_stem, formats)
    except Exception as exc:  # noqa: BLE001 - the helper's reply to this job is still to be read
        error = exc
    if helper is not None:
        reply = helper.reply()
        if reply is None:  # the helper has gone: its panels are drawn here
            figures.take_over()
            if error is None:
                written += figures.write(figures.add({}), out_stem, formats)
        else:
            ok, value, tiles = reply
            if not ok and error is None:
                error = RuntimeError(value)
            elif error is None:
                written += value + figures.write(figures.add_tiles(tiles), out_stem, formats)
    if error is not None:
        raise error
    if figures.complete:
        del sets[key]
    order = {path: i for i, path in enumerate(figures.file_order(Path(out_stem), formats))}
    return sorted(written, key=lambda p: order.get(p, len(order)))


def _helper_part(sets: dict, maps, units, kwargs: dict, encoder=None, waiting=lambda: False) -> tuple[list[Path], dict]:
    """The helper's part of one job: its panels written; (paths, their tiles for the overview)."""
    key, figures, formats = _figure_set(sets, maps, units, helper=True, encoder=encoder, waiting=waiting, **kwargs)
    before = set(figures.tiles)
    written = figures.write(figures.add(maps), kwargs["out_stem"], formats)
    tiles = {name: tile for name, tile in figures.tiles.items() if name not in before}
    if figures.complete:
        del sets[key]
    return written, tiles


def _reader(stream, forward=None) -> queue.Queue:
    """A thread reading frames from ``stream`` as they come (a sender never waits for drawing: a map
    is larger than a pipe's buffer) into the returned queue as (job, forwarded), ``job()`` giving
    the job; None ends it. ``forward(frame)`` passes each frame on first and says whether it did."""
    jobs: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            while (frame := job_pipe.read_frame(stream)) is not None:
                jobs.put((functools.partial(job_pipe.load, frame), forward(frame) if forward else False))
        except (EOFError, OSError, ValueError):
            pass
        finally:
            jobs.put(None)

    threading.Thread(target=read, name="figure-jobs", daemon=True).start()
    return jobs


def _waiting(jobs: queue.Queue):
    """A predicate: True once another job (or the end of input) has come."""
    return lambda: not jobs.empty()


def _idle(sets: dict, waiting) -> None:
    """While no job waits: render the backgrounds of the panels still waiting for their maps."""
    for figures in list(sets.values()):
        figures.render_backgrounds(stop=waiting)


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _first_job(stream):
    """The first job, read before any thread exists: (maps, units, kwargs), the exception that
    reading it raised, or None at the end of the input."""
    try:
        frame = job_pipe.read_frame(stream)
        return None if frame is None else job_pipe.load(frame)
    except Exception as exc:  # noqa: BLE001 - replied as that job's failure
        return exc


def _given(job):
    """A job as a queue item's loader: the job itself, or its exception raised."""
    def load():
        if isinstance(job, Exception):
            raise job
        return job
    return load


def serve(stdin, stdout, helper_choice: str = "never") -> None:
    """One reply ``(True, paths)`` or ``(False, reason)`` per job, until end of input. The first job
    is read here, before any thread exists, so that the helper can be forked with it
    (``helper_choice``: see ``wants_helper``); it has that job as it is and is forwarded the others."""
    first = _first_job(stdin)
    if first is None:
        return
    helper = Helper.start(first) if not isinstance(first, Exception) and wants_helper(helper_choice, *first) else None
    jobs = _reader(stdin, None if helper is None else helper.forward)
    encoder = ThreadPoolExecutor(1, thread_name_prefix="png")  # threads only now: after the fork
    waiting = _waiting(jobs)
    sets: dict = {}  # figure sets still waiting for maps, by (out_stem, overview, per_map)
    item = (_given(first), helper is not None)
    while item is not None:
        load, shared = item
        try:
            maps, units, kwargs = load()
            reply = (True, _draw(sets, maps, units, kwargs, helper if shared else None, encoder, waiting))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
            sets.clear()  # a failed set is not completed later
            reply = (False, _failure(exc))
        del load
        job_pipe.send(stdout, reply)
        _idle(sets, waiting)
        item = jobs.get()
    if helper is not None:
        helper.close()


def _serve_helper(first, jobs_in, replies_out) -> None:
    """The helper's loop, from the first job it was forked with: one reply ``(True, paths, tiles)``
    or ``(False, reason, {})`` per job."""
    jobs = _reader(jobs_in)
    encoder = ThreadPoolExecutor(1, thread_name_prefix="png")
    waiting = _waiting(jobs)
    sets: dict = {}
    item = (_given(first), True)
    while item is not None:
        try:
            reply = (True, *_helper_part(sets, *item[0](), encoder, waiting))
        except Exception as exc:  # noqa: BLE001
            sets.clear()
            reply = (False, _failure(exc), {})
        job_pipe.send(replies_out, reply)
        _idle(sets, waiting)
        item = jobs.get()


class Helper:
    """The forked second drawing process, seen from this one: jobs forwarded, replies read."""

    def __init__(self, pid: int, jobs_out, replies_in) -> None:
        self.pid, self._jobs_out, self._replies_in = pid, jobs_out, replies_in
        self.gone = False

    @classmethod
    def start(cls, first) -> Helper | None:
        """Fork the helper with the first job (call before any thread exists); None if it cannot be
        started (also where there is no fork)."""
        if not hasattr(os, "fork"):
            return None
        jobs_r, jobs_w = os.pipe()
        replies_r, replies_w = os.pipe()
        gc.freeze()  # what is loaded stays shared with the helper: no collection writes to its pages
        try:
            with warnings.catch_warnings():
                # Python >= 3.12 warns about forking with any thread alive: here only OpenBLAS's pool
                # threads are, and OpenBLAS shuts them down and restarts them around a fork itself
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:
            for fd in (jobs_r, jobs_w, replies_r, replies_w):
                os.close(fd)
            return None
        if pid == 0:  # the helper: never returns
            code = 1
            try:
                os.close(jobs_w)
                os.close(replies_r)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)  # not the command's pipes: it sees their end when this process ends
                os.dup2(2, 1)
                _serve_helper(first, os.fdopen(jobs_r, "rb"), os.fdopen(replies_w, "wb"))
                code = 0
            finally:
                os._exit(code)
        os.close(jobs_r)
        os.close(replies_w)
        return cls(pid, os.fdopen(jobs_w, "wb"), os.fdopen(replies_r, "rb"))

    def forward(self, frame) -> bool:
        """Pass a job on (from the reader thread); False once the helper has gone."""
        if self.gone:
            return False
        try:
            job_pipe.write_frame(self._jobs_out, frame)
            return True
        except OSError:
            self.gone = True
            return False

    def reply(self):
        """The helper's reply to the next forwarded job, or None if it has gone."""
        try:
            return job_pipe.receive(self._replies_in)
        except (EOFError, OSError, ValueError):
            self.gone = True
            return None

    def close(self) -> None:
        """End of jobs: the helper exits; wait for it (so its CPU time is counted with ours)."""
        try:
            self._jobs_out.close()
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def spare_core() -> bool:
    """True when a second drawing process can have a core of its own: more than one core, and fewer
    processes wanting one over the last minute than there are cores. On a loaded machine the second
    process only adds the cost of the fork (pages copied on write), so the drawing stays in one."""
    cores = os.cpu_count() or 1
    try:
        return cores >= 2 and os.getloadavg()[0] < cores
    except (AttributeError, OSError):  # no load average on this system: assume a busy machine
        return False


HELPER_CHOICES = ("auto", "always", "never")
# Up to this many pixels a map's figures are worth two processes: larger maps take seconds to compute,
# their drawing is a small part of the command, and a second process holding them costs memory (the
# 2048^2 reprocessing must stay under 1 GiB in all).
HELPER_MAX_PIXELS = 2**21


def wants_helper(choice: str, maps, units, kwargs: dict) -> bool:
    """Whether a helper shares the drawing, given the first job: 'always', 'never', or 'auto': when
    a core is spare and the maps (the job's ``shape`` or its largest map) have at most
    ``HELPER_MAX_PIXELS``."""
    if choice != "auto":
        return choice == "always"
    shape = kwargs.get("shape") or max((np.shape(m)[:2] for m in maps.values()), key=math.prod, default=(0, 0))
    return math.prod(shape[:2]) <= HELPER_MAX_PIXELS and spare_core()


def main(argv: list[str] | None = None) -> None:
    """``python -m app.storage.figure_worker [auto|always|never]``: whether a helper shares the drawing
    (``wants_helper``)."""
    argv = sys.argv[1:] if argv is None else argv
    choice = argv[0] if argv else "auto"
    if choice not in HELPER_CHOICES:
        raise SystemExit(f"figure_worker: the helper is one of {', '.join(HELPER_CHOICES)}, got {choice!r}")
    # matplotlib loads now, before the first job arrives (the figure module and its axes classes too:
    # ~0.15 s that would otherwise fall on the first job)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import mpl_toolkits.axes_grid1.anchored_artists  # noqa: F401

    import app.storage.figures  # noqa: F401

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries replies only; any stray print goes to stderr
    serve(stdin, stdout, choice)
    os._exit(0)  # every reply is flushed and every figure file closed: skip matplotlib's teardown (~0.2 s)


if __name__ == "__main__":
    main()

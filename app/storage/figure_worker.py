"""The figure process's side of app.cli.figure_process: draw each job it is sent, reply with the paths.

Run as ``python -m app.storage.figure_worker``: jobs ``(maps, units, keyword arguments)`` arrive
pickled on stdin; each gets one reply ``(True, paths)`` or ``(False, one-line reason)`` on stdout;
end of input ends the process. The keyword arguments are those of ``write_figures`` plus
``expect``: every map the figures will show, when the maps come over several jobs (the first ones
before the slow unwrapping, say); each job writes the figures it completes
(app.storage.figures.FigureSet). Only matplotlib, numpy and the figure modules are loaded here.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path


def _job(sets: dict, maps, units, *, title: str, pixel_size_um, out_stem, formats=("png",), overview=True,
         per_map=True, expect=None) -> list[Path]:
    """Add one job's maps to its figure set (made on its first job) and write what they completed."""
    from app.storage.figures import FigureSet, check_formats

    formats = check_formats(formats)
    key = (str(out_stem), overview, per_map if isinstance(per_map, bool) else tuple(per_map))
    if key not in sets:
        sets[key] = FigureSet(list(expect or maps), units, title=title, pixel_size_um=pixel_size_um,
                              overview=overview, per_map=per_map, first_maps=maps)
    figures = sets[key]
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        return figures.write(figures.add(maps), out_stem, formats)
    finally:
        if figures.complete:
            del sets[key]


def serve(stdin, stdout) -> None:
    """One reply ``(True, paths)`` or ``(False, reason)`` per job, until end of input.

    Jobs are read as they arrive, by a thread, while earlier ones are drawn: a sender never waits
    for a busy worker (a map is larger than a pipe's buffer)."""
    import queue
    import threading

    jobs: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            while True:
                jobs.put(pickle.load(stdin))
        except (EOFError, OSError, pickle.UnpicklingError):
            jobs.put(None)

    threading.Thread(target=read, name="figure-jobs", daemon=True).start()
    sets: dict = {}  # figure sets still waiting for maps, by (out_stem, overview, per_map)
    while (job := jobs.get()) is not None:
        maps, units, kwargs = job
        try:
            reply = (True, _job(sets, maps, units, **kwargs))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
            sets.clear()  # a failed set is not completed later
            reply = (False, f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


def main() -> None:
    # matplotlib loads now, before the first job arrives (the figure module and its axes classes too:
    # ~0.15 s that would otherwise fall on the first job)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.image  # noqa: F401
    import mpl_toolkits.axes_grid1.anchored_artists  # noqa: F401

    import app.storage.figures  # noqa: F401

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries replies only; any stray print goes to stderr
    serve(stdin, stdout)
    os._exit(0)  # every reply is flushed and every figure file closed: skip matplotlib's teardown (~0.2 s)


if __name__ == "__main__":
    main()

"""The figure process's side of app.cli.figure_process: draw each job it is sent, reply with the paths.

Run as ``python -m app.storage.figure_worker``: jobs ``(maps, units, write_figures keyword arguments)``
arrive pickled on stdin; each gets one reply ``(True, paths)`` or ``(False, one-line reason)`` on
stdout; end of input ends the process.
"""

from __future__ import annotations

import pickle
import sys


def serve(stdin=None, stdout=None) -> None:
    """The child's loop: one reply ``(True, paths)`` or ``(False, reason)`` per job, until end of input."""
    import matplotlib.backends.backend_agg  # noqa: F401  (matplotlib loads now, before the first job arrives)
    import matplotlib.colorbar  # noqa: F401
    import mpl_toolkits.axes_grid1.anchored_artists  # noqa: F401

    from app.storage.figures import write_figures

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries replies only; any stray print goes to stderr
    while True:
        try:
            maps, units, kwargs = pickle.load(stdin)
        except EOFError:
            return
        try:
            reply = (True, write_figures(maps, units, **kwargs))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
            reply = (False, f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    serve()

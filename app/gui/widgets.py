"""Small helpers shared by the GUI's panels."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6 import QtCore


def set_style(widget, style: str) -> None:
    """``setStyleSheet`` only when the style changes: every call restyles and repaints the widget, which
    costs the GUI thread milliseconds when done by a 50 ms timer."""
    if widget.styleSheet() != style:
        widget.setStyleSheet(style)


class _PrefersSmallSize:
    """Prefers 240 x 160 px: a panel in a scroll area (``MainWindow._dock``) with word-wrapped labels is laid
    out at its preferred height, and pyqtgraph's 640 x 480 made such panels scroll; extra room still goes
    to the view through its layout stretch."""

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(240, 160)


class SmallPlotWidget(_PrefersSmallSize, pg.PlotWidget):
    """A ``pg.PlotWidget`` for a docked panel (see ``_PrefersSmallSize``)."""


class SmallGraphicsLayout(_PrefersSmallSize, pg.GraphicsLayoutWidget):
    """A ``pg.GraphicsLayoutWidget`` for a docked panel (see ``_PrefersSmallSize``)."""

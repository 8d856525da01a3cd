"""Dock layout mending that QMainWindow needs: stray tab bars hidden, a first size that fits the screen."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets


def stray_tab_bars(window: QtWidgets.QMainWindow) -> list[QtWidgets.QTabBar]:
    """Visible dock tab bars that no dock group uses: Qt 6 leaves the tab bar of a group it has
    regrouped (or restored) shown at its old place, with stale tabs painted over the panels. A
    group's real tab bar runs along its raised dock (same x and width)."""
    direct = QtCore.Qt.FindChildOption.FindDirectChildrenOnly  # docks and their tab bars: no deep search
    spans = {(d.x(), d.width()) for d in window.findChildren(QtWidgets.QDockWidget, options=direct)
             if d.isVisible() and not d.isFloating()}
    bars = window.findChildren(QtWidgets.QTabBar, options=direct)
    return [bar for bar in bars if bar.isVisible() and (bar.x(), bar.width()) not in spans]


def hide_stray_tab_bars(window: QtWidgets.QMainWindow) -> None:
    for bar in stray_tab_bars(window):
        bar.hide()


def first_size(window: QtWidgets.QWidget, width: int = 1600, height: int = 1000) -> QtCore.QSize:
    """``width`` x ``height``, or the free area of the window's screen where that is smaller."""
    screen = window.screen()
    if screen is None:
        return QtCore.QSize(width, height)
    free = screen.availableGeometry()
    return QtCore.QSize(min(width, free.width()), min(height, free.height()))

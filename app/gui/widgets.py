"""Small helpers shared by the GUI's panels."""

from __future__ import annotations


def set_style(widget, style: str) -> None:
    """``setStyleSheet`` only when the style changes: every call restyles and repaints the widget, which
    costs the GUI thread milliseconds when done by a 50 ms timer."""
    if widget.styleSheet() != style:
        widget.setStyleSheet(style)

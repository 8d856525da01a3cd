"""The main window's layout: it fits a laptop screen, every panel stays reachable by scrolling, and
each group of tabbed panels has exactly one tab bar (Qt 6 leaves a stale one shown after regrouping)."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from tests.gui.conftest import wait_until

LEFT_TABS = ["Sequence", "Laser", "SLM", "Runs"]
RIGHT_TABS = ["QIUP maps", "Results", "Coherence alignment", "Adaptive optics"]


def _shown_tab_bars(window) -> list[list[str]]:
    bars = window.findChildren(QtWidgets.QTabBar, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
    return sorted([bar.tabText(i) for i in range(bar.count())] for bar in bars if bar.isVisible())


def test_a_tab_bar_qt_leaves_behind_after_regrouping_is_hidden(qtbot):
    """Two groups tabified as the main window does: Qt 6.11 shows a third, stale tab bar over the
    panels; hide_stray_tab_bars leaves one per group."""
    from app.gui.dock_layout import hide_stray_tab_bars

    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QtWidgets.QLabel("live view"))
    area = QtCore.Qt.DockWidgetArea
    docks = {}
    for title, where in (("a1", area.LeftDockWidgetArea), ("b1", area.RightDockWidgetArea),
                         ("b2", area.RightDockWidgetArea), ("a2", area.LeftDockWidgetArea),
                         ("b3", area.RightDockWidgetArea)):
        docks[title] = QtWidgets.QDockWidget(title, window)
        docks[title].setWidget(QtWidgets.QLabel(title))
        window.addDockWidget(where, docks[title])
    window.tabifyDockWidget(docks["a1"], docks["a2"])
    window.tabifyDockWidget(docks["b1"], docks["b3"])
    window.tabifyDockWidget(docks["b3"], docks["b2"])
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    hide_stray_tab_bars(window)
    assert _shown_tab_bars(window) == [["a1", "a2"], ["b1", "b3", "b2"]]


def test_each_tab_group_of_the_main_window_shows_one_tab_bar(make_window, qtbot):
    window = make_window()
    wait_until(qtbot, lambda: _shown_tab_bars(window) == sorted([LEFT_TABS, RIGHT_TABS]),
               what="one tab bar per group of tabbed panels")
    window.tabifyDockWidget(window.panels["runs"], window.panels["camera"])  # the user regroups panels
    wait_until(qtbot, lambda: _shown_tab_bars(window) == sorted([LEFT_TABS + ["Camera"], RIGHT_TABS]),
               what=lambda: f"one tab bar per group after regrouping (shown: {_shown_tab_bars(window)})")


def test_the_window_fits_a_1280_x_720_screen_and_its_panels_scroll_instead(make_window):
    window = make_window()
    needed = window.minimumSizeHint()
    assert needed.width() <= 1280 and needed.height() <= 720 - 40  # a task bar or a menu bar on the screen
    sequence = window.panel("sequence")
    assert sequence.minimumSizeHint().height() > 300  # the form is taller than its dock may be: it scrolls
    assert isinstance(window.panels["sequence"].widget(), QtWidgets.QScrollArea)


def test_the_first_window_size_is_clamped_to_the_free_screen_area(qtbot):
    from app.gui.dock_layout import first_size

    widget = QtWidgets.QWidget()
    qtbot.addWidget(widget)
    free = widget.screen().availableGeometry()
    assert first_size(widget, 100, 80) == QtCore.QSize(100, 80)
    assert first_size(widget, free.width() + 500, free.height() + 500) == free.size()


def test_panels_with_plots_fit_their_dock_at_the_default_window_size_without_scrolling(make_window, qtbot):
    """The adaptive-optics, alignment and SLM panels hold plots next to word-wrapped labels: their scroll
    area lays them out at their preferred height, which pyqtgraph's 640 x 480 made taller than the dock."""
    window = make_window()  # 1600 x 1000, as the GUI opens on a desktop screen
    for name in ("ao", "alignment", "slm"):
        window.panels[name].raise_()
        scroll = window.panels[name].widget()
        wait_until(qtbot, lambda: scroll.viewport().height() > 300, what=f"the {name} dock laid out")
        panel = window.panel(name)
        wait_until(qtbot, lambda: panel.height() <= scroll.viewport().height(), timeout_s=5.0,
                   what=lambda: f"{name}: {panel.height()} px in a {scroll.viewport().height()} px dock")
        assert not scroll.verticalScrollBar().isVisible()

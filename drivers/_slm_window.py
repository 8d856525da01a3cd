"""The Qt side of the screen SLM (imported only by ``ScreenSlm.connect``): screen lookup, the
frameless full-screen window that paints a gray image 1:1 in device pixels, and a bridge that runs
repaints in the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from drivers.interfaces import DeviceNotConnected


def application() -> QtWidgets.QApplication:
    """The running QApplication, or a new one (uses QT_QPA_PLATFORM, e.g. offscreen in tests)."""
    app = QtWidgets.QApplication.instance()
    return app if app is not None else QtWidgets.QApplication([])


def find_screen(selector: str | int, *, device: str) -> QtGui.QScreen:
    screens = application().screens()
    names = [s.name() for s in screens]
    if isinstance(selector, int):
        if 0 <= selector < len(screens):
            return screens[selector]
    else:
        for screen in screens:
            if screen.name() == selector:
                return screen
    raise DeviceNotConnected(f"no screen {selector!r} (screens: {names})", device=device)


class SlmWindow(QtWidgets.QWidget):
    """Frameless, full screen on one QScreen, painting ``self.gray`` at one image pixel per device pixel."""

    def __init__(self, screen: QtGui.QScreen):
        super().__init__(None, QtCore.Qt.WindowType.FramelessWindowHint | QtCore.Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("qiup SLM")
        self.setCursor(QtCore.Qt.CursorShape.BlankCursor)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.dpr = screen.devicePixelRatio()
        self.setGeometry(screen.geometry())
        self.gray = np.zeros(self.device_shape(), np.uint8)
        self._image = self._to_image(self.gray)
        self.show()
        handle = self.windowHandle()
        if handle is not None:
            handle.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.showFullScreen()

    def device_shape(self) -> tuple[int, int]:
        size = self.geometry().size()
        return round(size.height() * self.dpr), round(size.width() * self.dpr)

    def set_gray(self, gray: np.ndarray) -> None:
        self.gray = np.ascontiguousarray(gray, dtype=np.uint8)
        self._image = self._to_image(self.gray)
        self.repaint()

    def _to_image(self, gray: np.ndarray) -> QtGui.QImage:
        h, w = gray.shape
        image = QtGui.QImage(gray.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8).copy()
        image.setDevicePixelRatio(self.dpr)  # so drawImage maps one image pixel to one device pixel
        return image

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QtGui.QPainter(self)
        painter.drawImage(QtCore.QPointF(0, 0), self._image)
        painter.end()


class PaintBridge(QtCore.QObject):
    """Lives in the GUI thread; ``request.emit((gray, event))`` from any thread repaints and sets event."""

    request = QtCore.pyqtSignal(object)

    def __init__(self, window: SlmWindow):
        super().__init__()
        self.window = window
        self.request.connect(self._on_request, QtCore.Qt.ConnectionType.QueuedConnection)

    def in_gui_thread(self) -> bool:
        return QtCore.QThread.currentThread() is self.thread()

    def flush(self) -> None:
        application().processEvents()

    def _on_request(self, payload) -> None:
        gray, done = payload
        self.window.set_gray(gray)
        done.set()


def make_window(screen: QtGui.QScreen) -> tuple[SlmWindow, PaintBridge]:
    window = SlmWindow(screen)
    application().processEvents()
    return window, PaintBridge(window)

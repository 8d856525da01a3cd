"""While the window is open, reference cycles are collected on the GUI thread only: a cycle holding Qt
wrappers, collected on a worker thread, would destroy Qt objects there and crash the process."""

from __future__ import annotations

import gc
import threading

from tests.gui.conftest import wait_until


class _Cycle:
    """A reference cycle that records the thread which collected it."""

    def __init__(self, collected_on: list[str]) -> None:
        self.me, self.collected_on = self, collected_on

    def __del__(self) -> None:
        self.collected_on.append(threading.current_thread().name)


def _allocate_on_a_worker_thread() -> list:
    """Containers kept alive, made on a worker thread: far past the first generation's threshold, where
    automatic collection would start (on that thread)."""
    kept: list = []
    worker = threading.Thread(target=lambda: kept.extend([None] for _ in range(50_000)), name="qiup-test-worker")
    worker.start()
    worker.join()
    return kept


def test_a_cycle_left_while_the_window_is_open_is_collected_on_the_gui_thread(make_window, qtbot):
    window = make_window()
    gc.collect()
    collected_on: list[str] = []
    _Cycle(collected_on)  # unreachable from here on: only a collection frees it
    kept = _allocate_on_a_worker_thread()
    assert collected_on == []  # the worker's allocations did not start a collection
    wait_until(qtbot, lambda: collected_on, timeout_s=10.0, what="the GUI thread's timed collection")
    assert collected_on == [threading.main_thread().name] and len(kept) == 50_000
    window.close()
    assert gc.isenabled()  # automatic collection is back once the window has closed

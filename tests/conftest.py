"""Shared pytest set-up: headless Qt, the opt-in real-bench option, and Ctrl-C as a terminal gives it."""

import os
import signal

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption(
        "--bench-config",
        action="store",
        default=None,
        help="path to a bench TOML with real devices; enables the hardware tests (skipped otherwise)",
    )


@pytest.fixture(autouse=True)
def _ctrl_c_reaches_python_as_before():
    """No test may leave Ctrl-C handled differently (e.g. harvesters' handler that swallows it) or
    blocked in the main thread: a later test's Ctrl-C would be lost."""
    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    if after is not before:
        signal.signal(signal.SIGINT, before)
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    if after is not before or blocked:
        pytest.fail(f"Ctrl-C left changed: SIGINT handler {after!r} (was {before!r}), blocked: {blocked}")


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt during the test, as in a terminal, even when the suite
    was started with SIGINT ignored (a background job of a script inherits SIG_IGN, and Python keeps it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)

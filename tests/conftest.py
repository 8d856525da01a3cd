"""Shared pytest set-up: headless Qt and the opt-in real-bench option."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption(
        "--bench-config",
        action="store",
        default=None,
        help="path to a bench TOML with real devices; enables the hardware tests (skipped otherwise)",
    )

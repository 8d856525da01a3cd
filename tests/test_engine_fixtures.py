"""Shared set-up for the engine and storage tests (no tests here): small simulated benches."""

from __future__ import annotations

from pathlib import Path

from app.config import load_config
from tests.helpers import sim_config_text, write_config

SMALL_ROI = "roi = { x = 992, y = 992, width = 64, height = 64 }"
DEFAULT_ROI = "roi = { x = 768, y = 768, width = 512, height = 512 }"


def small_config(tmp_path: Path, *, sample: str = "horse", extra: str = "", name: str = "bench.toml",
                 **replacements: str) -> Path:
    """The default simulated bench with a 64 x 64 ROI (fast), a chosen sample and extra TOML appended."""
    text = sim_config_text(**{DEFAULT_ROI: SMALL_ROI, 'sample = "horse"': f'sample = "{sample}"', **replacements})
    return write_config(tmp_path, text + "\n" + extra, name)


def small_loaded(tmp_path: Path, **kwargs):
    return load_config(small_config(tmp_path, **kwargs))


def abort_after_frames(runner, frames: int, reason: str = "test") -> None:
    """Abort ``runner``'s next run from its worker thread as soon as ``frames`` frames have arrived."""
    seen = [0]

    def stop(_data, _info):
        seen[0] += 1
        if seen[0] == frames:
            runner.abort(reason)

    runner.events.frame_acquired.connect(stop)

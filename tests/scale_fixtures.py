"""Shared set-up for the pixel-size and export tests: a small simulated bench with a known pixel pitch and
binning, and the object pixel size computed from its config numbers (not from qiup's code)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import app.engine.runner as runner_module
from app.bench.scale import object_pixel_size_um
from app.config import load_config
from tests.test_engine_fixtures import small_config

TINY_ROI = "roi = { x = 1008, y = 1008, width = 32, height = 32 }"
SMALL_ROI = "roi = { x = 992, y = 992, width = 64, height = 64 }"


def scaled_config(tmp_path: Path, *, binning: int = 1, pitch_um: float = 5.0, roi: str = TINY_ROI, **kwargs) -> Path:
    """The small simulated bench with an explicit camera pixel pitch and binning."""
    camera = f"offset_adu = 100\npixel_pitch_um = {pitch_um}\nbinning = {binning}"
    return small_config(tmp_path, **{"offset_adu = 100": camera, SMALL_ROI: roi}, **kwargs)


def expected_pixel_size_um(config_path: Path) -> float:
    """Camera pitch x binning / M with M = f_s lambda_s / (f_i lambda_i), from the TOML's numbers."""
    raw = tomllib.loads(Path(config_path).read_text())
    sim, cam = raw["simulation"], raw["camera"]
    m = (sim["signal_focal_length_mm"] * sim["signal_wavelength_nm"]) / (
        sim["idler_focal_length_mm"] * sim["idler_wavelength_nm"])
    return cam["pixel_pitch_um"] * cam["binning"] / m


def pass_pixel_size_from_runner(monkeypatch, bench) -> None:
    """Do what app/engine/runner.py does once merged: give the writer the bench's object pixel size.

    ``setdefault``: when the runner passes the size itself this changes nothing.
    """
    original = runner_module.RunWriter

    class Wired(original):
        @classmethod
        def create(cls, path, **kwargs):
            kwargs.setdefault("object_pixel_size_um", object_pixel_size_um(bench))
            return original.create(path, **kwargs)

    monkeypatch.setattr(runner_module, "RunWriter", Wired)


def loaded(config_path: Path):
    return load_config(config_path)

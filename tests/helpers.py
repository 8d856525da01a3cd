"""Small helpers shared by tests: temporary configs derived from the default simulation config."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM_CONFIG = ROOT / "configs" / "simulation.toml"


def write_config(tmp_path: Path, text: str, name: str = "bench.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def sim_config_text(**replacements: str) -> str:
    """The default simulation config with some lines replaced (``old_line=new_line`` pairs)."""
    text = SIM_CONFIG.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, f"{old!r} not in simulation.toml"
        text = text.replace(old, new)
    tomllib.loads(text)
    return text

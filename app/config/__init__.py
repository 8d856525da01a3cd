"""Bench configuration: TOML on disk, validated with pydantic, with errors a physicist can act on.

Names are imported lazily, so ``from app.config import DEFAULT_CONFIG_PATH`` (the CLI's parser) does
not load pydantic.
"""

from importlib import import_module
from pathlib import Path

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "simulation.toml"  # the simulated bench

_EXPORTS = {
    "ConfigError": "app.config.loader",
    "LoadedConfig": "app.config.loader",
    "load_config": "app.config.loader",
    "parse_config_text": "app.config.loader",
    "BenchConfig": "app.config.schema",
}

__all__ = ["DEFAULT_CONFIG_PATH", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'app.config' has no attribute {name!r}")

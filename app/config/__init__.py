"""Bench configuration: TOML on disk, validated with pydantic, with errors a physicist can act on."""

from pathlib import Path

from app.config.loader import ConfigError, LoadedConfig, load_config, parse_config_text
from app.config.schema import BenchConfig

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "simulation.toml"  # the simulated bench

__all__ = ["DEFAULT_CONFIG_PATH", "BenchConfig", "ConfigError", "LoadedConfig", "load_config", "parse_config_text"]

"""Bench configuration: TOML on disk, validated with pydantic, with errors a physicist can act on."""

from app.config.loader import ConfigError, LoadedConfig, load_config, parse_config_text
from app.config.schema import BenchConfig

__all__ = ["BenchConfig", "ConfigError", "LoadedConfig", "load_config", "parse_config_text"]

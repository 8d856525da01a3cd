"""The calibration a run uses: the config's ``[calibration]`` overlaid by its calibration file, if any.

The fringe-calibration sequence writes the measured piezo travel per 2 pi into that file, so the next
run (and every later one) steps the phase with the measured value instead of the config's guess.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

from app.config import ConfigError, LoadedConfig
from app.config.loader import read_text_file
from app.config.schema import CalibrationConfig, renamed_key_message

FILE_KEYS = ("piezo_travel_per_2pi", "piezo_start")


def calibration_file_path(loaded: LoadedConfig) -> Path | None:
    name = loaded.settings.calibration.file
    if name is None:
        return None
    path = Path(name)
    return path if path.is_absolute() else loaded.path.parent / path


def effective_calibration(loaded: LoadedConfig) -> CalibrationConfig:
    """``[calibration]`` with the calibration file's keys applied (a missing file changes nothing)."""
    cal = loaded.settings.calibration
    path = calibration_file_path(loaded)
    if path is None or not path.exists():
        return cal
    try:
        values = tomllib.loads(read_text_file(path, "calibration file"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: calibration file is not valid TOML ({exc})") from None
    for key in values:
        renamed = renamed_key_message(key)
        if renamed:
            raise ConfigError(f"{path}: {renamed}")
    unknown = set(values) - set(FILE_KEYS) - {"measured", "source"}
    if unknown:
        raise ConfigError(f"{path}: unknown calibration keys {sorted(unknown)} (allowed: {', '.join(FILE_KEYS)})")
    try:
        return CalibrationConfig.model_validate({**cal.model_dump(), **{k: values[k] for k in FILE_KEYS if k in values}})
    except Exception as exc:
        raise ConfigError(f"{path}: bad calibration value ({exc})") from None


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic-string escapes


def write_calibration_file(path: Path, *, piezo_travel_per_2pi: float, source: str) -> None:
    """Write (replace) the calibration file atomically; ``source`` may be any path (e.g. C:\\runs\\x.h5)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by qiup fringe-calibration; read by every later run (overrides [calibration]).\n"
        "# piezo_travel_per_2pi is in the phase piezo's unit (V or um).\n"
        f"piezo_travel_per_2pi = {piezo_travel_per_2pi!r}\n"
        f"measured = {toml_string(time.strftime('%Y-%m-%dT%H:%M:%S%z'))}\n"
        f"source = {toml_string(source)}\n"
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)

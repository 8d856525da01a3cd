"""The calibration a run uses: the config's ``[calibration]`` overlaid by its calibration file, if any.

The fringe-calibration sequence writes the measured piezo travel per 2 pi into that file, so the next
run (and every later one) steps the phase with the measured value instead of the config's guess.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from app.config import ConfigError, LoadedConfig
from app.config.schema import CalibrationConfig

FILE_KEYS = ("piezo_volts_per_2pi", "piezo_start_v")


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
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: calibration file unreadable ({exc})") from None
    unknown = set(values) - set(FILE_KEYS) - {"measured", "source"}
    if unknown:
        raise ConfigError(f"{path}: unknown calibration keys {sorted(unknown)} (allowed: {', '.join(FILE_KEYS)})")
    try:
        return CalibrationConfig.model_validate({**cal.model_dump(), **{k: values[k] for k in FILE_KEYS if k in values}})
    except Exception as exc:
        raise ConfigError(f"{path}: bad calibration value ({exc})") from None


def write_calibration_file(path: Path, *, piezo_volts_per_2pi: float, source: str) -> None:
    """Write (replace) the calibration file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by qiup fringe-calibration; read by every later run (overrides [calibration]).\n"
        f"piezo_volts_per_2pi = {piezo_volts_per_2pi:.6g}\n"
        f'measured = "{time.strftime("%Y-%m-%dT%H:%M:%S%z")}"\n'
        f'source = "{source}"\n'
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)

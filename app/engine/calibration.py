"""The calibration a run uses: the config's ``[calibration]`` overlaid by its calibration file, if any.

The fringe-calibration sequence writes the measured piezo travel per 2 pi into that file, and the GUI's
coherence alignment the fitted zero-path delay, so the next run (and every later one) uses the measured
values instead of the config's guesses. Each writer sets its keys and keeps the others.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

from app.config import ConfigError, LoadedConfig
from app.config.loader import read_text_file
from app.config.schema import CalibrationConfig, renamed_key_message
from app.storage.atomic import replacing

FILE_KEYS = ("piezo_travel_per_2pi", "piezo_start", "zero_path_delay_um")
KEY_NOTES = {"piezo_travel_per_2pi": "phase-piezo travel for one fringe, in the piezo's unit (V or um)",
             "piezo_start": "phase-piezo setpoint of step 0 (V or um)",
             "zero_path_delay_um": "delay-stage position of zero path difference (um)"}


def calibration_file_path(loaded: LoadedConfig) -> Path | None:
    name = loaded.settings.calibration.file
    if name is None:
        return None
    path = Path(name)
    return path if path.is_absolute() else loaded.path.parent / path


def read_calibration_file(path: Path) -> dict:
    """The calibration keys a file sets (ConfigError naming the file for bad TOML, renamed or unknown keys)."""
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
    return {k: values[k] for k in FILE_KEYS if k in values}


def effective_calibration(loaded: LoadedConfig) -> CalibrationConfig:
    """``[calibration]`` with the calibration file's keys applied (a missing file changes nothing)."""
    cal = loaded.settings.calibration
    path = calibration_file_path(loaded)
    if path is None or not path.exists():
        return cal
    values = read_calibration_file(path)
    try:
        return CalibrationConfig.model_validate({**cal.model_dump(), **values})
    except Exception as exc:
        raise ConfigError(f"{path}: bad calibration value ({exc})") from None


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic-string escapes


def write_calibration_file(path: Path, *, source: str, **values: float) -> None:
    """Set ``values`` (keys of FILE_KEYS) in the calibration file, keeping the keys it already has, and replace
    the file atomically; ``source`` may be any path (e.g. C:\\runs\\x.h5). A file that cannot be read is not
    overwritten (ConfigError naming it): the values it holds are the bench's calibration."""
    unknown = sorted(set(values) - set(FILE_KEYS))
    if unknown:
        raise ValueError(f"not calibration-file keys: {unknown} (allowed: {', '.join(FILE_KEYS)})")
    merged = read_calibration_file(path) if path.exists() else {}
    merged.update({k: float(v) for k, v in values.items()})
    CalibrationConfig.model_validate(merged)  # never write a value a later run would refuse
    lines = ["# Written by qiup (fringe calibration, coherence alignment); read by every later run, whose",
             "# [calibration] keys these override. Each writer sets its keys and keeps the others."]
    for key in FILE_KEYS:
        if key in merged:
            lines += [f"# {KEY_NOTES[key]}", f"{key} = {float(merged[key])!r}"]
    lines += [f"measured = {toml_string(time.strftime('%Y-%m-%dT%H:%M:%S%z'))}", f"source = {toml_string(source)}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")

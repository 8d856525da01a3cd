"""GUI settings (window layout, last config, last sequence parameters) in a versioned JSON file.

Lives under platformdirs' user config directory. A missing file gives defaults; a corrupt, foreign or
older file gives defaults plus a warning line for the status bar, never an error that blocks start-up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.storage.atomic import replacing

SETTINGS_VERSION = 1


def default_settings_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("qiup", appauthor=False)) / "gui-settings.json"


@dataclass
class GuiSettings:
    geometry_hex: str = ""  # QMainWindow.saveGeometry() as hex
    state_hex: str = ""  # QMainWindow.saveState() (docks) as hex
    last_config: str = ""
    sequence: str = "phase-stepping"
    params: dict[str, dict] = field(default_factory=dict)  # sequence -> raw parameter values
    param_sets: dict[str, dict[str, dict]] = field(default_factory=dict)  # sequence -> set name -> parameters

    def to_json(self) -> str:
        return json.dumps({"version": SETTINGS_VERSION, "geometry_hex": self.geometry_hex, "state_hex": self.state_hex,
                           "last_config": self.last_config, "sequence": self.sequence, "params": self.params,
                           "param_sets": self.param_sets},
                          indent=1)


def load_settings(path: Path) -> tuple[GuiSettings, str | None]:
    """(settings, warning or None); never raises for a bad file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return GuiSettings(), None
    except OSError as exc:
        return GuiSettings(), f"settings file {path} unreadable ({exc.strerror or exc}); using defaults"
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        return GuiSettings(), f"settings file {path} is corrupt ({exc}); using defaults"
    version = data.get("version")
    if version != SETTINGS_VERSION:
        return GuiSettings(), (f"settings file {path} has version {version!r}, this qiup writes "
                               f"{SETTINGS_VERSION}; using defaults")
    out = GuiSettings()
    for key, kind in (("geometry_hex", str), ("state_hex", str), ("last_config", str), ("sequence", str),
                      ("params", dict), ("param_sets", dict)):
        value = data.get(key)
        if isinstance(value, kind):
            setattr(out, key, value)
    out.params = {k: v for k, v in out.params.items() if isinstance(k, str) and isinstance(v, dict)}
    out.param_sets = {seq: {name: p for name, p in sets.items() if isinstance(p, dict)}
                      for seq, sets in out.param_sets.items() if isinstance(sets, dict)}
    return out, None


def save_settings(path: Path, settings: GuiSettings) -> str | None:
    """Write atomically (temp file + rename); the error text, or None."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            tmp.write_text(settings.to_json(), encoding="utf-8")
    except OSError as exc:
        return f"could not save GUI settings to {path}: {exc.strerror or exc}"
    return None

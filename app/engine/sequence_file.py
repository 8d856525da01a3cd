"""Sequence files: ``[[sequence]]`` TOML tables (``name = "..."`` plus its parameters), read and written here.

``qiup run --sequence-file`` runs every table in order; the GUI saves its form as a one-table file and
loads one. Both read through :func:`read_sequence_file`, so a file is checked by the one validation
(``validate_params``) before anything moves, and every problem is one line naming the file and table.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from pydantic import BaseModel

from app.engine.calibration import toml_string
from app.engine.params import ParameterError, validate_params
from app.storage.atomic import replacing


def read_sequence_file(path: Path) -> list[tuple[str, dict]]:
    """``[[sequence]]`` tables -> [(name, parameters)], every one validated (ParameterError otherwise)."""
    from app.config.loader import read_text_file

    path = Path(path)
    text = read_text_file(path, "sequence file", ParameterError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: not valid TOML: {exc}") from None
    tables = data.get("sequence")
    if not isinstance(tables, list) or not tables or set(data) - {"sequence"}:
        raise ParameterError(f"{path}: expected one or more [[sequence]] tables and nothing else")
    items = []
    for i, table in enumerate(tables, 1):
        table = dict(table)
        name = table.pop("name", None)
        if name is None:
            raise ParameterError(f"{path}: sequence #{i} has no name")
        try:
            validate_params(name, table)
        except ParameterError as exc:
            raise ParameterError("\n".join(f"{path}: sequence #{i}: {line}" for line in str(exc).splitlines())) from None
        items.append((name, table))
    return items


def savable_params(params: BaseModel) -> dict:
    """The parameters a user set (not left to their defaults), typed, without the unset optional ones."""
    return {k: v for k, v in params.model_dump(include=params.model_fields_set).items() if v is not None}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written to a sequence file")
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ValueError(f"{value!r} ({type(value).__name__}) cannot be written to a sequence file")


def sequence_file_text(items: list[tuple[str, BaseModel]]) -> str:
    """TOML of validated parameters, one ``[[sequence]]`` table each (what ``read_sequence_file`` reads)."""
    lines = ["# qiup sequence file: run with  qiup run --sequence-file FILE  (or open it in the GUI)"]
    for name, params in items:
        lines += ["", "[[sequence]]", f"name = {toml_string(name)}"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in savable_params(params).items()]
    return "\n".join(lines) + "\n"


def write_sequence_file(path: Path, items: list[tuple[str, BaseModel]]) -> Path:
    """Write atomically (temp file + rename); OSError as raised."""
    path = Path(path)
    with replacing(path) as tmp:
        tmp.write_text(sequence_file_text(items), encoding="utf-8")
    return path

"""Read a bench TOML file into a validated :class:`BenchConfig`, or fail with one clear sentence."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from app.config.schema import BenchConfig, renamed_key_message


class ConfigError(Exception):
    """A config file is missing or wrong; the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config together with the exact text it came from (stored in every run file)."""

    settings: BenchConfig
    path: Path
    text: str


def read_text_file(path: Path, what: str, error=None) -> str:
    """A UTF-8 text file's contents, or ``error`` (default ConfigError) with one line naming the file."""
    error = error or ConfigError
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                    f"a {what} must be UTF-8 TOML") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def load_config(path: str | Path) -> LoadedConfig:
    path = Path(path)
    text = read_text_file(path, "config file")
    return LoadedConfig(settings=parse_config_text(text, source=str(path)), path=path, text=text)


def parse_config_text(text: str, *, source: str = "<config>") -> BenchConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    calibration = raw.get("calibration")
    if isinstance(calibration, dict):
        for key in calibration:
            renamed = renamed_key_message(key)
            if renamed:
                raise ConfigError(f"{source}: {renamed}")
    try:
        return BenchConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def _describe(exc: ValidationError, source: str) -> str:
    """One line per problem: ``file: key [a.b.c]: what is allowed (got X)``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        given = err.get("input")
        if loc and isinstance(given, dict) and given.get("backend") == loc[-1]:  # a whole section's check
            loc = loc[:-1]
        key = ".".join(str(p) for p in loc if not _is_union_tag(p, err)) or "(top level)"
        lines.append(f"{source}: key [{key}]: {_allowed(err)}")
    return "\n".join(lines)


def _is_union_tag(part, err) -> bool:
    # pydantic puts the discriminator value (e.g. 'sim') into the location of tagged unions
    ctx_tag = err.get("ctx", {}).get("tag")
    return isinstance(part, str) and part in {"sim", ctx_tag} and part != err["loc"][-1]


def _allowed(err: dict) -> str:
    kind, ctx, got = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "extra_forbidden":
        return "unknown key (check spelling; see configs/simulation.toml for the allowed keys)"
    if kind == "missing":
        return "is required but missing"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        bound = {"greater_than": "> ", "greater_than_equal": ">= ", "less_than": "< ", "less_than_equal": "<= "}
        return f"must be {bound[kind]}{next(iter(ctx.values()))} (got {got!r})"
    if kind == "union_tag_invalid":
        return f"backend must be one of {ctx.get('expected_tags')} (got {ctx.get('tag')!r})"
    if kind == "finite_number":
        return f"must be a finite number (got {got!r})"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "union_tag_not_found":
        return "needs a 'backend' key"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {got!r})"
    return f"{err['msg']} (got {got!r})"

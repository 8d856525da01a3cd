"""Config sections for the real backends: the example bench configs validate, unknown or out-of-range
keys are named, and 'emulator' ports start a wired emulator that is stopped with the bench."""

from pathlib import Path

import pytest

from app.config import load_config
from app.config.loader import ConfigError, parse_config_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "configs").glob("example-*.toml")) + [ROOT / "configs" / "emulated.toml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_configs_validate(path):
    settings = load_config(path).settings
    assert settings.laser.backend in ("obis", "ibeam-smart", "sim")


def test_real_backend_errors_name_the_key():
    text = (ROOT / "configs" / "emulated.toml").read_text()
    with pytest.raises(ConfigError, match=r"phase_piezo.*max_v.*<= 150"):
        parse_config_text(text.replace("max_v = 75.0", "max_v = 200.0"))
    with pytest.raises(ConfigError, match=r"laser.*baud_rate.*unknown key"):
        parse_config_text(text.replace('port = "emulator"\ntimeout_s', 'port = "emulator"\nbaud_rate = 9600\ntimeout_s', 1))

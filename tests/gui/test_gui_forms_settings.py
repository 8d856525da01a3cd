"""The generated parameter form and the settings file."""

from __future__ import annotations

import json

from app.engine.params import SEQUENCES
from app.gui.param_form import ParamForm, field_limits
from app.gui.settings import SETTINGS_VERSION, GuiSettings, load_settings, save_settings


def test_form_has_a_field_per_parameter_with_limits_and_defaults(qtbot):
    form = ParamForm()
    qtbot.addWidget(form)
    form.set_model("phase-stepping", SEQUENCES["phase-stepping"])
    assert set(form._editors) == set(SEQUENCES["phase-stepping"].model_fields)
    steps = form.editor("steps")
    assert steps.placeholderText().startswith("4") and ">= 3" in steps.placeholderText() and "<= 64" in steps.placeholderText()
    assert field_limits(SEQUENCES["phase-stepping"].model_fields["exposure_s"]) == "> 0, <= 60"


def test_form_validates_like_the_cli_and_shows_each_error_next_to_its_field(qtbot):
    form = ParamForm()
    qtbot.addWidget(form)
    form.show()
    form.set_model("phase-stepping", SEQUENCES["phase-stepping"])
    form.editor("steps").setText("2")
    form.editor("frames_per_step").setText("many")
    assert form.validate() is None
    assert "greater than or equal to 3" in form._errors["steps"].text() and form._errors["steps"].isVisible()
    assert "integer" in form._errors["frames_per_step"].text()
    assert not form._errors["cycles"].isVisible()
    form.editor("steps").setText("5")
    form.editor("frames_per_step").setText("2")
    form.editor("cycles").setText("3")  # a model-level rule: cycles may not exceed frames_per_step
    assert form.validate() is None
    assert "cycles=3 exceeds frames_per_step=2" in form._general.text()
    form.editor("cycles").setText("")
    params = form.validate()
    assert params.steps == 5 and params.frames_per_step == 2 and params.cycles == 0


def test_delay_list_is_entered_comma_separated(qtbot):
    form = ParamForm()
    qtbot.addWidget(form)
    form.set_model("delay-scan", SEQUENCES["delay-scan"])
    form.editor("delays_um").setText("0, 5, 10.5")
    assert form.validate().delays() == [0.0, 5.0, 10.5]


def test_settings_round_trip(tmp_path):
    path = tmp_path / "sub" / "gui.json"
    saved = GuiSettings(geometry_hex="01ff", state_hex="02", last_config="x.toml", sequence="delay-scan",
                        params={"delay-scan": {"steps": "5"}})
    assert save_settings(path, saved) is None
    loaded, warning = load_settings(path)
    assert warning is None and loaded == saved


def test_corrupt_or_old_settings_give_defaults_and_a_warning(tmp_path):
    path = tmp_path / "gui.json"
    path.write_text("{not json", encoding="utf-8")
    settings, warning = load_settings(path)
    assert settings == GuiSettings() and "corrupt" in warning and str(path) in warning
    path.write_text(json.dumps({"version": SETTINGS_VERSION - 1, "sequence": "dark"}), encoding="utf-8")
    settings, warning = load_settings(path)
    assert settings == GuiSettings() and f"version {SETTINGS_VERSION - 1}" in warning
    assert load_settings(tmp_path / "absent.json") == (GuiSettings(), None)

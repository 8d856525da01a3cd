"""Bad parameters are refused before any device moves, with one clear message each."""

import pytest

from app.cli import main
from app.engine.params import ParameterError, parse_params
from sim_backends.devices import SimLaser, SimPiezo
from sim_backends.devices.stages import SimDelayStage
from tests.test_engine_fixtures import small_config


@pytest.fixture
def moves(monkeypatch):
    """Every laser/stage command any simulated device receives."""
    calls = []

    def spy(cls, method):
        original = getattr(cls, method)

        def wrapper(self, *args, **kwargs):
            calls.append(f"{self.name}.{method}{args}")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, wrapper)

    for cls in (SimPiezo, SimDelayStage):
        spy(cls, "move_to")
    spy(SimLaser, "set_emission")
    spy(SimLaser, "set_power_w")
    return calls


@pytest.mark.parametrize(
    "sequence, params, expected",
    [
        ("phase-stepping", ["exposure_s=-0.1"], "phase-stepping: parameter exposure_s='-0.1': Input should be greater than 0"),
        ("phase-stepping", ["steps=0"], "phase-stepping: parameter steps='0': Input should be greater than or equal to 3"),
        ("delay-scan", ["delays_um=[0,50,150]"], "delay-scan: delay 150 um is outside the delay stage's limits [0, 100] um"),
        ("holography", [], "unknown sequence 'holography'; known: dark, reference, phase-stepping, delay-scan"),
        ("dark", ["frame=3"], "dark: unknown parameter 'frame' (allowed: "),
        ("phase-stepping", ["laser_power_w=5"], "phase-stepping: laser power 5 W is outside the laser's limits (0, 0.2] W"),
    ],
    ids=["negative-exposure", "zero-steps", "delay-outside-stage", "unknown-sequence", "unknown-param", "too-much-power"],
)
def test_bad_parameters_give_one_line_and_move_nothing(tmp_path, capsys, moves, sequence, params, expected):
    config = small_config(tmp_path)
    argv = ["run", "--config", str(config), "--sequence", sequence, "--out", str(tmp_path / "out")]
    for p in params:
        argv += ["--param", p]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qiup: error: ") and expected in err
    assert len(err.splitlines()) == 1
    assert moves == [], "nothing may move before the parameters are accepted"
    assert not list(tmp_path.glob("out/*.h5"))


def test_a_sequence_file_is_checked_whole_before_anything_runs(tmp_path, capsys, moves):
    seq = tmp_path / "night.toml"
    seq.write_text('[[sequence]]\nname = "dark"\nframes = 2\n\n[[sequence]]\nname = "delay-scan"\n'
                   "delays_um = [10.0, 20.0, 500.0]\n", encoding="utf-8")
    code = main(["run", "--config", str(small_config(tmp_path)), "--sequence-file", str(seq),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "delay 500 um is outside the delay stage's limits" in capsys.readouterr().err
    assert moves == [] and not list(tmp_path.glob("out/*.h5"))  # not even the valid dark ran


def test_keys_accept_dashes_lists_and_ranges():
    p = parse_params("delay-scan", ["start-um=0", "stop_um=20", "step_um=5", "frames-per-step=2"])
    assert p.delays() == [0.0, 5.0, 10.0, 15.0, 20.0] and p.frames_per_step == 2
    assert parse_params("delay-scan", ["delays_um=[1, 2.5, 4]"]).delays() == [1.0, 2.5, 4.0]
    with pytest.raises(ParameterError, match="give delays_um"):
        parse_params("delay-scan", [])
    with pytest.raises(ParameterError, match="cycles=9 exceeds frames_per_step=4"):
        parse_params("phase-stepping", ["frames_per_step=4", "cycles=9"])

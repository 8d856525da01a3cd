"""Issue 10, engine side: everything checkable is checked at plan time (before anything moves), sizes
are bounded, per-frame costs are O(1), and the remaining one-line cases."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.config import load_config
from app.engine import ParameterError, Runner, validate_params
from app.engine.calibration import effective_calibration, write_calibration_file
from app.engine.plan import PlanStage, Plan, PlanTooLarge, check_memory, plan_memory_bytes
from tests.helpers import sim_config_text, write_config
from tests.test_engine_fixtures import SMALL_ROI, DEFAULT_ROI, small_config, small_loaded


def _cli(capsys, *args):
    code = main(list(map(str, args)))
    return code, capsys.readouterr()


def test_a_sample_position_beyond_the_sample_stage_is_refused_before_anything_moves(tmp_path, capsys):
    config = small_config(tmp_path, **{"sample_out_position_um = 25000.0": "sample_out_position_um = 90000.0"})
    out = tmp_path / "out"
    code, captured = _cli(capsys, "run", "--config", config, "--out", out, "--param", "frames_per_step=1")
    assert code == 2
    assert "[calibration] sample_out_position_um = 90000 um is outside the sample stage's limits [0, 50000] um" \
        in captured.err
    assert not list(out.glob("*.h5"))  # no dark stage was taken


def test_a_sequence_file_is_planned_whole_before_its_first_sequence_runs(tmp_path, capsys):
    config = small_config(tmp_path, **{"sample_in_position_um = 0.0": "sample_in_position_um = -5.0"})
    sequences = tmp_path / "seq.toml"
    sequences.write_text('[[sequence]]\nname = "dark"\nframes = 2\n\n'
                         '[[sequence]]\nname = "phase-stepping"\nframes_per_step = 1\n', encoding="utf-8")
    out = tmp_path / "out"
    code, captured = _cli(capsys, "run", "--config", config, "--sequence-file", sequences, "--out", out)
    assert code == 2 and "sample_in_position_um = -5 um is outside" in captured.err
    assert not list(out.glob("*.h5"))  # the dark sequence (no sample stage) did not run first


@pytest.mark.parametrize("content, expected", [(b"[[sequence]]\nname = \"dark\"\n# caf\xe9\n", "not a UTF-8 text file"),
                                               (None, "is a directory")])
def test_a_sequence_file_that_is_not_utf8_or_is_a_directory_gets_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "seq.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    code, captured = _cli(capsys, "run", "--sequence-file", path, "--out", tmp_path / "out")
    assert code == 2 and expected in captured.err and str(path) in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err


def test_a_plan_with_too_many_blocks_is_refused_at_once(tmp_path):
    params = validate_params("phase-stepping", {"steps": 64, "frames_per_step": 100_000, "cycles": 100_000})
    with open_bench(small_loaded(tmp_path)) as bench:
        with pytest.raises(PlanTooLarge, match=r"12,800,001 blocks .* at most 1,000,000"):
            Runner(bench).plan("phase-stepping", params)


def test_a_run_that_would_exhaust_memory_is_refused_but_fits_with_a_run_file(tmp_path):
    params = validate_params("time-series", {"repeats": 20_000, "frames_per_step": 1, "steps": 3})  # 160 GB of results
    text = sim_config_text()  # default 512 x 512 ROI
    with open_bench(load_config(write_config(tmp_path, text))) as bench:
        runner = Runner(bench)
        with pytest.raises(PlanTooLarge, match="GiB in memory .*without a file"):
            runner.plan("time-series", params, results_in_memory=True)
        _, plan = runner.plan("time-series", params)  # stacked results on disk: a few MiB
    assert plan_memory_bytes(plan, results_in_memory=False) < 64 * 2**20


def test_plan_memory_is_counted_as_worked_by_hand():
    stage = PlanStage("sample", "sample", (1.0, 2.0, 3.0), (0.0, 2.1, 4.2), 2, cycles=2)
    from app.engine.plan import ResultSpec

    plan = Plan("x", (stage,), (ResultSpec("a", (10, 4, 5), "1"), ResultSpec("b", (4, 5), "1", dtype="uint8")),
                (4, 5), 0.1, None, 1.0)
    pixels, steps = 20, 3
    sums = steps * pixels * (4 + 4 + 8) + 2 * steps * pixels * 8  # stage + cycle + spill, dark + reference
    assert plan_memory_bytes(plan, results_in_memory=False) == sums + 20 * 1
    assert plan_memory_bytes(plan, results_in_memory=True) == sums + 20 * 1 + 200 * 4
    with pytest.raises(PlanTooLarge):
        check_memory(plan, results_in_memory=True, limit_bytes=sums + 20)


def test_a_delay_scan_with_a_tiny_step_is_refused_without_allocating(tmp_path):
    params = validate_params("delay-scan", {"start_um": 0.0, "stop_um": 100.0, "step_um": 1e-9})
    with open_bench(small_loaded(tmp_path)) as bench:
        with pytest.raises(ParameterError, match=r"1e\+11 positions; at most 100000"):
            Runner(bench).plan("delay-scan", params)


@pytest.mark.parametrize("key", ["start_um", "laser_power_w", "exposure_s"])
def test_non_finite_sequence_parameters_are_refused(key):
    raw = {"start_um": 0.0, "stop_um": 10.0, "step_um": 1.0, key: float("nan")}
    with pytest.raises(ParameterError, match=key):
        validate_params("delay-scan", raw)


def test_frames_before_and_total_frames_follow_the_block_list():
    stages = (PlanStage("dark", "dark", (0.0,), (0.0,), 5, cycles=1, laser_on=False),
              PlanStage("sample", "sample", (1.0, 2.0, 3.0, 4.0), (0.0, 1.6, 3.1, 4.7), 11, cycles=3))
    plan = Plan("p", stages, (), (2, 2), 0.1, None, 1.0)
    frames = [b.frames for b in plan.blocks]  # 5, then cycles of 4, 4, 3 frames per step (11 over 3 cycles)
    assert frames == [5] + [4] * 4 + [4] * 4 + [3] * 4
    assert plan.total_frames() == 5 + 4 * 11
    assert [plan.frames_before(i) for i in range(len(frames) + 1)] == [sum(frames[:i]) for i in range(len(frames) + 1)]


def test_a_block_count_at_the_limit_is_allowed_and_one_more_is_not(monkeypatch):
    from app.engine import plan as plan_module

    monkeypatch.setattr(plan_module, "MAX_BLOCKS", 4000)
    MAX_BLOCKS = plan_module.MAX_BLOCKS

    def plan_with(cycles):
        stage = PlanStage("s", "sample", (1.0, 2.0, 3.0, 4.0), (0.0, 1.6, 3.1, 4.7), cycles, cycles=cycles)
        return Plan("p", (stage,), (), (1, 1), 0.1, None, 1.0)

    assert plan_with(MAX_BLOCKS // 4).frames_before(MAX_BLOCKS) == MAX_BLOCKS
    with pytest.raises(PlanTooLarge):
        plan_with(MAX_BLOCKS // 4 + 1)


def test_a_suspension_that_outlasts_its_limit_ends_the_command_with_one_line(tmp_path, capsys):
    config = small_config(tmp_path, extra="[suspenders]\nmax_suspended_s = 0.05\nrecheck_interval_s = 0.0\n")
    out = tmp_path / "out"
    # 60 s exposures saturate every pixel: the saturation suspender never clears
    code, captured = _cli(capsys, "run", "--config", config, "--out", out, "--param", "frames_per_step=1",
                          "--param", "exposure_s=60", "--param", "dark_frames=1")
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert lines[0].startswith("qiup: phase-stepping failed: suspended for more than 0.05 s:") and "saturated" in lines[0]
    (path,) = out.glob("*.h5")
    assert f"run file {path} (failed)" in captured.out


def test_a_calibration_file_written_for_a_windows_path_reads_back(tmp_path):
    source = r"C:\Users\lab\runs\20261130-fringe-calibration.h5"
    cal = tmp_path / "calibration.toml"
    write_calibration_file(cal, piezo_travel_per_2pi=7.123456789, source=source)
    values = tomllib.loads(cal.read_text(encoding="utf-8"))
    assert values["source"] == source and values["piezo_travel_per_2pi"] == 7.123456789
    text = sim_config_text(**{DEFAULT_ROI: SMALL_ROI}).replace("[calibration]\n", '[calibration]\nfile = "calibration.toml"\n')
    loaded = load_config(write_config(tmp_path, text))
    assert effective_calibration(loaded).piezo_travel_per_2pi == 7.123456789
    assert np.isfinite(effective_calibration(loaded).piezo_start)


def test_calibration_writers_keep_each_others_keys_and_never_overwrite_a_file_they_cannot_read(tmp_path):
    from app.config import ConfigError

    cal = tmp_path / "calibration.toml"
    write_calibration_file(cal, piezo_travel_per_2pi=7.5, source="fringe.h5")
    write_calibration_file(cal, zero_path_delay_um=41.25, source="gui")
    values = tomllib.loads(cal.read_text(encoding="utf-8"))
    assert values["piezo_travel_per_2pi"] == 7.5 and values["zero_path_delay_um"] == 41.25
    write_calibration_file(cal, piezo_travel_per_2pi=7.6, source="fringe2.h5")
    values = tomllib.loads(cal.read_text(encoding="utf-8"))
    assert values["piezo_travel_per_2pi"] == 7.6 and values["zero_path_delay_um"] == 41.25
    cal.write_text("piezo_travel_per_2pi = [broken\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="calibration.toml: calibration file is not valid TOML"):
        write_calibration_file(cal, zero_path_delay_um=40.0, source="gui")
    assert cal.read_text(encoding="utf-8") == "piezo_travel_per_2pi = [broken\n"  # left for the user to mend
    with pytest.raises(ValueError, match="not calibration-file keys"):
        write_calibration_file(tmp_path / "other.toml", zero_path_delay=40.0, source="gui")

"""Dithering on the SLM devices: selected by [slm] dither or per show, recorded in the readback, thread-safe."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.cli import main
from app.config import load_config
from drivers.errors import DeviceError
from drivers.slm_lut import TWO_PI, phase_levels, phase_to_gray
from sim_backends.quick import quick_bench
from tests.helpers import SIM_CONFIG, write_config


def small_slm(**slm):
    return quick_bench(roi=(992, 992, 64, 64), sample="empty", slm={"width": 64, "height": 48, **slm}).slm


def test_the_default_config_dithers_on_4x4_tiles_and_the_key_takes_bayer8_and_off():
    assert load_config(SIM_CONFIG).settings.slm.dither == "bayer4"
    assert small_slm().dither == "bayer4" and small_slm().capabilities().dither == "bayer4"
    slm = small_slm(dither="off")
    slm.show(np.full(slm.shape, TWO_PI * 100.5 / 256))
    assert np.all(slm.gray_levels == 100) and slm.read_state().dither == "off"  # the floor rule
    slm = small_slm(dither="bayer8")
    slm.show(np.full(slm.shape, TWO_PI * 100.5 / 256))
    assert slm.gray_levels[:8, :8].mean() == 100.5 and slm.read_state().dither == "bayer8"


def test_a_bad_dither_in_the_config_is_one_line_naming_the_key_and_the_choices(tmp_path, capsys):
    text = SIM_CONFIG.read_text()
    old = 'dither = "bayer4"'
    assert old in text
    path = write_config(tmp_path, text.replace(old, 'dither = "bayer16"', 1))
    code = main(["run", "--config", str(path), "--out", str(tmp_path / "never")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = [row for row in err.splitlines() if "[slm.dither]" in row]
    assert len(line) == 1 and str(path) in line[0] and "'bayer4'" in line[0] and "'off'" in line[0]


def test_a_bad_dither_in_a_call_is_refused_before_anything_is_shown():
    slm = small_slm()
    slm.show(np.zeros(slm.shape))
    before, gray = slm.read_state(), slm.gray_levels.copy()
    with pytest.raises(DeviceError, match=r"dither must be one of 'off', 'bayer4', 'bayer8' \(got 'floyd'\)"):
        slm.show(np.ones(slm.shape), dither="floyd")
    with pytest.raises(DeviceError, match="dither must be one of"):
        slm.set_dither("floyd")
    assert slm.read_state().mask_id == before.mask_id and np.array_equal(slm.gray_levels, gray)
    assert slm.dither == "bayer4"


@pytest.mark.parametrize("dither", ["bayer4", "bayer8"])
def test_showing_the_current_phase_again_gives_the_same_gray_image_bit_for_bit(dither):
    slm = small_slm()
    slm.lut = slm.ideal_lut(fractional=True)
    yy, xx = np.mgrid[0:slm.shape[0], 0:slm.shape[1]]
    slm.show(0.37 * xx - 0.21 * yy + 1e-7 * np.sin(xx), dither=dither)  # negative, wrapping, fractional levels
    gray, mask_id = slm.gray_levels.copy(), slm.read_state().mask_id
    slm.show(slm.current_phase_rad(), dither=slm.read_state().dither)
    assert np.array_equal(slm.gray_levels, gray) and slm.read_state().mask_id == mask_id + 1


def test_a_quantised_mask_shown_again_dithered_is_unchanged():
    """An undithered mask's current phase sits on LUT entries, where dithering adds nothing (integer LUT)."""
    slm = small_slm()
    slm.lut = slm.ideal_lut()
    yy, xx = np.mgrid[0:slm.shape[0], 0:slm.shape[1]]
    slm.show(0.37 * xx - 0.21 * yy, dither="off")
    gray = slm.gray_levels.copy()
    slm.show(slm.current_phase_rad())
    assert np.array_equal(slm.gray_levels, gray) and slm.read_state().dither == "bayer4"


def test_dithered_and_plain_masks_from_two_threads_leave_the_readback_and_panel_saying_the_last_one():
    slm = small_slm()
    slm.lut = slm.ideal_lut(fractional=True)
    yy, xx = np.mgrid[0:slm.shape[0], 0:slm.shape[1]]
    masks = {f"{kind}{i}": (0.05 * i * xx + 0.3 * i + (0.013 if kind == "d" else 0.0), "bayer4" if kind == "d" else "off")
             for kind in ("d", "p") for i in range(1, 6)}
    errors: list[BaseException] = []

    def show(kind):
        try:
            for i in range(60):
                label = f"{kind}{1 + i % 5}"
                mask, dither = masks[label]
                slm.show(mask, wait=False, label=label, dither=None if kind == "d" else dither)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for _ in range(3):
        threads = [threading.Thread(target=show, args=(kind,)) for kind in ("d", "p")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        state = slm.read_state()
        mask, dither = masks[state.mask_label]
        assert state.dither == dither
        assert np.array_equal(slm.gray_levels, phase_to_gray(mask, slm.lut, dither=dither, gray_max=255))
        if dither == "off":  # the quantised levels
            assert np.allclose(slm.current_phase_rad(), phase_levels(mask, 256) * TWO_PI / 256, atol=1e-6)
        else:  # the wrapped phase
            assert np.allclose(slm.current_phase_rad(), np.mod(mask, TWO_PI), atol=1e-5)
    assert slm.read_state().mask_id == 3 * 120


def test_the_undithered_readback_shown_again_gives_every_level_back():
    """The readback of a quantised mask is each level's phase k 2 pi / levels (to float32); showing it
    again undithered must floor to the same k for every level, although float32 can round k 2 pi /
    levels below its bin's edge (it did for 40 of 256 levels)."""
    levels = 256
    slm = small_slm(dither="off", width=64, height=levels // 64)
    k = np.arange(levels).reshape(slm.shape)
    slm.show((k + 0.5) * (TWO_PI / levels))
    first = slm.gray_levels.copy()
    readback = slm.current_phase_rad()
    np.testing.assert_allclose(readback, k * (TWO_PI / levels), atol=1e-6)
    assert np.array_equal(phase_levels(readback, levels), k)
    slm.show(readback)
    assert np.array_equal(slm.gray_levels, first)


@pytest.mark.parametrize("count", [256, 1024])
def test_level_phases_in_float32_floor_back_to_their_levels(count):
    from drivers.slm_lut import level_phases_f32

    k = np.arange(count)
    phase = level_phases_f32(k, count)
    assert phase.dtype == np.float32
    assert np.array_equal(phase_levels(phase, count), k)
    assert np.max(np.abs(phase.astype(np.float64) - k * TWO_PI / count)) <= 2 * np.spacing(np.float32(TWO_PI))

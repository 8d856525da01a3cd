"""The SLM's phase-to-gray rule with ordered dithering (drivers/slm_lut.py), against hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.slm_lut import (TWO_PI, bayer_thresholds, fractional_gray, linear_lut, load_lut, lut_sha256,
                             phase_to_gray)

BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])  # the textbook 4 x 4 index matrix


def uniform(value_rad, shape=(8, 8)):
    return np.full(shape, value_rad)


def test_the_4x4_thresholds_are_the_bayer_matrix_centred_in_sixteenths():
    assert np.array_equal(bayer_thresholds(4), (BAYER4 + 0.5) / 16)
    eight = bayer_thresholds(8) * 64 - 0.5
    assert sorted(eight.ravel().astype(int)) == list(range(64))  # every threshold once
    assert np.array_equal(eight[:4, :4], 4 * BAYER4) and np.array_equal(eight[4:, 4:], 4 * BAYER4 + 1)  # recursive
    with pytest.raises(ValueError, match="power of 2"):
        bayer_thresholds(6)


def test_a_quarter_gray_above_k_turns_exactly_4_of_16_pixels_up_to_k_plus_1():
    lut = np.full(16, 10.25)  # every phase is gray 10.25 (fractional LUT entries)
    gray = phase_to_gray(uniform(1.0), lut, dither="bayer4", gray_max=255)
    tile = gray[:4, :4]
    assert gray.dtype == np.uint8 and set(np.unique(gray)) == {10, 11}
    assert np.count_nonzero(tile == 11) == 4
    assert np.array_equal(tile == 11, BAYER4 >= 12)  # 12..15: thresholds 12.5/16 ... 15.5/16 >= 1 - 1/4
    assert np.array_equal(gray[4:, 4:], tile)  # the pattern repeats tile by tile, from pixel (0, 0)
    # the same through a linear LUT: phase at level 100.25 is gray 100.25
    gray = phase_to_gray(uniform(TWO_PI * 100.25 / 256), linear_lut(), dither="bayer4")
    assert np.array_equal(gray[:4, :4], np.where(BAYER4 >= 12, 101, 100))


@pytest.mark.parametrize("side, dither", [(4, "bayer4"), (8, "bayer8")])
def test_each_tile_mean_is_the_fractional_gray_to_half_a_threshold_step(side, dither):
    for fraction in np.linspace(0.0, 0.999, 37):
        lut = np.full(8, 50.0 + fraction)
        gray = phase_to_gray(uniform(2.0, (side, side)), lut, dither=dither, gray_max=255)
        assert abs(gray.mean() - (50.0 + fraction)) <= 0.5 / side**2 + 1e-12


def test_uniform_input_on_a_lut_entry_gives_that_entry_exactly_as_the_floor_rule_does():
    lut = np.array([0, 1, 2, 3, 4, 4, 5, 6, 7, 9, 10, 12, 200, 201, 254, 255], np.uint8)  # uneven steps
    n = len(lut)
    for k in range(n):
        phase = uniform(TWO_PI * k / n)
        plain = phase_to_gray(phase, lut)
        dithered = phase_to_gray(phase, lut, dither="bayer4")
        assert np.all(plain == lut[k]) and np.all(dithered == lut[k]), k


def test_between_entries_the_lut_is_read_linearly():
    lut = np.array([0, 10, 30, 31], np.uint8)
    phase = np.array([[TWO_PI * 0.5 / 4, TWO_PI * 1.25 / 4, TWO_PI * 2.75 / 4]])
    assert fractional_gray(phase, lut, 255) == pytest.approx(np.array([[5.0, 15.0, 30.75]]))


def test_past_the_last_entry_the_gray_runs_on_to_2_pi_and_never_leaves_the_panels_range():
    n = 256
    # linear 8-bit LUT: 2 pi would be gray 256, which the panel does not have: stays at 255
    top = uniform(TWO_PI * (n - 0.01) / n)
    for phase in (top, uniform(-1e-9), uniform(TWO_PI - 1e-12)):
        gray = phase_to_gray(phase, linear_lut(), dither="bayer8")
        assert gray.max() <= 255 and gray.min() >= 0
    assert np.all(phase_to_gray(top, linear_lut(), dither="bayer4") == 255)
    # a LUT reaching 2 pi at gray 212: halfway through the last level is halfway to 212
    lut = np.linspace(0.0, 212.0 * 255 / 256, n)
    assert fractional_gray(uniform(TWO_PI * (n - 0.5) / n, (1, 1)), lut, 255)[0, 0] == pytest.approx(211.5859375)
    gray = phase_to_gray(uniform(TWO_PI * (n - 0.5) / n), lut, dither="bayer4")
    assert set(np.unique(gray)) == {211, 212}
    # a falling LUT: below gray 0 is not shown
    falling = np.arange(255, -1, -1).astype(np.uint8)
    assert fractional_gray(top[:1, :1], falling, 255)[0, 0] == pytest.approx(0.0)
    assert phase_to_gray(top, falling, dither="bayer4").min() == 0
    # 2 pi and non-finite phases are phase 0: entry 0
    assert np.all(phase_to_gray(np.array([[TWO_PI, np.nan, np.inf, -4 * np.pi]]), lut, dither="bayer4") == 0)


def test_a_10_bit_lut_gives_16_bit_gray_levels_up_to_1023():
    lut = np.arange(1024, dtype=np.uint16)
    gray = phase_to_gray(uniform(TWO_PI * 700.25 / 1024), lut, dither="bayer4")
    assert gray.dtype == np.uint16 and np.array_equal(gray[:4, :4], np.where(BAYER4 >= 12, 701, 700))
    top = phase_to_gray(uniform(TWO_PI * 1023.9 / 1024), lut, dither="bayer4")
    assert top.max() == 1023
    lut10 = np.linspace(0.0, 848.0 * 1023 / 1024, 1024)  # 2 pi at gray 848 of a 10-bit panel
    gray = phase_to_gray(uniform(TWO_PI * (1024 - 0.5) / 1024), lut10, dither="bayer8", gray_max=1023)
    assert gray.mean() == pytest.approx(847.5859375, abs=1 / 128)


def test_fractional_entries_without_dithering_round_to_the_nearest_gray():
    lut = np.array([0.4, 0.6, 2.5, 254.7])
    phase = np.array([[0.1, TWO_PI / 4 + 0.1, TWO_PI / 2 + 0.1, TWO_PI * 3 / 4 + 0.1]])
    assert phase_to_gray(phase, lut, gray_max=255).tolist() == [[0, 1, 3, 255]]


def test_an_unknown_dither_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"dither must be one of 'off', 'bayer4', 'bayer8' \(got 'bayer2'\)"):
        phase_to_gray(uniform(0.0), linear_lut(), dither="bayer2")


def test_a_lut_file_keeps_fractional_gray_levels_and_its_hash_says_so(tmp_path):
    path = tmp_path / "frac.lut"
    path.write_text("# a calibration's unrounded LUT\n0\n10.5\n20.25\n255\n", encoding="utf-8")
    lut = load_lut(path)
    assert lut.dtype == np.float64 and lut.tolist() == [0.0, 10.5, 20.25, 255.0]
    whole = tmp_path / "whole.lut"
    whole.write_text("0\n10\n20.0\n255\n", encoding="utf-8")
    assert load_lut(whole).dtype == np.uint8 and load_lut(whole).tolist() == [0, 10, 20, 255]
    assert lut_sha256(np.array([0.0, 10.0, 20.0, 255.0])) == lut_sha256(load_lut(whole))  # by value
    assert lut_sha256(lut) != lut_sha256(np.array([0, 10, 20, 255]))  # not truncated to the same identity
    bad = tmp_path / "bad.lut"
    bad.write_text("0\n255.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.lut:2: gray level 255.5 is outside 0..255"):
        load_lut(bad)

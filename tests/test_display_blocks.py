"""Maps shown at a figure's resolution: k x k block means of the valid pixels, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from app.storage.display_blocks import Blocks, block_factor


def test_block_size_keeps_at_least_the_image_pixels_on_the_longer_side():
    assert block_factor((1024, 1024), 334) == 3  # 342 blocks for 334 screen pixels
    assert block_factor((32, 2048), 396) == 5
    assert block_factor((60, 90), 334) == 1  # small maps are shown as they are


def test_block_means_average_only_valid_pixels_and_partial_edge_blocks_what_exists():
    data = np.arange(35, dtype=float).reshape(5, 7)  # 2 x 2 blocks: the last row and column are partial
    valid = np.ones((5, 7), bool)
    valid[0, 0] = False  # one pixel of the first block left out
    blocks = Blocks.of(data.shape, 2, valid)
    means = blocks.mean(data, valid)
    assert means.shape == (3, 4)
    assert means[0, 0] == pytest.approx((1 + 7 + 8) / 3)
    assert means[0, 3] == pytest.approx((6 + 13) / 2)  # right edge: one column of pixels
    assert means[2, 3] == pytest.approx(34)  # the corner: one pixel
    assert blocks.valid.all()  # 3 of 4 valid is a majority
    assert blocks.extent() == (-0.5, 7.5, 5.5, -0.5)


def test_a_block_with_fewer_than_half_its_pixels_valid_is_masked():
    valid = np.array([[True, False, True, True], [False, False, True, False]])
    blocks = Blocks.of(valid.shape, 2, valid)
    assert blocks.valid.tolist() == [[False, True]]  # 1 of 4 valid, then 3 of 4


def test_not_finite_pixels_are_left_out_of_a_mean_and_an_all_bad_block_is_nan():
    data = np.array([[np.nan, 2.0, np.inf, np.nan], [4.0, 6.0, np.nan, np.nan]])
    means = Blocks.of(data.shape, 2, None).mean(data, None)
    assert means[0, 0] == pytest.approx(4.0) and np.isnan(means[0, 1])


def test_wrapped_phase_blocks_average_as_angles_not_as_numbers():
    phase = np.array([[np.pi - 0.1, -np.pi + 0.1], [np.pi - 0.1, -np.pi + 0.1]])  # all close to +-pi
    direction, length = Blocks.of(phase.shape, 2, None).phase_mean(phase, None)
    assert abs(direction[0, 0]) == pytest.approx(np.pi, abs=1e-6)  # the arithmetic mean would say 0
    assert length[0, 0] == pytest.approx(np.cos(0.1), rel=1e-6)


def test_complex_blocks_are_the_mean_complex_transmission():
    amplitude = np.array([[1.0, 0.5], [0.0, 0.5]])
    phase = np.array([[0.0, np.pi / 2], [1.0, -np.pi / 2]])
    valid = np.array([[True, True], [True, False]])
    direction, length = Blocks.of(phase.shape, 2, valid).phase_mean(phase, valid, weight=amplitude)
    mean = (1.0 + 0.5j + 0.0) / 3  # the masked pixel is left out
    assert direction[0, 0] == pytest.approx(np.angle(mean), abs=1e-6)
    assert length[0, 0] == pytest.approx(abs(mean), rel=1e-6)

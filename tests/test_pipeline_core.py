"""Integer accumulation and N-step demodulation, checked on hand-computed cases."""

import numpy as np
import pytest

from app.pipeline import StepAccumulator, demodulate, equal_step_phases_rad, normalise_by_reference


def fringe_stack(mean, visibility, phase_rad, steps):
    theta = equal_step_phases_rad(steps)[:, None, None]
    return mean * (1 + visibility * np.cos(theta + phase_rad))


@pytest.mark.parametrize("steps", [3, 4, 5, 8])
def test_demodulation_recovers_known_visibility_and_phase(steps):
    visibility = np.array([[0.1, 0.6], [0.9, 0.3]])
    phase = np.array([[0.0, 1.0], [-2.5, 3.0]])
    maps = demodulate(fringe_stack(1000.0, visibility, phase, steps))
    np.testing.assert_allclose(maps.visibility, visibility, rtol=1e-12)
    np.testing.assert_allclose(maps.phase_rad, phase, atol=1e-12)
    np.testing.assert_allclose(maps.mean, 1000.0)


def test_four_step_case_by_hand():
    # a = (3, 1, 1, 3)*k: C = 3 - 1 = 2, S = 1 - 3 = -2, M = 8 -> V = 2*sqrt(8)/8, phase = atan2(2, 2)
    maps = demodulate(np.array([3.0, 1.0, 1.0, 3.0])[:, None, None])
    assert maps.visibility[0, 0] == pytest.approx(np.sqrt(8) / 4)
    assert maps.phase_rad[0, 0] == pytest.approx(np.pi / 4)


def test_fewer_than_three_steps_refused():
    with pytest.raises(ValueError, match="at least 3"):
        demodulate(np.ones((2, 1, 1)))


def test_reference_normalisation_gives_transmission_and_masks_dark_pixels():
    ref = demodulate(fringe_stack(500.0, np.array([[0.6, 0.01]]), np.array([[0.4, 0.0]]), 4))
    sample = demodulate(fringe_stack(500.0, np.array([[0.3, 0.01]]), np.array([[1.4, 0.0]]), 4))
    obj = normalise_by_reference(sample, ref, min_reference_visibility=0.05)
    assert obj.amplitude[0, 0] == pytest.approx(0.5)
    assert obj.phase_rad[0, 0] == pytest.approx(1.0)
    assert obj.mask.tolist() == [[True, False]]


def test_accumulator_sums_exactly_in_integers():
    acc = StepAccumulator(2, (2, 2))
    frames = [np.full((2, 2), v, np.uint16) for v in (65535, 65535, 7)]
    acc.add(0, frames[0]); acc.add(0, frames[1]); acc.add(1, frames[2])
    assert acc.sums.dtype == np.uint32
    assert acc.sums[0, 0, 0] == 131070 and acc.counts.tolist() == [2, 1]
    np.testing.assert_allclose(acc.mean_frames(dark=7.0)[:, 0, 0], [65528.0, 0.0])


def test_accumulator_promotes_before_uint32_overflow():
    acc = StepAccumulator(1, (1, 1), max_frame_value=2**31)
    frame = np.array([[2**31 - 1]], dtype=np.uint32)
    for _ in range(3):
        acc.add(0, frame)
    assert acc.sums.dtype == np.uint64 and int(acc.sums[0, 0, 0]) == 3 * (2**31 - 1)


def test_accumulator_rejects_wrong_shape_and_empty_steps():
    acc = StepAccumulator(3, (4, 4))
    with pytest.raises(ValueError, match="shape"):
        acc.add(0, np.zeros((4, 5), np.uint16))
    acc.add(0, np.zeros((4, 4), np.uint16))
    with pytest.raises(ValueError, match=r"steps \[1, 2\] have no frames"):
        acc.mean_frames()

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


# -- accumulation: dtypes, ROI views, promotion, saturation --------------------------------------

def test_accumulator_takes_uint8_and_roi_views_exactly():
    rng = np.random.default_rng(1)
    big = rng.integers(0, 4000, (40, 50), dtype=np.uint16)
    roi = big[5:25, 7:37]  # a non-contiguous view, as a camera ROI of a larger buffer
    acc = StepAccumulator(3, roi.shape)
    acc.add(1, roi)
    acc.add(1, roi)
    np.testing.assert_array_equal(acc.sums[1], 2 * roi.astype(np.int64))
    small = StepAccumulator(3, (4, 4))
    frame8 = np.full((4, 4), 200, np.uint8)
    for _ in range(3):
        small.add(2, frame8)
    assert int(small.sums[2, 0, 0]) == 600 and not small.saturated.any()


def test_accumulator_refuses_signed_or_float_frames_and_bad_steps():
    acc = StepAccumulator(2, (2, 2))
    with pytest.raises(ValueError, match="unsigned"):
        acc.add(0, np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="step 2 outside"):
        acc.add(2, np.zeros((2, 2), np.uint16))


def test_flush_to_wider_keeps_sums_exact_past_uint32():
    # uint32 frames of 2^31 - 1: the uint32 partial sum can hold two, so the third frame triggers a flush
    acc = StepAccumulator(2, (1, 2))
    frame = np.array([[2**31 - 1, 5]], dtype=np.uint32)
    for _ in range(5):
        acc.add(1, frame)
    acc.add(0, np.array([[1, 2]], dtype=np.uint32))
    sums = acc.sums
    assert sums.dtype == np.uint64
    assert sums[1].tolist() == [[5 * (2**31 - 1), 25]] and sums[0].tolist() == [[1, 2]]
    assert acc.counts.tolist() == [1, 5]


def test_uint16_accumulator_stays_uint32_until_the_bound_requires_promotion():
    acc = StepAccumulator(1, (2, 2))
    acc._bound[0] = 2**32 - 1 - 65535  # as after ~65 536 full-scale frames: one more still fits
    acc.add(0, np.full((2, 2), 65535, np.uint16))
    assert acc.sums.dtype == np.uint32 and acc._wide is None
    acc.add(0, np.full((2, 2), 3, np.uint16))  # now it might not fit: flushed to uint64 first
    assert acc.sums.dtype == np.uint64 and int(acc.sums[0, 0, 0]) == 65538


def test_saturation_mask_flags_any_frame_at_the_adc_maximum():
    acc = StepAccumulator(2, (2, 3))
    clean = np.full((2, 3), 1000, np.uint16)
    hot = clean.copy()
    hot[1, 2] = 65535
    acc.add(0, clean)
    acc.add(1, hot)
    acc.add(1, clean)
    assert acc.saturated.tolist() == [[False, False, False], [False, False, True]]
    assert acc.saturated_frames == 1
    twelve_bit = StepAccumulator(1, (1, 2), saturation_adu=4095)
    twelve_bit.add(0, np.array([[4095, 4094]], np.uint16))
    assert twelve_bit.saturated.tolist() == [[True, False]]


def test_accumulator_memory_is_within_n_plus_3_words_per_pixel():
    for n in (3, 4, 8):
        acc = StepAccumulator(n, (64, 64))
        assert acc.nbytes_per_pixel() <= (n + 3) * 4


# -- demodulation: unequal and per-pixel measured steps -------------------------------------------

def test_unequal_steps_solved_by_least_squares():
    theta = np.array([0.0, 1.3, 2.0, 4.1, 5.5])
    visibility = np.array([[0.2, 0.7]])
    phase = np.array([[0.5, -2.0]])
    stack = 800.0 * (1 + visibility * np.cos(theta[:, None, None] + phase))
    maps = demodulate(stack, theta)
    np.testing.assert_allclose(maps.visibility, visibility, rtol=1e-12)
    np.testing.assert_allclose(maps.phase_rad, phase, atol=1e-12)
    np.testing.assert_allclose(maps.mean, 800.0)


def test_three_unequal_steps_by_hand():
    # theta = 0, pi/2, pi: a + b cos + c sin through (a0, a1, a2) -> a = (a0 + a2)/2, b = (a0 - a2)/2, c = a1 - a
    maps = demodulate(np.array([3.0, 4.0, 1.0])[:, None, None], np.array([0.0, np.pi / 2, np.pi]))
    a, b, c = 2.0, 1.0, 2.0
    assert maps.mean[0, 0] == pytest.approx(a)
    assert maps.visibility[0, 0] == pytest.approx(np.hypot(b, c) / a)
    assert maps.phase_rad[0, 0] == pytest.approx(np.arctan2(-c, b))


def test_per_pixel_measured_step_phases():
    rng = np.random.default_rng(3)
    theta = equal_step_phases_rad(4)[:, None, None] + rng.uniform(-0.4, 0.4, (4, 3, 3))  # e.g. piezo tilt
    visibility = rng.uniform(0.1, 0.9, (3, 3))
    phase = rng.uniform(-3, 3, (3, 3))
    stack = 500.0 * (1 + visibility * np.cos(theta + phase))
    maps = demodulate(stack, theta)
    np.testing.assert_allclose(maps.visibility, visibility, rtol=1e-10)
    np.testing.assert_allclose(np.angle(np.exp(1j * (maps.phase_rad - phase))), 0.0, atol=1e-10)


def test_degenerate_steps_refused():
    with pytest.raises(ValueError, match="do not determine"):
        demodulate(np.ones((3, 1, 1)), np.array([0.0, 0.0, 2 * np.pi]))


def test_complex_field_is_mean_times_visibility_times_phasor():
    from app.pipeline import complex_field

    stack = fringe_stack(400.0, np.array([[0.5]]), np.array([[1.1]]), 4)
    np.testing.assert_allclose(complex_field(stack), 400.0 * 0.5 * np.exp(1.1j), rtol=1e-12)


def test_reference_mask_excludes_low_counts_and_excluded_pixels():
    ref = demodulate(fringe_stack(np.array([[500.0, 2.0, 500.0]]), 0.6, 0.0, 4))
    obj = normalise_by_reference(ref, ref, min_reference_mean_adu=10.0, exclude=np.array([[False, False, True]]))
    assert obj.mask.tolist() == [[True, False, False]]


def test_hot_pixels_and_unwrapping_inside_mask():
    from app.pipeline.masks import hot_pixel_mask, unwrap_in_mask

    dark = 100.0 + np.random.default_rng(0).normal(0, 0.5, (32, 32))
    dark[3, 4] = 140.0
    assert np.flatnonzero(hot_pixel_mask(dark)).tolist() == [3 * 32 + 4]
    y, x = np.mgrid[0:64, 0:64]
    truth = 0.25 * x  # a 16 rad ramp
    mask = np.ones(truth.shape, bool)
    mask[20:30, 20:30] = False
    unwrapped = unwrap_in_mask(np.angle(np.exp(1j * truth)), mask)
    offset = unwrapped[mask] - truth[mask]
    np.testing.assert_allclose(offset, offset[0], atol=1e-9)
    assert abs(offset[0] / (2 * np.pi) - round(offset[0] / (2 * np.pi))) < 1e-9
    assert (unwrapped[~mask] == 0).all()


def test_staged_accumulation_is_exact_through_wraps_step_changes_and_bright_frames():
    """Random step order and brightness (dim frames stage in uint16; jumps wrap and are undone): int64 truth."""
    rng = np.random.default_rng(8)
    acc = StepAccumulator(3, (5, 7))
    truth = np.zeros((3, 5, 7), np.int64)
    for i in range(400):
        step = int(rng.integers(0, 3)) if i % 50 > 30 else (i // 10) % 3
        top = int(rng.choice([300, 5000, 40000, 65535]))
        frame = rng.integers(0, top + 1, (5, 7), dtype=np.uint16)
        acc.add(step, frame)
        truth[step] += frame
        if i % 97 == 0:
            np.testing.assert_array_equal(acc.sums.astype(np.int64), truth)  # reading mid-run is exact too
    np.testing.assert_array_equal(acc.sums.astype(np.int64), truth)
    assert acc.counts.sum() == 400


def test_a_frame_that_overflows_the_staging_sum_is_undone_exactly():
    acc = StepAccumulator(1, (1, 3))
    for _ in range(60):
        acc.add(0, np.array([[1000, 7, 0]], np.uint16))  # staged: bound 60 000
    acc.add(0, np.array([[9000, 1, 65534]], np.uint16))  # 69 000 > 65 535: wraps, undone, added wide
    assert acc.sums[0].tolist() == [[69000, 421, 65534]] and acc.sums.dtype == np.uint32


def _skimage_unwrap_in_mask(phase, mask):
    """The reference: scikit-image's unwrapper on the masked phase, masked pixels 0 (today's rule)."""
    from skimage.restoration import unwrap_phase

    out = np.asarray(np.ma.filled(unwrap_phase(np.ma.masked_array(phase, mask=~mask)), 0.0), dtype=np.float64)
    out[~mask] = 0.0
    return out


@pytest.mark.parametrize("peak_rad", [0.5, 3.0, 9.0])
def test_unwrapping_gives_the_same_bits_as_scikit_image_with_and_without_wraps(peak_rad):
    from app.pipeline.masks import has_wraps, unwrap_in_mask

    rng = np.random.default_rng(3)
    y, x = np.mgrid[-1:1:96j, -1:1:80j]
    truth = peak_rad * np.exp(-(x**2 + y**2) / 0.3) + rng.normal(0, 0.02, x.shape)
    phase = np.angle(np.exp(1j * truth))
    phase[5, 5], phase[6, 6] = -0.0, 0.0  # signed zeros come out as the unwrapper writes them
    mask = rng.random(phase.shape) > 0.05
    mask[:, :8] = False
    expected = _skimage_unwrap_in_mask(phase, mask)
    got = unwrap_in_mask(phase, mask)
    assert has_wraps(phase, mask) == (peak_rad > np.pi)
    assert got.tobytes() == expected.tobytes()


def test_wrap_test_looks_only_at_valid_neighbours():
    from app.pipeline.masks import has_wraps

    phase = np.zeros((3, 4))
    phase[1, 2] = 3.5  # jumps by more than pi against each neighbour
    mask = np.ones(phase.shape, bool)
    assert has_wraps(phase, mask)
    mask[1, 2] = False
    assert not has_wraps(phase, mask)
    phase[1, 2] = np.pi  # exactly pi is not a wrap (the unwrapper's strict test)
    assert not has_wraps(phase, np.ones(phase.shape, bool))


@pytest.mark.parametrize("jit", [True, False])
def test_numpy_and_numba_kernels_give_the_same_exact_sums(jit):
    rng = np.random.default_rng(11)
    frames = rng.integers(0, 65536, (40, 6, 9), dtype=np.uint16)
    frames[::7] //= 64  # dim frames go through the uint16 staging sum
    acc = StepAccumulator(4, (6, 9), jit=jit)
    steps = rng.integers(0, 4, frames.shape[0])
    for k, frame in zip(steps, frames):
        acc.add(int(k), frame)
    truth = np.zeros((4, 6, 9), np.int64)
    np.add.at(truth, steps, frames.astype(np.int64))
    np.testing.assert_array_equal(acc.sums.astype(np.int64), truth)
    assert acc.saturated.tolist() == (frames == 65535).any(axis=0).tolist()


def test_reconstruct_can_leave_unwrapping_for_later_with_the_same_result():
    from app.pipeline.reconstruct import RunSums, reconstruct, with_unwrapped

    rng = np.random.default_rng(5)
    theta = equal_step_phases_rad(4)[:, None, None]
    phase = np.angle(np.exp(1j * 6 * np.linspace(-1, 1, 40)))[None, None, :] * np.ones((1, 30, 1))
    sums = np.round(8 * 400 * (1 + 0.6 * np.cos(theta + phase))).astype(np.uint32) + rng.integers(0, 3, (4, 30, 40)).astype(np.uint32)
    run = RunSums(sums=sums, counts=np.full(4, 8))
    now = reconstruct(run)
    later = reconstruct(run, unwrap=False)
    assert later.phase_unwrapped_rad is None
    np.testing.assert_array_equal(with_unwrapped(later).phase_unwrapped_rad, now.phase_unwrapped_rad)


def test_object_phase_is_the_difference_wrapped_into_minus_pi_to_pi():
    """Hand-worked: 3.0 - (-3.0) = 6.0 rad wraps to 6 - 2 pi; -2.5 - 2.5 = -5 rad to 2 pi - 5; small
    differences stay; and any difference of two wrapped phases equals arg exp(i d)."""
    sample_phase = np.array([[3.0, -2.5, 0.4]])
    reference_phase = np.array([[-3.0, 2.5, 0.1]])
    ones = np.ones_like(sample_phase)
    obj = normalise_by_reference(demodulate_maps(sample_phase, ones), demodulate_maps(reference_phase, ones))
    np.testing.assert_allclose(obj.phase_rad, [[6.0 - 2 * np.pi, 2 * np.pi - 5.0, 0.3]], atol=1e-15)
    rng = np.random.default_rng(3)
    a, b = rng.uniform(-np.pi, np.pi, (2, 100_000))
    obj = normalise_by_reference(demodulate_maps(a, np.ones_like(a)), demodulate_maps(b, np.ones_like(b)))
    np.testing.assert_allclose(obj.phase_rad, np.angle(np.exp(1j * (a - b))), atol=1e-12)
    assert np.all(np.abs(obj.phase_rad) <= np.pi)


def demodulate_maps(phase_rad, visibility):
    from app.pipeline.demodulate import FringeMaps

    return FringeMaps(visibility=np.asarray(visibility, float), phase_rad=np.asarray(phase_rad, float),
                      mean=np.full(np.shape(phase_rad), 100.0))


@pytest.mark.parametrize("phases", ["equal", "unequal", "per-pixel"])
def test_demodulation_from_integer_sums_recovers_the_fringe_across_bands_dark_and_unequal_counts(phases, monkeypatch):
    """Step sums made from a known fringe over a dark map, with a different frame count per step, and
    pixel bands that do not divide the frame: V, phase and mean come back (to the sums' rounding)."""
    import importlib

    dm = importlib.import_module("app.pipeline.demodulate")  # the module (the package exports its function)
    monkeypatch.setattr(dm, "BAND_PIXELS", 1000)  # 37 x 61 = 2257 pixels: two full bands and a partial one
    rng = np.random.default_rng(11)
    shape, n = (37, 61), 5
    mean = rng.uniform(2000, 4000, shape)
    visibility = rng.uniform(0.2, 0.9, shape)
    phase = rng.uniform(-np.pi, np.pi, shape)
    dark = rng.uniform(90, 110, shape)
    theta = {"equal": equal_step_phases_rad(n), "unequal": np.array([0.0, 1.1, 2.3, 3.9, 5.0]),
             "per-pixel": equal_step_phases_rad(n)[:, None, None] + rng.normal(0, 0.05, (n, *shape))}[phases]
    counts = np.array([8, 7, 9, 8, 6])
    th = theta if theta.ndim == 3 else theta[:, None, None]
    means = dark + mean * (1 + visibility * np.cos(th + phase))
    sums = np.rint(means * counts[:, None, None]).astype(np.uint32)
    maps = dm.demodulate_sums(sums, counts, dark, theta)
    np.testing.assert_allclose(maps.mean, mean, rtol=1e-4)
    np.testing.assert_allclose(maps.visibility, visibility, atol=1e-3)
    np.testing.assert_allclose(np.angle(np.exp(1j * (maps.phase_rad - phase))), 0.0, atol=1e-3)


def test_demodulation_from_sums_refuses_a_step_without_frames():
    from app.pipeline.demodulate import demodulate_sums

    with pytest.raises(ValueError, match=r"steps \[2\] have no frames"):
        demodulate_sums(np.ones((4, 3, 3), np.uint32), np.array([2, 2, 0, 2]))

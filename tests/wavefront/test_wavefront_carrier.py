"""Masks shown without needless phase wraps: the AO metric's pi carrier and the centred base mask."""

from __future__ import annotations

import numpy as np
import pytest

from app.wavefront.loop import VisibilityMetric
from app.wavefront.masks import centred_for_slm, wrap_free_offset_rad
from app.wavefront.zernike import Pupil, ZernikeBasis
from sim_backends.quick import quick_bench


def test_the_centring_offset_puts_the_mask_and_its_later_steps_in_the_middle_of_0_to_2pi():
    mask = np.array([[-0.3, 0.0], [0.2, 0.5]])
    offset = wrap_free_offset_rad(mask, extra_span_rad=1.0)
    assert offset == pytest.approx(np.pi - 0.5 * (-0.3 + 1.5))  # range [-0.3, 0.5 + 1.0] centred on pi
    shown = centred_for_slm(mask, 1.0)
    assert shown.dtype == np.float32
    assert shown.min() > 0 and shown.max() + 1.0 < 2 * np.pi  # no wrap, steps included


def test_a_small_mask_shown_on_the_pi_carrier_keeps_the_visibility_a_wrapping_one_loses():
    bench = quick_bench(sample="empty", roi=(1008, 1008, 32, 32))
    bench.slm.lut = bench.slm.ideal_lut()
    (row, col), radius = bench.world.slm_pupil_truth()
    tiny = ZernikeBasis((5, 6), Pupil((row, col), radius), bench.slm.shape).wavefront_rad(np.array([0.002, 0.002]))
    values = {}
    for carrier in (0.0, np.pi):
        metric = VisibilityMetric(bench, roi_px=32, frames_per_step=2, carrier_rad=carrier)
        try:
            flat = np.mean([metric(np.zeros(bench.slm.shape)) for _ in range(2)])
            values[carrier] = np.mean([metric(tiny) for _ in range(2)]) / flat
        finally:
            metric.close()
    assert values[np.pi] > 0.99  # 0.002 rad is no aberration: nothing is lost
    assert values[0.0] < 0.985  # every sign change of the mode is a 2 pi wrap on the panel

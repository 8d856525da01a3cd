"""The numbers the maps panel shows, against hand-worked cases and the pipeline's equations."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.events import FrameInfo
from app.engine.plan import Plan, PlanStage
from app.gui.preview import (PreviewAccumulator, achieved_step_rad, block_roi, block_sums, cycle_drift_rad_per_s,
                             frames_to_reach, preview_maps)

H, W = 24, 32
Y, X = np.mgrid[:H, :W]
PHI = 2 * np.pi * 1.5 * X / W + 0.3 * Y / H  # 1.5 fringes of tilt


def fringe(a, b, theta, phi=PHI):
    return a + b * np.cos(phi + theta)


@pytest.mark.parametrize("n_steps, step_rad", [(4, np.pi / 2), (4, 1.35), (4, 1.9), (5, 2 * np.pi / 5), (8, 0.7)])
def test_achieved_phase_step_recovers_the_step_actually_taken(n_steps, step_rad):
    frames = np.stack([fringe(1000.0, 300.0, k * step_rad) for k in range(n_steps)])
    assert achieved_step_rad(frames) == pytest.approx(step_rad, abs=1e-9)


def test_achieved_phase_step_needs_no_phase_variation_across_the_roi():
    frames = np.stack([fringe(800.0, 200.0, k * 1.2, phi=np.full((H, W), 0.4)) for k in range(4)])
    assert achieved_step_rad(frames) == pytest.approx(1.2, abs=1e-9)


def test_achieved_phase_step_is_unknown_with_three_steps():
    assert achieved_step_rad(np.stack([fringe(1.0, 0.5, k * 2.0) for k in range(3)])) is None


def test_frames_to_reach_follows_one_over_sqrt_n():
    # sigma 0.2 rad after 8 frames per step; 0.1 rad needs 4 x 8 = 32 per step: 24 more for each of 4 steps
    assert frames_to_reach(0.2, 8, 0.1, 4) == 96
    assert frames_to_reach(0.05, 8, 0.1, 4) == 0
    with pytest.raises(ValueError):
        frames_to_reach(float("inf"), 8, 0.1, 4)


def _plan(n_steps=4, frames=3, cycles=3):
    phases = tuple(2 * np.pi * k / n_steps for k in range(n_steps))
    stages = (PlanStage("dark", "dark", (0.0,), (0.0,), 2, laser_on=False),
              PlanStage("sample", "sample", tuple(float(k) for k in range(n_steps)), phases, frames, cycles=cycles))
    return Plan(sequence="phase-stepping", stages=stages, results=(), frame_shape=(H, W), laser_power_w=0.1,
                exposure_s=None, frame_timeout_s=1.0)


def _info(stage, step, cycle, t=0.0):
    return FrameInfo(stage, step, cycle, 0, t, 0.0, 0.0, 0.1)


def test_preview_maps_from_running_sums_match_the_fringe_and_the_uncertainty_equation():
    plan = _plan()
    acc = PreviewAccumulator(plan)
    dark = 100
    for _ in range(2):
        acc.add(np.full((H, W), dark, np.uint16), _info("dark", 0, 0))
    a, v = 2000.0, 0.5
    for cycle in range(3):
        for k in range(4):
            frame = np.round(dark + fringe(a, a * v, 2 * np.pi * k / 4)).astype(np.uint16)
            acc.add(frame, _info("sample", k, cycle))
    maps = preview_maps(acc.snapshot(), gain_e_per_adu=0.5, read_noise_e=0.0)
    assert maps.stage == "sample" and maps.frames_per_step == 3 and maps.dark_subtracted
    assert np.allclose(maps.visibility, v, atol=2e-3)
    assert np.allclose(np.angle(np.exp(1j * (maps.phase_rad - PHI))), 0.0, atol=2e-3)
    # sigma_phase^2 = 2 / (N_e V^2), N_e = gain * mean * frames (shot noise only)
    n_e = 0.5 * a * 12
    assert np.allclose(maps.sigma_phase_rad, np.sqrt(2.0 / (n_e * v**2)), rtol=1e-2)


def test_preview_has_no_fringe_maps_until_every_step_has_a_frame():
    acc = PreviewAccumulator(_plan())
    acc.add(np.full((H, W), 100, np.uint16), _info("dark", 0, 0))
    acc.add(np.full((H, W), 900, np.uint16), _info("sample", 0, 0))
    maps = preview_maps(acc.snapshot(), gain_e_per_adu=0.5, read_noise_e=1.0)
    assert maps.visibility is None and maps.frames_per_step == 0


def test_drift_is_the_slope_of_the_global_phase_over_cycles():
    plan = _plan(cycles=6, frames=6)
    acc = PreviewAccumulator(plan)
    rate = 0.15  # rad/s
    for cycle in range(6):
        t = 2.0 * cycle
        for k in range(4):
            frame = np.round(fringe(1500.0, 600.0, 2 * np.pi * k / 4, phi=PHI + rate * t)).astype(np.uint16)
            acc.add(frame, _info("sample", k, cycle, t))
    acc.add(np.zeros((H, W), np.uint16), _info("sample", 0, 6, 12.0))  # closes cycle 5
    stage, _, _, dark, cycles = acc.snapshot()
    assert len(cycles) == 6
    assert cycle_drift_rad_per_s(cycles, dark, stage.step_phases_rad) == pytest.approx(rate, abs=2e-3)


def test_block_sums_add_every_pixel_once_including_partial_edge_blocks():
    frames = np.arange(2 * 5 * 7, dtype=np.uint16).reshape(2, 5, 7)
    sums = block_sums(frames, 3)
    assert sums.shape == (2, 2, 3)
    assert sums[1, 0, 0] == frames[1, :3, :3].sum() and sums[0, 1, 2] == frames[0, 3:, 6:].sum()
    assert sums.sum() == frames.sum()
    assert block_roi((slice(4, 10), slice(0, 3)), 3) == (slice(1, 4), slice(0, 1))


def test_completed_cycles_of_a_megapixel_stage_are_kept_as_block_sums_and_still_give_the_drift():
    h = w = 1024
    yy, xx = np.mgrid[:h, :w]
    phi = 2 * np.pi * 3.0 * xx / w + 0.5 * yy / h
    stages = (PlanStage("dark", "dark", (0.0,), (0.0,), 1, laser_on=False),
              PlanStage("sample", "sample", (0.0, 1.0, 2.0, 3.0), tuple(np.pi / 2 * k for k in range(4)), 1, cycles=5))
    plan = Plan(sequence="phase-stepping", stages=stages, results=(), frame_shape=(h, w), laser_power_w=0.1,
                exposure_s=None, frame_timeout_s=1.0)
    acc = PreviewAccumulator(plan)
    acc.add(np.full((h, w), 100, np.uint16), _info("dark", 0, 0))
    rate = -0.2  # rad/s
    for cycle in range(5):
        t = 1.5 * cycle
        for k in range(4):
            frame = np.round(100 + fringe(1500.0, 600.0, np.pi / 2 * k, phi=phi + rate * t)).astype(np.uint16)
            acc.add(frame, _info("sample", k, cycle, t))
    acc.add(np.zeros((h, w), np.uint16), _info("sample", 0, 5, 7.5))  # closes cycle 4
    stage, _, _, dark, cycles = acc.snapshot()
    assert len(cycles) == 5 and all(c.sums.shape == (4, 128, 128) for c in cycles)  # 8 x 8 blocks, not 1024^2
    roi = (slice(500, 564), slice(480, 560))
    assert cycle_drift_rad_per_s(cycles, dark, stage.step_phases_rad, roi) == pytest.approx(rate, abs=2e-3)

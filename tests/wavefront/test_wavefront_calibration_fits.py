"""LUT fit from a phase-versus-gray measurement, and pupil registration from half-plane scans, on
measurements generated from known SLM responses and beams (ground truth known)."""

from __future__ import annotations

import numpy as np
import pytest

from app.wavefront.lut_fit import LutFitError, fit_lut, write_lut_file
from app.wavefront.pupil_fit import PupilFitError, edge_scan_masks, fit_edge_scan
from drivers.slm_lut import load_lut


def s_shaped_response(gray, gray_at_2pi=212.0):
    """A liquid-crystal-like response: slow start, steep middle, saturating top; 2 pi at gray_at_2pi."""
    u = np.asarray(gray, float) / 255.0
    shape = lambda t: t + 0.35 * np.sin(np.pi * t) ** 2 * (t - 0.5)  # noqa: E731  monotone S-curve
    return 2 * np.pi * shape(u) / shape(gray_at_2pi / 255.0)


@pytest.mark.parametrize("sign", [+1, -1])
def test_lut_fit_recovers_an_s_shaped_response_and_its_2pi_level(sign, tmp_path):
    rng = np.random.default_rng(3)
    gray = np.repeat(np.arange(0, 256, 4), 2)
    measured = sign * s_shaped_response(gray) + 0.02 * rng.normal(size=gray.size) + 1.3  # offset: reference
    fit = fit_lut(gray, np.angle(np.exp(1j * measured)))  # the interferometer only gives wrapped phase
    truth = s_shaped_response(np.arange(256))
    assert fit.sign == sign
    assert np.sqrt(np.mean((fit.response_rad - truth) ** 2)) <= 0.03
    assert abs(fit.gray_at_2pi - 212.0) <= 1.0
    # the LUT delivers 2 pi k / 256: its gray levels through the true response give those phases
    delivered = s_shaped_response(fit.lut.astype(float))
    assert np.sqrt(np.mean((delivered - 2 * np.pi * np.arange(256) / 256) ** 2)) < 0.05
    path = write_lut_file(tmp_path / "slm.lut", fit, wavelength_nm=1550.0, source="test")
    assert not np.array_equal(fit.lut, np.round(fit.lut))  # fractional gray levels, for the drivers' dithering
    assert np.array_equal(load_lut(path), fit.lut)  # written to 1e-3 gray and read back exactly


def test_an_slm_that_cannot_reach_2pi_is_refused_with_the_reason():
    gray = np.arange(0, 256, 4)
    with pytest.raises(LutFitError, match="reaches only"):
        fit_lut(gray, 0.5 * s_shaped_response(gray))


def _scan_visibility(amplitude2, axis, positions, v0=0.6):
    masks = edge_scan_masks(amplitude2.shape, axis, positions)
    return np.array([v0 * abs(np.sum(amplitude2 * np.exp(1j * m))) / amplitude2.sum() for m in masks])


@pytest.mark.parametrize("beam", ["gaussian", "disc"])
def test_half_plane_scans_register_the_pupil_within_2_percent_centre_and_5_percent_radius(beam):
    shape, centre, radius = (400, 600), (190.4, 322.7), 120.0
    y, x = np.indices(shape)
    r2 = (x - centre[1]) ** 2 + (y - centre[0]) ** 2
    intensity = np.exp(-2 * r2 / radius ** 2) if beam == "gaussian" else (r2 <= radius ** 2).astype(float)
    rng = np.random.default_rng(1)
    fits = {}
    for axis, c in (("x", centre[1]), ("y", centre[0])):
        positions = np.arange(c - 200, c + 200, 10.0).round()
        v = _scan_visibility(intensity, axis, positions) + 0.003 * rng.normal(size=positions.size)
        fits[axis] = fit_edge_scan(positions, v)
    assert {f.profile for f in fits.values()} == {beam}
    assert abs(fits["x"].centre_px - centre[1]) <= 0.02 * radius
    assert abs(fits["y"].centre_px - centre[0]) <= 0.02 * radius
    for axis in "xy":
        assert fits[axis].radius_px == pytest.approx(radius, rel=0.05)


def test_a_scan_that_misses_the_beam_centre_is_refused():
    with pytest.raises(PupilFitError, match="end of the scan"):
        fit_edge_scan(np.arange(10.0), np.linspace(0.1, 0.6, 10))


def test_a_step_other_than_pi_still_registers_the_pupil_and_the_step_is_measured():
    """An uncalibrated LUT: the step is 0.7 pi, the dip is shallow (|cos(0.35 pi)| = 0.45) but centred."""
    shape, centre, radius, step = (300, 300), (150.0, 141.3), 60.0, 0.7 * np.pi
    y, x = np.indices(shape)
    intensity = np.exp(-2 * ((x - centre[1]) ** 2 + (y - centre[0]) ** 2) / radius ** 2)
    positions = np.arange(40.0, 260.0, 8.0)
    v = np.array([0.6 * abs(np.sum(intensity * np.exp(1j * step * m / np.pi))) / intensity.sum()
                  for m in edge_scan_masks(shape, "x", positions)])
    fit = fit_edge_scan(positions, v, "gaussian")
    assert abs(fit.centre_px - centre[1]) <= 0.02 * radius
    assert fit.radius_px == pytest.approx(radius, rel=0.05)
    assert fit.step_rad == pytest.approx(step, abs=0.05)

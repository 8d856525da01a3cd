"""Polychromatic imaging in object-plane micrometres.

M = f_s lambda_s / (f_i lambda_i) varies over the SPDC spectrum: with lambda_s fixed by energy conservation,
dM/M = -(1 + lambda_s/lambda_i) dlambda_i / lambda_i, 4.9 % FWHM for 50 nm at 1550 nm. A point at camera
radius r is smeared radially with RMS r sigma_M/M (tangentially not at all), on top of the PSF.
"""

import numpy as np
import pytest

from sim_backends.quick import quick_bench
from sim_backends.samples import Sample
from sim_backends.usaf import bar_width_um

FWHM = 2 * np.sqrt(2 * np.log(2))


def relative_m_sigma(bandwidth_nm, l_i=1550.0, l_s=810.0):
    return (1 + l_s / l_i) * bandwidth_nm / l_i / FWHM


def dot_moments(bench, r_px, sigma_dot_um=12.0):
    """(radial, tangential) variance in px^2 of the imaged Gaussian dot at camera radius r_px (on the x axis)."""
    world = bench.world
    x0_um = r_px * world.object_pixel_size_um
    world.sample = Sample("dot", lambda x, y: np.exp(-((x - x0_um) ** 2 + y**2) / (4 * sigma_dot_um**2)))
    c = 1023.5 + r_px
    rows, cols = slice(1024 - 40, 1024 + 40), slice(int(c) - 40, int(c) + 40)
    img = np.abs(world.optics.effective_transmission((rows, cols)))  # T_eff: PSF (*) object, real and positive
    y = np.arange(rows.start, rows.stop)[:, None] - 1023.5
    x = np.arange(cols.start, cols.stop)[None, :] - 1023.5
    w = img / img.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    return float((w * (x - mx) ** 2).sum()), float((w * (y - my) ** 2).sum())


@pytest.mark.parametrize("r_px", [80.0, 200.0])
def test_chromatic_spread_of_the_magnification_blurs_radially_in_proportion_to_the_radius(r_px):
    # Mach-Zehnder: a thin sample acts once, so T_eff is PSF (*) dot (a Gaussian amplitude of sigma 17 um = 2 px);
    # the chromatic smear adds (r sigma_M/M)^2 to the radial variance only, whatever the PSF and dot sizes
    bench = quick_bench(sample="empty", geometry="mach-zehnder", spectral_samples=9)
    radial, tangential = dot_moments(bench, r_px)
    chromatic = (r_px * relative_m_sigma(50.0)) ** 2  # 80 px: 2.8 px^2; 200 px: 17.4 px^2
    assert radial - tangential == pytest.approx(chromatic, rel=0.02)
    mono = quick_bench(sample="empty", geometry="mach-zehnder", spectral_samples=1)
    r1, t1 = dot_moments(mono, r_px)
    assert r1 - t1 == pytest.approx(0.0, abs=0.01 * chromatic)
    assert tangential == pytest.approx(t1, rel=0.02)  # no tangential smear


def test_a_signal_filter_narrows_the_spectrum_the_blur_and_the_photon_rate():
    # a 3 nm Gaussian filter at 810 nm passes 3 (1550/810)^2 = 11.0 nm of idler; with the 50 nm SPDC spectrum:
    # 1/dl^2 = 1/50^2 + 1/11.0^2 -> 10.73 nm (in wavenumber, to first order)
    bench = quick_bench(sample="empty", geometry="mach-zehnder", spectral_samples=9, signal_filter_nm=810.0,
                        signal_filter_bandwidth_nm=3.0)
    filt_i = 3.0 * (1550.0 / 810.0) ** 2
    eff = 1 / np.sqrt(1 / 50.0**2 + 1 / filt_i**2)
    radial, tangential = dot_moments(bench, 200.0)
    assert radial - tangential == pytest.approx((200.0 * relative_m_sigma(eff)) ** 2, rel=0.03)
    # axial envelope from the same spectrum: single pass, FWHM (4 ln2/pi) lambda^2 / dlambda
    assert bench.world.coherence_length_um == pytest.approx(4 * np.log(2) / np.pi * 1.55**2 / (eff * 1e-3), rel=0.02)
    # fraction of pairs passed: the overlap of the two Gaussians (same centre): sigma_eff / sigma_spdc
    assert bench.world.spectrum.transmitted_fraction == pytest.approx(eff / 50.0, rel=0.02)


def test_object_pixel_size_and_usaf_bars_follow_the_magnification():
    bench = quick_bench(sample="usaf", spectral_samples=1, psf=False)
    m = 150.0 * 0.810 / (100.0 * 1.550)  # f_s lambda_s / (f_i lambda_i) = 0.7839
    assert bench.world.object_pixel_size_um == pytest.approx(6.5 / m, rel=1e-6)
    el = bench.world.usaf_elements()[0]  # group 2 element 3: 500 / 2^(2 + 2/6) um = 99.2 um
    assert (el.group, el.element) == (2, 3) and el.bar_width_um == pytest.approx(bar_width_um(2, 3))
    assert el.bar_width_um == pytest.approx(99.21, abs=0.01)
    # the imaged bars: the vertical block's profile has period 2 b M / p camera pixels
    t = np.abs(bench.world.transmission_truth((slice(0, 2048), slice(0, 2048))))
    r0, c0 = el.origin_vertical
    profile = t[int(r0 + 2 * el.bar_width_px), int(c0) - 2:int(c0 + 5 * el.bar_width_px) + 2]
    edges = np.flatnonzero(np.diff(profile) > 0.5)  # rising edges: one per bar
    period_px = np.diff(edges).mean()
    assert period_px == pytest.approx(2 * 99.21 * m / 6.5, abs=1.0)  # 23.9 px, to the pixel grid
    twice = quick_bench(sample="usaf", spectral_samples=1, psf=False, idler_focal_length_mm=50.0)
    assert twice.world.usaf_elements()[0].bar_width_px == pytest.approx(2 * el.bar_width_px, rel=1e-6)

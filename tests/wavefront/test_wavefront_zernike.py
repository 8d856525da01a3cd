"""Zernike indices, closed forms, sampled orthonormality and corrections that round-trip exactly."""

from __future__ import annotations

import numpy as np
import pytest

from app.wavefront.masks import Correction, MaskFileError, blazed_grating_rad, compose_mask
from app.wavefront.zernike import (
    Pupil,
    ZernikeBasis,
    ansi_to_nm,
    ansi_to_noll,
    nm_to_ansi,
    nm_to_noll,
    noll_to_ansi,
    noll_to_nm,
    zernike_noll,
)


def _noll_table_cartesian(j: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Noll (1976) table 1, written out independently in Cartesian form."""
    r2 = x * x + y * y
    s3, s5, s6, s7, s8, s10, s12 = (np.sqrt(v) for v in (3, 5, 6, 7, 8, 10, 12))
    table = {
        1: np.ones_like(x), 2: 2 * x, 3: 2 * y, 4: s3 * (2 * r2 - 1),
        5: s6 * 2 * x * y, 6: s6 * (x * x - y * y),
        7: s8 * (3 * r2 - 2) * y, 8: s8 * (3 * r2 - 2) * x,
        9: s8 * (3 * x * x * y - y ** 3), 10: s8 * (x ** 3 - 3 * x * y * y),
        11: s5 * (6 * r2 * r2 - 6 * r2 + 1),
        12: s10 * (4 * r2 - 3) * (x * x - y * y), 13: s10 * (4 * r2 - 3) * 2 * x * y,
        14: s10 * (x ** 4 - 6 * x * x * y * y + y ** 4), 15: s10 * (4 * x ** 3 * y - 4 * x * y ** 3),
        16: s12 * (10 * r2 * r2 - 12 * r2 + 3) * x, 17: s12 * (10 * r2 * r2 - 12 * r2 + 3) * y,
        18: s12 * (5 * r2 - 4) * (x ** 3 - 3 * x * y * y), 19: s12 * (5 * r2 - 4) * (3 * x * x * y - y ** 3),
        20: s12 * (x ** 5 - 10 * x ** 3 * y * y + 5 * x * y ** 4),
        21: s12 * (5 * x ** 4 * y - 10 * x * x * y ** 3 + y ** 5),
        22: s7 * (20 * r2 ** 3 - 30 * r2 * r2 + 12 * r2 - 1),
    }
    return table[j]


@pytest.mark.parametrize("j", range(1, 23))
def test_noll_modes_match_the_closed_forms_of_nolls_table(j):
    rng = np.random.default_rng(j)
    rho, theta = np.sqrt(rng.uniform(0, 1, 500)), rng.uniform(-np.pi, np.pi, 500)
    x, y = rho * np.cos(theta), rho * np.sin(theta)
    np.testing.assert_allclose(zernike_noll(j, rho, theta), _noll_table_cartesian(j, x, y), atol=1e-12)


def test_index_conventions_round_trip_up_to_noll_231():
    for j in range(1, 232):
        n, m = noll_to_nm(j)
        assert nm_to_noll(n, m) == j
        assert ansi_to_noll(noll_to_ansi(j)) == j
        assert ansi_to_nm(nm_to_ansi(n, m)) == (n, m)
    assert [noll_to_ansi(j) for j in (1, 2, 3, 4, 5, 6, 11)] == [0, 2, 1, 4, 3, 5, 12]  # OSA: (n, m) ordered by m
    assert noll_to_nm(231) == (20, -20) and noll_to_nm(232) == (21, 1)  # n = 20 ends at j = 231 (odd: sin)


def test_invalid_indices_are_refused_with_the_rule():
    with pytest.raises(ValueError, match="start at 1"):
        noll_to_nm(0)
    with pytest.raises(ValueError, match="n - \\|m\\| even"):
        nm_to_noll(3, 2)


def test_sampled_modes_are_orthonormal_to_1e3_on_a_256_px_pupil():
    basis = ZernikeBasis(range(2, 37), Pupil((127.5, 127.5), 128.0), (256, 256))
    assert np.abs(basis.gram() - np.eye(basis.n_modes)).max() < 1e-3


def test_orthonormalised_basis_is_exactly_orthonormal_over_a_gaussian_beam_and_stays_close_to_zernike():
    shape, pupil = (200, 220), Pupil((101.0, 108.5), 90.0)
    y, x = np.indices(shape)
    amplitude = np.exp(-((x - 108.5) ** 2 + (y - 101.0) ** 2) / (2 * 60.0 ** 2))
    basis = ZernikeBasis(range(2, 17), pupil, shape, amplitude=amplitude, orthonormalise=True)
    assert np.abs(basis.gram() - np.eye(basis.n_modes)).max() < 1e-12
    plain = ZernikeBasis(range(2, 17), pupil, shape, amplitude=amplitude)
    for k in range(basis.n_modes):  # each orthonormal mode still resembles its Zernike mode
        assert np.corrcoef(basis.mode(k)[basis.mask], plain.mode(k)[plain.mask])[0, 1] > 0.8


def test_coefficients_are_rad_rms_and_peak_to_valley_is_explicit():
    basis = ZernikeBasis([4], Pupil((63.5, 63.5), 64.0), (128, 128))
    wavefront = basis.wavefront_rad([0.5])
    assert basis.rms_rad(wavefront) == pytest.approx(0.5, rel=2e-3)
    # defocus sqrt(3)(2 rho^2 - 1) spans 2 sqrt(3) per unit RMS: PV = 0.5 * 2 sqrt(3)
    assert basis.peak_to_valley_rad([0.5]) == pytest.approx(0.5 * 2 * np.sqrt(3), rel=0.02)
    np.testing.assert_allclose(basis.project(wavefront), [0.5], rtol=1e-9)


def test_a_saved_correction_loads_and_composes_the_identical_mask(tmp_path):
    correction = Correction(noll_indices=(5, 6, 7), coefficients_rad_rms=(0.1234567890123, -0.3, 1 / 3),
                            pupil=Pupil((60.25, 70.5), 45.0), slm_shape=(120, 160), wavelength_nm=1550.0,
                            lut_sha256="ab" * 32, metadata={"run": "runs/ao.h5"})
    mask = compose_mask((120, 160), correction=correction, grating=(16.0, 0.3))
    path = correction.save(tmp_path / "ao.qiupmask.json")
    loaded = Correction.load(path)
    assert loaded == correction
    again = compose_mask((120, 160), correction=loaded, grating=(16.0, 0.3))
    assert again.dtype == np.float32 and np.array_equal(again, mask)


def test_mask_composition_adds_correction_user_masks_and_grating():
    shape = (32, 48)
    user = np.full(shape, 0.25)
    grating = blazed_grating_rad(shape, 8.0)
    assert grating[0, 8] == pytest.approx(2 * np.pi) and grating[5, 0] == 0.0
    np.testing.assert_allclose(compose_mask(shape, user_masks_rad=[user], grating=(8.0, 0.0)), user + grating,
                               rtol=1e-6)
    with pytest.raises(ValueError, match="user mask 0 has shape"):
        compose_mask(shape, user_masks_rad=[np.zeros((2, 2))])


def test_a_file_that_is_not_a_correction_gets_one_line(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(MaskFileError, match="not a qiup SLM correction"):
        Correction.load(bad)
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(MaskFileError, match="not a readable correction file"):
        Correction.load(bad)

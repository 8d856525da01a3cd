"""Zernike modes for wavefront control: index conventions, unit-RMS bases over a sampled pupil.

Indices: Noll (j >= 1, Noll 1976, J. Opt. Soc. Am. 66, 207), ANSI/OSA (j >= 0, ANSI Z80.28) and
(n, m) with signed m (m > 0: cos(m theta), m < 0: sin(|m| theta)). Modes are Noll-normalised, so a
coefficient of 1 rad is 1 rad RMS of phase over the continuous unit disc; on a sampled pupil
:class:`ZernikeBasis` renormalises (or orthonormalises, weighted by the measured pupil amplitude) over
the actual samples, so coefficients stay in rad RMS of what the pupil really carries.

This is the application's own implementation; the simulator (``sim_backends/zernike.py``) keeps an
independent one on purpose: the adaptive-optics code is judged against a world it does not share.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np


# ------------------------------------------------------------------------------------ indices
def noll_to_nm(j: int) -> tuple[int, int]:
    """(n, m) of Noll index ``j`` (1-based): within order n, |m| rises; even j is cos, odd j is sin."""
    if j < 1:
        raise ValueError(f"Noll indices start at 1 (got {j})")
    n = int((np.sqrt(8 * j - 7) - 1) // 2)
    while (n + 1) * (n + 2) // 2 < j:  # guard float rounding
        n += 1
    while n * (n + 1) // 2 >= j:
        n -= 1
    k = j - n * (n + 1) // 2 - 1  # position within order n, 0..n
    abs_m = 2 * ((k + 1) // 2) if n % 2 == 0 else 2 * (k // 2) + 1
    if abs_m == 0:
        return n, 0
    return n, abs_m if j % 2 == 0 else -abs_m


def nm_to_noll(n: int, m: int) -> int:
    """Noll index of (n, m); ValueError unless n >= 0, |m| <= n and n - |m| even."""
    _check_nm(n, m)
    first = n * (n + 1) // 2 + 1
    for j in range(first, first + n + 1):
        if noll_to_nm(j) == (n, m):
            return j
    raise AssertionError(f"no Noll index for (n, m) = ({n}, {m})")  # unreachable for valid (n, m)


def ansi_to_nm(j: int) -> tuple[int, int]:
    """(n, m) of ANSI/OSA index ``j`` (0-based): j = (n (n + 2) + m) / 2."""
    if j < 0:
        raise ValueError(f"ANSI indices start at 0 (got {j})")
    n = int(np.ceil((-3 + np.sqrt(9 + 8 * j)) / 2))
    m = 2 * j - n * (n + 2)
    return n, m


def nm_to_ansi(n: int, m: int) -> int:
    _check_nm(n, m)
    return (n * (n + 2) + m) // 2


def noll_to_ansi(j: int) -> int:
    return nm_to_ansi(*noll_to_nm(j))


def ansi_to_noll(j: int) -> int:
    return nm_to_noll(*ansi_to_nm(j))


def _check_nm(n: int, m: int) -> None:
    if n < 0 or abs(m) > n or (n - abs(m)) % 2:
        raise ValueError(f"(n, m) = ({n}, {m}) is not a Zernike mode (need n >= 0, |m| <= n, n - |m| even)")


# ------------------------------------------------------------------------------------ polynomials
def radial_polynomial(n: int, m: int, rho: np.ndarray) -> np.ndarray:
    """R_n^|m|(rho) by its finite sum (exact integer coefficients)."""
    m = abs(m)
    rho = np.asarray(rho, dtype=np.float64)
    out = np.zeros_like(rho)
    for s in range((n - m) // 2 + 1):
        c = (-1) ** s * factorial(n - s) // (factorial(s) * factorial((n + m) // 2 - s) * factorial((n - m) // 2 - s))
        out += c * rho ** (n - 2 * s)
    return out


def zernike_nm(n: int, m: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Noll-normalised Z_n^m (unit RMS over the continuous unit disc)."""
    _check_nm(n, m)
    radial = radial_polynomial(n, m, rho)
    if m == 0:
        return np.sqrt(n + 1.0) * radial
    angular = np.cos(m * theta) if m > 0 else np.sin(-m * theta)
    return np.sqrt(2.0 * (n + 1)) * radial * angular


def zernike_noll(j: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return zernike_nm(*noll_to_nm(j), rho, theta)


# ------------------------------------------------------------------------------------ pupil and basis
@dataclass(frozen=True)
class Pupil:
    """Where the beam sits on the SLM: centre (row, column) and radius, in SLM pixels."""

    centre_yx_px: tuple[float, float]
    radius_px: float

    def polar(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(rho, theta) of every pixel centre of an array of ``shape``; rho = 1 on the pupil edge."""
        y, x = self._offsets(shape)
        return np.hypot(x, y) / self.radius_px, np.arctan2(y, x) * np.ones(shape)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixels that the pupil covers at least partly."""
        return self.coverage(shape) > 0

    def coverage(self, shape: tuple[int, int], supersample: int = 8) -> np.ndarray:
        """Fraction of each pixel's area inside the pupil (edge pixels sub-sampled)."""
        rho, _ = self.polar(shape)
        margin = 0.75 / self.radius_px  # half a pixel diagonal, in pupil radii
        cover = (rho <= 1.0 - margin).astype(np.float64)
        edge = np.abs(rho - 1.0) < margin
        if edge.any():
            cover[edge] = np.mean([_sub(p, self) <= 1.0 for p in _sub_points(edge, supersample, self)], axis=0)
        return cover

    def _offsets(self, shape):
        y = np.arange(shape[0])[:, None] - self.centre_yx_px[0]
        x = np.arange(shape[1])[None, :] - self.centre_yx_px[1]
        return y + 0.0 * x, x + 0.0 * y


def _sub_points(selection: np.ndarray, supersample: int, pupil: Pupil):
    """Sub-pixel sample points (y, x relative to the pupil centre) of the selected pixels."""
    rows, cols = np.nonzero(selection)
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    for dy in offsets:
        for dx in offsets:
            yield rows + dy - pupil.centre_yx_px[0], cols + dx - pupil.centre_yx_px[1]


def _sub(point, pupil: Pupil) -> np.ndarray:
    y, x = point
    return np.hypot(x, y) / pupil.radius_px


class ZernikeBasis:
    """Modes sampled on a pupil: ``modes[k]`` has unit weighted RMS over the pupil's samples.

    ``amplitude`` (optional, same shape) weights the samples by the measured beam amplitude squared
    (intensity): that is the RMS that matters for the interference. With ``orthonormalise`` the modes
    are Gram-Schmidt orthonormalised in Noll order over those weights, so coefficients of different
    modes do not couple on a truncated or non-uniform pupil.
    """

    def __init__(self, noll_indices, pupil: Pupil, shape: tuple[int, int], *, amplitude: np.ndarray | None = None,
                 orthonormalise: bool = False):
        self.noll_indices = tuple(int(j) for j in noll_indices)
        if not self.noll_indices or min(self.noll_indices) < 1:
            raise ValueError(f"Noll indices must be >= 1 (got {self.noll_indices})")
        self.pupil, self.shape, self.orthonormalised = pupil, tuple(shape), bool(orthonormalise)
        cover = pupil.coverage(self.shape)
        self.mask = cover > 0
        if not self.mask.any():
            raise ValueError("the pupil covers no pixel of the SLM")
        weights = cover if amplitude is None else cover * np.asarray(amplitude, np.float64) ** 2
        w = weights[self.mask]
        if w.sum() <= 0:
            raise ValueError("the pupil amplitude is zero everywhere inside the pupil")
        self.weights = w / w.sum()
        raw = _pixel_averaged_modes(self.noll_indices, pupil, self.shape, self.mask, cover)
        self._samples = self._orthonormal(raw) if orthonormalise else self._unit_rms(raw)

    def _unit_rms(self, raw: np.ndarray) -> np.ndarray:
        out = raw.copy()
        self.unit_rms_scale = np.ones(len(self.noll_indices))  # mode = scale x analytic polynomial
        for k, j in enumerate(self.noll_indices):
            if j == 1:
                continue  # piston keeps its value 1 (its RMS about the mean is zero)
            self.unit_rms_scale[k] = 1.0 / np.sqrt(np.sum(self.weights * out[k] ** 2))
            out[k] *= self.unit_rms_scale[k]
        return out

    def _orthonormal(self, raw: np.ndarray) -> np.ndarray:
        sqrt_w = np.sqrt(self.weights)
        q, r = np.linalg.qr((raw * sqrt_w).T)
        q *= np.sign(np.diag(r))  # keep each mode's sign as its analytic counterpart
        return (q / sqrt_w[:, None]).T

    @property
    def n_modes(self) -> int:
        return len(self.noll_indices)

    def mode(self, k: int) -> np.ndarray:
        """Mode ``k`` as a full (h, w) array, zero outside the pupil."""
        out = np.zeros(self.shape)
        out[self.mask] = self._samples[k]
        return out

    def wavefront_rad(self, coefficients_rad_rms) -> np.ndarray:
        """Sum of c_k mode_k over the pupil (zero outside), float64 radians."""
        c = np.asarray(coefficients_rad_rms, np.float64)
        if c.shape != (self.n_modes,):
            raise ValueError(f"need {self.n_modes} coefficients, got shape {c.shape}")
        out = np.zeros(self.shape)
        out[self.mask] = c @ self._samples
        return out

    def continued_wavefront_rad(self, coefficients_rad_rms, extent_radii: float) -> np.ndarray:
        """``wavefront_rad`` inside the pupil, continued outside it up to ``extent_radii`` pupil radii by the
        same (scaled) polynomials at pixel centres: corrects the beam's tail beyond its 1/e^2 radius too.
        Unit-RMS modes only (orthonormalised modes have no single polynomial to continue)."""
        out = self.wavefront_rad(coefficients_rad_rms)
        if extent_radii <= 1.0:
            return out
        if self.orthonormalised:
            raise ValueError("only unit-RMS modes can be continued beyond the pupil")
        ring, values = self._continuation(float(extent_radii))
        out[ring] = np.asarray(coefficients_rad_rms, np.float64) @ values
        return out

    def _continuation(self, extent_radii: float) -> tuple[np.ndarray, np.ndarray]:
        """(pixels beyond the pupil up to ``extent_radii``, each scaled mode's values there), computed once
        per extent: a search evaluates the continued modes for every measurement."""
        cache = self.__dict__.setdefault("_continued", {})
        if extent_radii not in cache:
            rho, theta = self.pupil.polar(self.shape)
            ring = ~self.mask & (rho <= extent_radii)
            r, t = rho[ring], theta[ring]
            cache[extent_radii] = (ring, np.stack([scale * zernike_noll(j, r, t)
                                                   for scale, j in zip(self.unit_rms_scale, self.noll_indices)]))
        return cache[extent_radii]

    def project(self, wavefront_rad: np.ndarray) -> np.ndarray:
        """Coefficients (rad RMS) of ``wavefront_rad`` in this basis (weighted least squares)."""
        values = np.asarray(wavefront_rad, np.float64)[self.mask]
        sqrt_w = np.sqrt(self.weights)
        solution, *_ = np.linalg.lstsq((self._samples * sqrt_w).T, values * sqrt_w, rcond=None)
        return solution

    def gram(self) -> np.ndarray:
        """Weighted inner products <Z_a, Z_b> over the pupil (identity for an orthonormal basis)."""
        return (self._samples * self.weights) @ self._samples.T

    def rms_rad(self, wavefront_rad: np.ndarray) -> float:
        """Weighted RMS about the weighted mean over the pupil."""
        values = np.asarray(wavefront_rad, np.float64)[self.mask]
        mean = np.sum(self.weights * values)
        return float(np.sqrt(np.sum(self.weights * (values - mean) ** 2)))

    def peak_to_valley_rad(self, coefficients_rad_rms) -> float:
        """Peak-to-valley of the wavefront that the coefficients (rad RMS) describe, over the pupil."""
        values = np.asarray(coefficients_rad_rms, np.float64) @ self._samples
        return float(values.max() - values.min())


def _pixel_averaged_modes(noll_indices, pupil: Pupil, shape, mask: np.ndarray, cover: np.ndarray,
                          supersample: int = 8) -> np.ndarray:
    """Each mode averaged over each pixel's area inside the pupil (what an SLM pixel can show).

    Interior pixels use 3 x 3 Gauss-Legendre points (the exact pixel average of any polynomial of
    degree <= 5 in x and y); pixels on the edge average 8 x 8 sub-samples inside the disc. Together
    this keeps the sampled modes orthonormal to < 1e-3 on a 256 px pupil (pixel-centre sampling alone
    gives ~3e-3).
    """
    interior = mask & (cover >= 1.0)
    edge = mask & (cover < 1.0)
    values = np.empty((len(noll_indices), int(mask.sum())))
    nodes, gauss_w = np.polynomial.legendre.leggauss(3)
    nodes, gauss_w = nodes / 2.0, gauss_w / 2.0  # on [-1/2, 1/2], weights summing to 1
    rows, cols = np.nonzero(interior)
    y0, x0 = rows - pupil.centre_yx_px[0], cols - pupil.centre_yx_px[1]
    acc = np.zeros((len(noll_indices), rows.size))
    for dy, wy in zip(nodes, gauss_w):
        for dx, wx in zip(nodes, gauss_w):
            r, t = np.hypot(x0 + dx, y0 + dy) / pupil.radius_px, np.arctan2(y0 + dy, x0 + dx)
            for k, j in enumerate(noll_indices):
                acc[k] += wy * wx * zernike_noll(j, r, t)
    values[:, interior[mask]] = acc
    if edge.any():
        sums = np.zeros((len(noll_indices), int(edge.sum())))
        hits = np.zeros(int(edge.sum()))
        for y, x in _sub_points(edge, supersample, pupil):
            r, t = np.hypot(x, y) / pupil.radius_px, np.arctan2(y, x)
            inside = r <= 1.0
            hits += inside
            for k, j in enumerate(noll_indices):
                sums[k] += np.where(inside, zernike_noll(j, r, t), 0.0)
        values[:, edge[mask]] = sums / np.maximum(hits, 1)
    return values

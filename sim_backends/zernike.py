"""Zernike polynomials in Noll's ordering and normalisation (unit RMS over the unit disc).

Noll, J. Opt. Soc. Am. 66, 207 (1976): Z_j = sqrt(n+1) R_n^m(rho) * sqrt(2) cos(m theta) (even j, m != 0),
sqrt(2) sin(m theta) (odd j, m != 0), or R_n^0(rho) * sqrt(n+1) (m = 0). So a coefficient of 1 rad is
1 rad RMS of wavefront phase over the disc. Evaluated beyond rho = 1 the polynomials just continue.
"""

from __future__ import annotations

from math import factorial

import numpy as np


def noll_to_nm(j: int) -> tuple[int, int]:
    """Radial order n and signed azimuthal frequency m of Noll index j (j >= 1)."""
    if j < 1:
        raise ValueError(f"Noll indices start at 1 (got {j})")
    n = 0
    while (n + 1) * (n + 2) // 2 < j:
        n += 1
    k = j - n * (n + 1) // 2 - 1  # 0-based position within order n
    ms = [m for m in range(n % 2, n + 1, 2) for _ in ((0,) if m == 0 else (0, 1))]
    m = ms[k]
    return n, (-m if j % 2 else m) if m else 0


def _radial(n: int, m: int, rho: np.ndarray) -> np.ndarray:
    m = abs(m)
    out = np.zeros_like(rho)
    for s in range((n - m) // 2 + 1):
        c = (-1) ** s * factorial(n - s) / (factorial(s) * factorial((n + m) // 2 - s) * factorial((n - m) // 2 - s))
        out += c * rho ** (n - 2 * s)
    return out


def zernike(j: int, rho: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Noll-normalised Z_j at polar coordinates (rho in units of the disc radius)."""
    n, m = noll_to_nm(j)
    radial = np.sqrt(n + 1.0) * _radial(n, m, rho)
    if m == 0:
        return radial
    return np.sqrt(2.0) * radial * (np.cos(m * theta) if m > 0 else np.sin(-m * theta))


def wavefront_rad(coefficients: dict[int, float], x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    """Sum of c_j Z_j at Cartesian points (x, y) in the same unit as ``radius``."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    rho, theta = np.hypot(x, y) / radius, np.arctan2(y, x)
    out = np.zeros(rho.shape)
    for j, c in coefficients.items():
        if c:
            out += c * zernike(int(j), rho, theta)
    return out

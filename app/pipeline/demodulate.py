"""N-step phase-shifting demodulation and reference normalisation (DESIGN.md section 5).

Model per pixel: a_k = A (1 + V cos(theta_k + phase)) = a + b cos(theta_k) + c sin(theta_k), with
a = A, b = A V cos(phase), c = -A V sin(phase). For equally spaced theta_k = 2 pi k / N (N >= 3) the
least-squares solution is closed-form: C = sum a_k cos theta_k, S = sum a_k sin theta_k, M = sum a_k,
V = 2 sqrt(C^2 + S^2) / M, phase = atan2(-S, C). Unequal or measured steps (one set for the frame, or
a per-pixel (N, h, w) map) are solved by per-pixel least squares on (a, b, c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FringeMaps:
    """Per-pixel fringe parameters of one phase-stepped run."""

    visibility: np.ndarray  # (h, w), 0..1
    phase_rad: np.ndarray  # (h, w), (-pi, pi]
    mean: np.ndarray  # (h, w), mean intensity per frame (ADU above dark)


def equal_step_phases_rad(n_steps: int) -> np.ndarray:
    return 2.0 * np.pi * np.arange(n_steps) / n_steps


def is_equally_spaced(step_phases_rad: np.ndarray, *, tol_rad: float = 1e-9) -> bool:
    """True when the steps satisfy the closed form's orthogonality (sum e^{i theta} = sum e^{2 i theta} = 0)."""
    theta = np.asarray(step_phases_rad, float)
    if theta.ndim != 1 or theta.size < 3:
        return False
    e1, e2 = np.exp(1j * theta).sum(), np.exp(2j * theta).sum()
    return abs(e1) < tol_rad * theta.size and abs(e2) < tol_rad * theta.size


def _checked_phases(n: int, step_phases_rad, frame_shape: tuple[int, ...]) -> np.ndarray:
    """The step phases (default 2 pi k / N) after checking them against N steps of ``frame_shape``."""
    if n < 3:
        raise ValueError(f"phase stepping needs at least 3 steps, got {n}")
    theta = equal_step_phases_rad(n) if step_phases_rad is None else np.asarray(step_phases_rad, float)
    if theta.shape[0] != n or theta.ndim not in (1, 3) or (theta.ndim == 3 and theta.shape[1:] != tuple(frame_shape)):
        raise ValueError(f"step phases of shape {theta.shape} do not match {n} steps of {tuple(frame_shape)}")
    return theta


def linear_weights(theta: np.ndarray) -> np.ndarray | None:
    """(3, N) matrix W with (a, b, c) = W @ (step means) when one set of step phases serves every
    pixel: the closed form for equal steps (1/N, 2 cos / N, 2 sin / N), else the least-squares
    pseudo-inverse; None for per-pixel step phases."""
    n = theta.shape[0]
    if theta.ndim != 1:
        return None
    if is_equally_spaced(theta):
        return np.stack([np.full(n, 1.0 / n), 2.0 * np.cos(theta) / n, 2.0 * np.sin(theta) / n])
    design = np.stack([np.ones(n), np.cos(theta), np.sin(theta)], axis=1)
    if np.linalg.matrix_rank(design) < 3:
        raise ValueError(f"step phases {np.round(theta, 4).tolist()} do not determine a fringe (need 3 distinct)")
    return np.linalg.pinv(design)


def _stack_weights(stack: np.ndarray, step_phases_rad, what: str):
    """(N, (h, w), step phases, linear weights or None) of an (N, h, w) stack of steps."""
    if stack.ndim != 3:
        raise ValueError(f"{what} must be (N, h, w), got shape {stack.shape}")
    n, shape = stack.shape[0], stack.shape[1:]
    theta = _checked_phases(n, step_phases_rad, shape)
    return n, shape, theta, linear_weights(theta)


def fringe_coefficients(step_means: np.ndarray, step_phases_rad: np.ndarray | None = None):
    """(a, b, c) of a + b cos(theta) + c sin(theta) per pixel: closed form or least squares."""
    step_means = np.asarray(step_means, dtype=np.float64)
    n, shape, theta, weights = _stack_weights(step_means, step_phases_rad, "step means")
    if weights is None:
        return _per_pixel_least_squares(step_means, theta)
    coef = weights @ step_means.reshape(n, -1)  # one pass over the steps for all three
    return coef[0].reshape(shape).copy(), coef[1].reshape(shape), coef[2].reshape(shape)  # a outlives b, c


def _checked_counts(counts) -> np.ndarray:
    counts = np.asarray(counts, np.float64)
    if np.any(counts <= 0):
        raise ValueError(f"steps {np.flatnonzero(counts <= 0).tolist()} have no frames")
    return counts


def step_means(sums: np.ndarray, counts: np.ndarray, dark_adu: np.ndarray | float = 0.0) -> np.ndarray:
    """(N, h, w) float64 mean frame of each step minus dark, from the integer step sums."""
    means = np.divide(sums, _checked_counts(counts)[:, None, None])  # in place from here
    means -= dark_adu
    return means


BAND_PIXELS = 1 << 16  # pixels per band in demodulate_sums: N x 64 k float64 (4 MiB at N = 8) stays in cache


def demodulate_sums(sums: np.ndarray, counts: np.ndarray, dark_adu: np.ndarray | float = 0.0,
                    step_phases_rad: np.ndarray | None = None) -> FringeMaps:
    """``demodulate`` of the step means (sums / counts - dark) straight from the integer step sums.

    The coefficients are linear in the means: (a, b, c) = (W / counts) @ sums - (W @ 1) dark. They
    are computed band by band of pixels, so no (N, h, w) float64 array is made: that would be
    64 MiB of fresh memory per megapixel-run of 8 steps, written and read again. Per-pixel step
    phases take the general way (``demodulate`` of the full step means)."""
    sums = np.asarray(sums)
    counts = _checked_counts(counts)
    n, shape, theta, weights = _stack_weights(sums, step_phases_rad, "step sums")
    if weights is None:
        return demodulate(step_means(sums, counts, dark_adu), theta)
    per_count = weights / counts[None, :]
    dark_weight = weights.sum(axis=1)  # what subtracting the dark from every step does to (a, b, c)
    flat = sums.reshape(n, -1)
    dark = np.broadcast_to(np.asarray(dark_adu, np.float64), shape).reshape(-1)
    coef = np.empty((3, flat.shape[1]))
    band = np.empty((n, min(BAND_PIXELS, flat.shape[1])))
    for start in range(0, flat.shape[1], BAND_PIXELS):
        stop = min(start + BAND_PIXELS, flat.shape[1])
        values = band[:, :stop - start]
        np.copyto(values, flat[:, start:stop])
        out = coef[:, start:stop]
        np.matmul(per_count, values, out=out)
        out -= np.multiply.outer(dark_weight, dark[start:stop])
    return _fringe_maps(coef[0].reshape(shape).copy(), coef[1].reshape(shape), coef[2].reshape(shape))


def _per_pixel_least_squares(step_means: np.ndarray, theta: np.ndarray):
    """Normal equations G p = r per pixel, G = sum x x^T with x = (1, cos, sin); solved batched."""
    x = np.stack([np.ones_like(theta), np.cos(theta), np.sin(theta)])  # (3, N, h, w)
    gram = np.einsum("ikhw,jkhw->hwij", x, x)
    rhs = np.einsum("ikhw,khw->hwi", x, step_means)
    singular = np.abs(np.linalg.det(gram)) < 1e-12 * step_means.shape[0] ** 3
    gram[singular] = np.eye(3)
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    coef[singular] = np.nan
    return coef[..., 0], coef[..., 1], coef[..., 2]


def demodulate(step_means: np.ndarray, step_phases_rad: np.ndarray | None = None) -> FringeMaps:
    """Visibility, phase and mean from the dark-subtracted mean frame of each step."""
    return _fringe_maps(*fringe_coefficients(step_means, step_phases_rad))


def _fringe_maps(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> FringeMaps:
    """V = hypot(b, c) / a (0 where a <= 0), phase = atan2(-c, b), mean a; ``c`` is overwritten."""
    visibility = np.hypot(b, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        visibility /= a  # in place: hypot(b, c) / a where a > 0, else 0 (as np.where would give)
    visibility[~(a > 0)] = 0.0
    np.negative(c, out=c)  # arctan2(-c, b) without a temporary
    return FringeMaps(visibility=visibility, phase_rad=np.arctan2(c, b), mean=a)


def complex_field(step_means: np.ndarray, step_phases_rad: np.ndarray | None = None) -> np.ndarray:
    """The interference term mean * V * exp(i phase) = b - i c (ADU), e.g. one depth slice of a delay scan."""
    _, b, c = fringe_coefficients(step_means, step_phases_rad)
    return b - 1j * c


@dataclass(frozen=True)
class ObjectMaps:
    """The sample relative to the reference run: |t|, arg t and a validity mask."""

    visibility: np.ndarray
    amplitude: np.ndarray
    phase_rad: np.ndarray
    mask: np.ndarray


def normalise_by_reference(sample: FringeMaps, reference: FringeMaps, *, min_reference_visibility: float = 0.05,
                           min_reference_mean_adu: float = 0.0, exclude: np.ndarray | None = None) -> ObjectMaps:
    """|t| = V / V_ref and phase - phase_ref, wrapped to (-pi, pi].

    Masked out: V_ref below ``min_reference_visibility``, reference mean below ``min_reference_mean_adu``
    (too few counts), non-finite values and any ``exclude`` pixels (e.g. saturated or hot).
    """
    mask = (reference.visibility >= min_reference_visibility) & (reference.mean > min_reference_mean_adu)
    mask &= np.isfinite(sample.visibility) & np.isfinite(sample.phase_rad) & np.isfinite(reference.phase_rad)
    if exclude is not None:
        mask &= ~exclude
    amplitude = np.zeros(mask.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(sample.visibility, reference.visibility, out=amplitude, where=mask)
    phase = _wrap_to_pi(np.subtract(sample.phase_rad, reference.phase_rad))
    phase[~mask] = 0.0
    return ObjectMaps(
        visibility=sample.visibility,
        amplitude=amplitude,
        phase_rad=phase,
        mask=mask,
    )


def _wrap_to_pi(phase_rad: np.ndarray) -> np.ndarray:
    """Differences of two wrapped phases, (-2 pi, 2 pi), wrapped to [-pi, pi] in place (as arg exp(i
    phase) would, without the complex numbers)."""
    phase_rad[phase_rad > np.pi] -= 2 * np.pi
    phase_rad[phase_rad < -np.pi] += 2 * np.pi
    return phase_rad

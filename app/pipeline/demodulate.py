"""N-step phase-shifting demodulation and reference normalisation (DESIGN.md section 5).

For intensities a_k = A (1 + V cos(theta_k + phase)) at equally spaced theta_k = 2 pi k / N:
C = sum a_k cos theta_k, S = sum a_k sin theta_k, M = sum a_k, V = 2 sqrt(C^2 + S^2) / M,
phase = atan2(-S, C).
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


def demodulate(step_means: np.ndarray, step_phases_rad: np.ndarray | None = None) -> FringeMaps:
    """Visibility, phase and mean from the dark-subtracted mean frame of each step."""
    n = step_means.shape[0]
    if n < 3:
        raise ValueError(f"phase stepping needs at least 3 steps, got {n}")
    theta = equal_step_phases_rad(n) if step_phases_rad is None else np.asarray(step_phases_rad, float)
    c = np.tensordot(np.cos(theta), step_means, axes=1)
    s = np.tensordot(np.sin(theta), step_means, axes=1)
    m = step_means.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        visibility = np.where(m > 0, 2.0 * np.hypot(c, s) / m, 0.0)
    return FringeMaps(visibility=visibility, phase_rad=np.arctan2(-s, c), mean=m / n)


@dataclass(frozen=True)
class ObjectMaps:
    """The sample relative to the reference run: |t|, arg t and a validity mask."""

    visibility: np.ndarray
    amplitude: np.ndarray
    phase_rad: np.ndarray
    mask: np.ndarray


def normalise_by_reference(sample: FringeMaps, reference: FringeMaps, *, min_reference_visibility: float = 0.05) -> ObjectMaps:
    """|t| = V / V_ref and phase - phase_ref, wrapped to (-pi, pi]; pixels with low V_ref masked."""
    mask = reference.visibility >= min_reference_visibility
    with np.errstate(divide="ignore", invalid="ignore"):
        amplitude = np.where(mask, sample.visibility / reference.visibility, 0.0)
    phase = np.angle(np.exp(1j * (sample.phase_rad - reference.phase_rad)))
    return ObjectMaps(
        visibility=sample.visibility,
        amplitude=amplitude,
        phase_rad=np.where(mask, phase, 0.0),
        mask=mask,
    )

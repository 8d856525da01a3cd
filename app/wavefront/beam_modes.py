"""Search modes for sensorless AO weighted by the pump beam, their metric model, and the mask piston.

The fringe visibility is V = V0 |<exp(i p phi)>_I|, the mean over the pump intensity I on the whole SLM
(p passes of the SLM phase phi). :func:`beam_search_modes` searches in the saved unit-RMS Zernike modes
orthonormalised over I inside the pupil (they barely couple in the metric) and continued, like the saved
ones, to ``extent_radii`` pupil radii (the beam carries 13.5 % of its power beyond its 1/e^2 radius).

Booth's N+1 needs each mode's metric model. ln V is quadratic only for small phases; a bias of a few
tenths of a radian in modes that grow as rho^n past the pupil is not small, and the quartic term makes a
quadratic model with the small-phase curvature p^2 var/2 overestimate the drop at the bias, so every
estimate is pulled by a fixed amount. The model here is the *secant* curvature at the bias used:
k = -ln |<exp(i p b M)>_I| / b^2, computed from the mode M and the measured beam; with it the estimate
is exact for a mode at its optimum, whatever the shape of the mode's metric. The mean runs over the beam
only out to ``extent_radii``, where the correction reaches: beyond it the aberration (continued past the
pupil, growing as rho^n) is left uncorrected, its phase is scrambled over radians, and that part of the
beam adds no coherent term whose share would dilute the curvature. Over the whole beam a mode that stops at
the pupil has its variance, and its curvature, 1 - e^-2 = 86.5 % of this; measured through the simulated
bench at the optimum of a 0.7 rad RMS aberration the curvature was 1.157 x the whole-beam value, and N+1 with
the whole-beam model stopped at a fixed point 0.24 rad RMS from it (noise-free metric), 0.03 with this one.

The SLM wraps the phase at 2 pi, and its pixel crosstalk smears each wrap over ~2 pixels: a wrap line across
the bright centre of the beam costs visibility (~3 % on the simulated panel for a 1 rad RMS correction).
The piston is free (V ignores it), so :func:`centre_piston` shifts the mask so that its beam-weighted
circular mean sits mid-period, keeping the wraps out of the flat bright centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.wavefront.zernike import Pupil, ZernikeBasis


def gaussian_beam_intensity(shape: tuple[int, int], pupil: Pupil) -> np.ndarray:
    """exp(-2 r^2 / R^2): a Gaussian beam whose 1/e^2 intensity radius R is the pupil radius."""
    y = np.arange(shape[0])[:, None] - pupil.centre_yx_px[0]
    x = np.arange(shape[1])[None, :] - pupil.centre_yx_px[1]
    return np.exp(-2.0 * (x**2 + y**2) / pupil.radius_px**2)


@dataclass(frozen=True)
class BeamModes:
    """Search modes as combinations of the saved basis's modes, and each one's metric curvature."""

    to_basis: np.ndarray  # (N, N): saved-basis coefficients = to_basis @ search coefficients
    curvature: np.ndarray  # per search mode: d^2(-ln V)/da^2 model, in (SLM rad RMS)^-2
    extent_radii: float


def secant_curvatures(mode_phases_rad, intensity: np.ndarray, pass_count: int, bias_rad: float,
                      stride: int = 2) -> np.ndarray:
    """-ln |<exp(i p b M)>_I| / b^2 for each mode M (full SLM phase per unit coefficient) over ``intensity``.

    For small b this is p^2 var_I(M) / 2, the quadratic model's curvature; at the bias actually used it is
    the drop of ln V that the N+1 method measures for a mode at its optimum.
    """
    if bias_rad <= 0:
        raise ValueError(f"the bias must be > 0 rad (got {bias_rad})")
    sub = (slice(None, None, stride), slice(None, None, stride))
    w = np.asarray(intensity, np.float64)[sub]
    w = w / w.sum()
    out = [-np.log(abs(np.sum(w * np.exp(1j * pass_count * bias_rad * np.asarray(m, np.float64)[sub]))))
           / bias_rad**2 for m in mode_phases_rad]
    return np.asarray(out)


def beam_search_modes(basis: ZernikeBasis, intensity: np.ndarray, extent_radii: float, pass_count: int,
                      bias_rad: float) -> BeamModes:
    """The modes of ``basis`` orthonormalised over ``intensity`` inside the pupil, continued to ``extent_radii``,
    with their secant curvatures at ``bias_rad`` over the beam out to ``extent_radii`` (the corrected part)."""
    if basis.orthonormalised:
        raise ValueError("the search modes are built from a unit-RMS basis (orthonormalised modes do not continue)")
    if np.shape(intensity) != tuple(basis.shape):
        raise ValueError(f"the beam intensity has shape {np.shape(intensity)}, the basis {tuple(basis.shape)}")
    search = ZernikeBasis(basis.noll_indices, basis.pupil, basis.shape, amplitude=np.sqrt(intensity),
                          orthonormalise=True)
    to_basis = np.stack([basis.project(search.wavefront_rad(e)) for e in np.eye(basis.n_modes)], axis=1)
    phases = (basis.continued_wavefront_rad(column, extent_radii) for column in to_basis.T)
    rho, _ = basis.pupil.polar(basis.shape)
    reached = basis.mask | (rho <= extent_radii)  # every pixel a (continued) mode is defined on
    return BeamModes(to_basis, secant_curvatures(phases, np.where(reached, intensity, 0.0), pass_count, bias_rad),
                     float(extent_radii))


def centre_piston(mask_rad: np.ndarray, intensity: np.ndarray, *, stride: int = 2) -> np.ndarray:
    """``mask_rad`` plus the piston that puts its beam-weighted circular mean at pi, mid-way between the
    SLM's wraps at 0 and 2 pi. A uniform phase change leaves the visibility unchanged (any pass count)."""
    sub = (slice(None, None, stride), slice(None, None, stride))
    phi = np.asarray(mask_rad, np.float64)
    weights = np.asarray(intensity, np.float64)[sub]
    mean_phase = float(np.angle(np.sum(weights * np.exp(1j * phi[sub]))))
    return (phi + (np.pi - mean_phase)).astype(np.float32)

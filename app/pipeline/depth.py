"""Depth from a delay scan (OCT with undetected photons, DESIGN.md sections 4-5).

Phase-stepped scan: the demodulated complex field T_j(x) at each delay z_j; its magnitude versus z is
the coherence envelope r g(z - z0) (Gaussian, FWHM l_c). Depth = sub-step peak position from a
Gaussian (log-parabola) fit through the three samples around the maximum, exact for a single
Gaussian layer; reflectivity = the fitted peak height. Fringe-resolved scan: the envelope is the
magnitude of the analytic signal (Hilbert transform along z) of the intensity minus its mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.pipeline.demodulate import complex_field  # noqa: F401  (re-exported: one depth slice per delay)

FWHM_TO_LOG_CURVATURE = 4.0 * np.log(2.0)  # g(z) = exp(-4 ln2 z^2 / FWHM^2)


@dataclass(frozen=True)
class DepthMaps:
    """Per-pixel depth and peak reflectivity, plus the envelope and complex volume (Z, h, w)."""

    depth_um: np.ndarray  # (h, w), position of the envelope peak on the delay axis
    reflectivity: np.ndarray  # (h, w), envelope peak height (units of the fields)
    envelope: np.ndarray  # (Z, h, w), |field|
    volume: np.ndarray  # (Z, h, w) complex, the field at each delay


def _check_scan(data: np.ndarray, delays_um: np.ndarray) -> np.ndarray:
    delays = np.asarray(delays_um, dtype=np.float64)
    if data.ndim != 3:
        raise ValueError(f"a delay scan must be (Z, h, w), got shape {data.shape}")
    if delays.shape != (data.shape[0],):
        raise ValueError(f"{delays.size} delays for {data.shape[0]} scan positions")
    if data.shape[0] < 3:
        raise ValueError(f"a delay scan needs at least 3 positions, got {data.shape[0]}")
    if not (np.all(np.diff(delays) > 0) or np.all(np.diff(delays) < 0)):
        raise ValueError("delays must be strictly monotonic")
    return delays


def envelope_peak(envelope: np.ndarray, delays_um: np.ndarray, *, envelope_fwhm_um: float | None = None):
    """(depth_um, peak height) of a Gaussian fitted through the maximum and its two neighbours.

    With ``envelope_fwhm_um`` the Gaussian's width is fixed (only centre and height fitted, by least
    squares on the three log-samples), which is more robust in noise; otherwise all three are fitted.
    """
    delays = _check_scan(envelope, delays_um)
    z_count = envelope.shape[0]
    j = np.argmax(envelope, axis=0)
    jc = np.clip(j, 1, z_count - 2)
    idx = np.stack([jc - 1, jc, jc + 1])
    env3 = np.take_along_axis(envelope, idx, axis=0).astype(np.float64)
    z3 = delays[idx]
    tiny = np.finfo(np.float64).tiny
    y = np.log(np.maximum(env3, tiny))
    z0 = z3[1]
    u = z3 - z0  # centred for conditioning
    if envelope_fwhm_um is None:
        # y = alpha + beta u + gamma u^2 through 3 points (divided differences)
        d01 = (y[1] - y[0]) / (u[1] - u[0])
        d12 = (y[2] - y[1]) / (u[2] - u[1])
        gamma = (d12 - d01) / (u[2] - u[0])
        beta = d01 - gamma * (u[0] + u[1])
        alpha = y[1]
        ok = gamma < 0
    else:
        gamma = np.full(y[0].shape, -FWHM_TO_LOG_CURVATURE / envelope_fwhm_um**2)
        r = y - gamma * u**2  # = alpha + beta u: ordinary least squares on 3 points
        u_mean, r_mean = u.mean(axis=0), r.mean(axis=0)
        beta = ((u - u_mean) * (r - r_mean)).sum(axis=0) / ((u - u_mean) ** 2).sum(axis=0)
        alpha = r_mean - beta * u_mean
        ok = np.ones(y[0].shape, bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shift = -beta / (2 * gamma)
        peak = np.exp(alpha - beta**2 / (4 * gamma))
    step = np.abs(u[2] - u[0]) / 2
    ok &= np.isfinite(shift) & (np.abs(shift) <= step) & (j == jc)
    depth = np.where(ok, z0 + shift, delays[j])
    height = np.where(ok, peak, np.take_along_axis(envelope, j[None], axis=0)[0])
    return depth, height


def depth_from_delay_scan(complex_fields: np.ndarray, delays_um: np.ndarray, *,
                          envelope_fwhm_um: float | None = None) -> DepthMaps:
    """Depth, reflectivity, envelope and volume from the phase-stepped complex field at each delay."""
    volume = np.asarray(complex_fields)
    _check_scan(volume, delays_um)
    envelope = np.abs(volume)
    depth, height = envelope_peak(envelope, delays_um, envelope_fwhm_um=envelope_fwhm_um)
    return DepthMaps(depth_um=depth, reflectivity=height, envelope=envelope, volume=volume)


def analytic_fringe_signal(intensities: np.ndarray) -> np.ndarray:
    """(Z, h, w) analytic signal of the fringes along z: intensity minus its mean, Hilbert-transformed."""
    from scipy.signal import hilbert  # scipy.signal takes ~0.5 s to import: only when a fringe scan needs it

    data = np.asarray(intensities, dtype=np.float64)
    return hilbert(data - data.mean(axis=0, keepdims=True), axis=0)


def depth_from_fringe_scan(intensities: np.ndarray, delays_um: np.ndarray, *,
                           envelope_fwhm_um: float | None = None) -> DepthMaps:
    """Depth maps from a fringe-resolved scan (no phase stepping; >= 2 samples per fringe period)."""
    _check_scan(np.asarray(intensities), delays_um)
    volume = analytic_fringe_signal(intensities)
    envelope = np.abs(volume)
    depth, height = envelope_peak(envelope, delays_um, envelope_fwhm_um=envelope_fwhm_um)
    return DepthMaps(depth_um=depth, reflectivity=height, envelope=envelope, volume=volume)

"""PNG quick-looks of result maps (8-bit, gray for magnitudes, a cyclic map for phase)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def save_magnitude_png(path: Path, data: np.ndarray, *, vmax: float | None = None) -> None:
    """Gray PNG scaled 0..vmax (default: the 99.5th percentile of finite values)."""
    finite = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    top = float(vmax if vmax is not None else np.percentile(finite, 99.5)) or 1.0
    gray = np.clip(finite / top, 0.0, 1.0)
    Image.fromarray((gray * 255).astype(np.uint8), mode="L").save(path)


def save_phase_png(path: Path, phase_rad: np.ndarray, mask: np.ndarray | None = None,
                   amplitude: np.ndarray | None = None) -> None:
    """Phase on a cyclic colour wheel (-pi..pi -> hue), masked pixels black; with ``amplitude`` the
    brightness follows |t| (a complex-image display), so the phase of opaque regions, pure noise,
    does not dominate the picture."""
    hue = (np.nan_to_num(phase_rad) + np.pi) / (2 * np.pi)
    angles = 2 * np.pi * (hue[..., None] - np.array([0.0, 1 / 3, 2 / 3]))
    rgb = 0.5 + 0.5 * np.cos(angles)
    if amplitude is not None:
        rgb *= np.clip(np.nan_to_num(amplitude), 0.0, 1.0)[..., None]
    if mask is not None:
        rgb[~mask] = 0.0
    Image.fromarray((rgb * 255).astype(np.uint8), mode="RGB").save(path)

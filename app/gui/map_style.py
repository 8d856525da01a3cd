"""How the GUI colours a map: colour maps (cyclic for wrapped phase), colour ranges and the complex view.

Shared by the live maps (``maps_view``) and the results view. Names, ranges and the choice of cyclic
colour map follow the figures of ``app.storage.figures`` so that a map looks alike on screen and on paper.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.storage.figures import LABELS, UNIT_TEXT, display_range, is_wrapped_phase

PHASE_CMAP = "CET-C1"  # cyclic: -pi and +pi look the same
# matplotlib names used by the figures -> the pyqtgraph colour map shown on screen
_SCREEN_CMAP = {"twilight": PHASE_CMAP, "gray": "CET-L1"}
BOOL_MAPS = ("mask", "hot_pixels", "saturated")


def complex_rgb(visibility: np.ndarray, phase_rad: np.ndarray, vmax: float) -> np.ndarray:
    """(h, w, 3) uint8: hue = phase, brightness = visibility / vmax (clipped to 1)."""
    lut = pg.colormap.get(PHASE_CMAP).getLookupTable(nPts=256, alpha=False).astype(np.float32)
    index = ((np.nan_to_num(phase_rad) + np.pi) / (2 * np.pi) * 255).astype(np.int32).clip(0, 255)
    vmax = vmax if np.isfinite(vmax) else 1.0  # an all-masked map
    value = np.clip(np.nan_to_num(visibility) / max(vmax, 1e-9), 0, 1)[..., None]
    return np.ascontiguousarray((lut[index] * value).astype(np.uint8))


def colormap_name(name: str, unit: str) -> str:
    """The pyqtgraph colour map for result ``name``: cyclic for a wrapped phase, grey for masks."""
    if is_wrapped_phase(name, unit):
        return PHASE_CMAP
    if name in BOOL_MAPS or unit == "bool":
        return "CET-L1"
    mpl = LABELS.get(name, (None, "viridis"))[1]
    return _SCREEN_CMAP.get(mpl, mpl)


_STACK_TITLES = {"volume": "envelope |T|", "field_phase": "fringe phase arg T"}  # delay-scan volumes


def map_title(name: str) -> str:
    """'visibility V', 'unwrapped phase', ... (the figures' names), else the result's name."""
    return _STACK_TITLES.get(name) or LABELS.get(name, (name.replace("_", " "),))[0]


def value_label(name: str, unit: str) -> str:
    """'phase (rad)', 'visibility V' (dimensionless: no unit), for a colour bar or a profile's axis."""
    return map_title(name) if unit == "1" else f"{map_title(name)} ({unit_text(unit)})"


def unit_text(unit: str) -> str:
    """'rad', 'um', 'dimensionless', 'ADU' ... for a colour-bar or axis label."""
    return {"um": "um", "bool": "0 / 1"}.get(unit, UNIT_TEXT.get(unit, unit or "-"))


def color_levels(name: str, unit: str, data: np.ndarray) -> tuple[float, float]:
    """(low, high): -pi..pi for a wrapped phase, 0..1 for masks and visibilities, else robust percentiles."""
    if name in BOOL_MAPS or unit == "bool":
        return 0.0, 1.0
    low, high = display_range(name, np.asarray(data, np.float32), unit, None)
    return float(low), float(high)


def line_samples(data: np.ndarray, start_px: tuple[float, float], end_px: tuple[float, float],
                 pixel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """(distance along the line in ``pixel_size`` units, values): one sample per pixel of length, nearest
    pixel, from ``start_px`` to ``end_px`` ((x, y) in pixels); points outside the map are left out."""
    (x0, y0), (x1, y1) = start_px, end_px
    n = int(max(2, round(np.hypot(x1 - x0, y1 - y0)) + 1))
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    inside = (xs >= 0) & (ys >= 0) & (xs < data.shape[1]) & (ys < data.shape[0])
    values = data[ys[inside].astype(int), xs[inside].astype(int)]
    return np.hypot(xs[inside] - x0, ys[inside] - y0) * pixel_size, values

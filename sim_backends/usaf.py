"""A USAF-1951 resolution target at its real sizes: bar width b = 1 mm / 2^(G + (E - 1)/6 + 1).

Clear bars (t = 1) on an opaque background (t = 0), a "negative" target. Each element has three
vertical and three horizontal bars of width b and length 5 b (MIL-STD-150A). The target is laid out in
object-plane micrometres (group 2 element 3, b = 99.2 um, down to group 5 element 2, b = 13.9 um) and
imaged through the magnification; :func:`elements_on_camera` gives the ground truth in camera pixels
that the resolution tests measure against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST_GROUP, FIRST_ELEMENT = 2, 3
N_ELEMENTS = 18  # three groups' worth: group 2 element 3 to group 5 element 2
EXTENT_UM = 3900.0  # the target's square, centred on the optical axis


def bar_width_um(group: int, element: int) -> float:
    """USAF-1951: resolution 2^(G + (E-1)/6) line pairs per mm; a bar is half a line pair."""
    return 500.0 / 2.0 ** (group + (element - 1) / 6.0)


@dataclass(frozen=True)
class UsafElement:
    index: int  # 0 = largest
    bar_width_px: float  # on the camera, at the central magnification
    vertical: tuple[slice, slice]  # sensor rows, cols of the vertical-bar block (bars vary along columns)
    horizontal: tuple[slice, slice]  # of the horizontal-bar block (bars vary along rows)
    origin_vertical: tuple[float, float]  # (row, col) of the vertical block's top-left corner, sub-pixel
    origin_horizontal: tuple[float, float]
    bar_width_um: float = 0.0  # in the object plane

    @property
    def group(self) -> int:
        return FIRST_GROUP + (self.index + FIRST_ELEMENT - 1) // 6

    @property
    def element(self) -> int:
        return (self.index + FIRST_ELEMENT - 1) % 6 + 1


def bar_widths_um() -> np.ndarray:
    k = np.arange(N_ELEMENTS) + FIRST_ELEMENT - 1
    return np.array([bar_width_um(FIRST_GROUP + int(i) // 6, int(i) % 6 + 1) for i in k])


def layout_um(extent_um: float = EXTENT_UM) -> list[tuple[int, float, tuple[float, float], tuple[float, float]]]:
    """(index, b, vertical block (y, x) top-left, horizontal block top-left), um from the centre, rows of elements."""
    top = left = -extent_um / 2
    out, row_y, x, row_h = [], top, left, 0.0
    for i, b in enumerate(bar_widths_um()):
        gap = max(50.0, 2 * b)
        width, height = 10 * b + gap, 5 * b
        if x + width > left + extent_um:
            row_y, x, row_h = row_y + row_h + max(66.0, 2 * b), left, 0.0
        if row_y + height > top + extent_um:
            raise ValueError("USAF layout does not fit its extent")
        out.append((i, float(b), (row_y, x), (row_y, x + 5 * b + gap)))
        x += width + max(83.0, 3 * b)
        row_h = max(row_h, height)
    shift = (top + extent_um - (row_y + row_h)) / 2  # centre the rows vertically
    return [(i, b, (ov[0] + shift, ov[1]), (oh[0] + shift, oh[1])) for i, b, ov, oh in out]


def usaf_amplitude_um(x_um: np.ndarray, y_um: np.ndarray) -> np.ndarray:
    """|t| at object points (sparse grids x (1, w), y (h, 1)): 1 inside a bar, else 0."""
    amp = np.zeros(np.broadcast_shapes(np.shape(x_um), np.shape(y_um)), np.float32)
    for _, b, (vy, vx), (hy, hx) in layout_um():
        in_len = (y_um >= vy) & (y_um < vy + 5 * b)
        in_bar = (x_um >= vx) & (x_um < vx + 5 * b) & (np.floor((x_um - vx) / b) % 2 == 0)
        amp[in_len & in_bar] = 1.0
        in_len = (x_um >= hx) & (x_um < hx + 5 * b)
        in_bar = (y_um >= hy) & (y_um < hy + 5 * b) & (np.floor((y_um - hy) / b) % 2 == 0)
        amp[in_len & in_bar] = 1.0
    return amp


def elements_on_camera(shape: tuple[int, int], object_pixel_um: float) -> list[UsafElement]:
    """The elements as imaged at the central magnification (camera pixel = ``object_pixel_um`` on the object)."""
    h, w = shape
    cy, cx = h / 2, w / 2  # pixel k spans [k, k + 1) and the optical axis sits at the sensor's centre

    def to_px(origin):
        return (cy + origin[0] / object_pixel_um, cx + origin[1] / object_pixel_um)

    out = []
    for i, b_um, ov, oh in layout_um():
        b = b_um / object_pixel_um
        pv, ph = to_px(ov), to_px(oh)
        out.append(UsafElement(i, float(b), _block(pv, b), _block(ph, b), pv, ph, float(b_um)))
    return out


def _block(origin, b):
    r0, c0 = origin
    return slice(int(np.floor(r0)), int(np.ceil(r0 + 5 * b))), slice(int(np.floor(c0)), int(np.ceil(c0 + 5 * b)))


def bar_contrast(image: np.ndarray, el: UsafElement, offset: tuple[int, int] = (0, 0)) -> float:
    """Michelson contrast (bars - gaps)/(bars + gaps) of the worse orientation, image on a ROI at ``offset``.

    The profile across the bars is averaged over the middle 3 b of the bar length and sampled at the
    three bar centres and the two gap centres (linear interpolation between pixel centres).
    """
    b = el.bar_width_px
    oy, ox = offset
    worst = np.inf
    for (r0, c0), axis in ((el.origin_vertical, 1), (el.origin_horizontal, 0)):
        r0, c0 = r0 - oy, c0 - ox
        if axis == 1:
            band = image[int(np.ceil(r0 + b)):int(np.floor(r0 + 4 * b)), :].mean(axis=0)
            start = c0
        else:
            band = image[:, int(np.ceil(c0 + b)):int(np.floor(c0 + 4 * b))].mean(axis=1)
            start = r0
        centres = start + b * (np.arange(5) + 0.5) - 0.5  # pixel k has its centre at k + 0.5
        values = np.interp(centres, np.arange(band.size), band)
        bars, gaps = values[[0, 2, 4]].mean(), values[[1, 3]].mean()
        worst = min(worst, (bars - gaps) / (bars + gaps) if bars + gaps > 0 else 0.0)
    return float(worst)


def finest_resolved(contrasts, threshold: float = 0.2) -> int:
    """Index of the finest element resolved as a physicist reads the chart: the last element before the
    first one whose contrast falls under ``threshold`` (it and every coarser element resolved); -1 if the
    coarsest is not.

    Beyond the resolution limit the contrasts are not monotone: bars of 1-2 camera pixels alias (spurious
    resolution), so a single fine element can reach the threshold again after coarser ones failed; the
    largest index over the threshold would count that aliasing as resolution.
    """
    below = np.flatnonzero(np.asarray(contrasts, np.float64) < threshold)
    return int(below[0]) - 1 if below.size else len(contrasts) - 1

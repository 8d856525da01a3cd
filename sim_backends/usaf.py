"""A USAF-1951-like resolution target: groups of three bars, bar width shrinking by 2^(1/6) per element.

Clear bars (t = 1) on an opaque background (t = 0), a "negative" target. Each element has three
vertical and three horizontal bars of width b and length 5 b, as in MIL-STD-150A. Bar widths are in
camera pixels at the sample (b_px * p / M in the object plane); the element list is the ground truth
the resolution tests measure against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LARGEST_BAR_PX = 12.0
N_ELEMENTS = 18  # three groups of six: 12 px down to 12 * 2^(-17/6) = 1.7 px


@dataclass(frozen=True)
class UsafElement:
    index: int  # 0 = largest; group = index // 6, element = index % 6 + 1
    bar_width_px: float
    vertical: tuple[slice, slice]  # sensor rows, cols of the vertical-bar block (bars vary along columns)
    horizontal: tuple[slice, slice]  # of the horizontal-bar block (bars vary along rows)
    origin_vertical: tuple[float, float]  # (row, col) of the vertical block's top-left corner, sub-pixel
    origin_horizontal: tuple[float, float]

    @property
    def group(self) -> int:
        return self.index // 6

    @property
    def element(self) -> int:
        return self.index % 6 + 1


def bar_widths_px() -> np.ndarray:
    return LARGEST_BAR_PX * 2.0 ** (-np.arange(N_ELEMENTS) / 6.0)


def layout(shape: tuple[int, int], extent_px: int = 470) -> list[UsafElement]:
    """Elements packed in rows (largest first) inside a centred square of ``extent_px``."""
    h, w = shape
    top, left = (h - extent_px) / 2, (w - extent_px) / 2
    elements, row_y, x, row_h = [], top, left, 0.0
    for i, b in enumerate(bar_widths_px()):
        gap = max(6.0, 2 * b)
        width, height = 5 * b + gap + 5 * b, 5 * b
        if x + width > left + extent_px:
            row_y, x, row_h = row_y + row_h + max(8.0, 2 * b), left, 0.0
        if row_y + height > top + extent_px:
            raise ValueError("USAF layout does not fit the sensor")
        ov, oh = (row_y, x), (row_y, x + 5 * b + gap)
        elements.append(UsafElement(i, float(b), _block(ov, b), _block(oh, b), ov, oh))
        x += width + max(10.0, 3 * b)
        row_h = max(row_h, height)
    shift = np.floor((top + extent_px - (row_y + row_h)) / 2)  # centre the rows vertically
    return [_shifted(el, shift) for el in elements]


def _shifted(el: UsafElement, rows: float) -> UsafElement:
    ov = (el.origin_vertical[0] + rows, el.origin_vertical[1])
    oh = (el.origin_horizontal[0] + rows, el.origin_horizontal[1])
    return UsafElement(el.index, el.bar_width_px, _block(ov, el.bar_width_px), _block(oh, el.bar_width_px), ov, oh)


def _block(origin, b):
    r0, c0 = origin
    return slice(int(np.floor(r0)), int(np.ceil(r0 + 5 * b))), slice(int(np.floor(c0)), int(np.ceil(c0 + 5 * b)))


def usaf_amplitude(shape: tuple[int, int]) -> tuple[np.ndarray, list[UsafElement]]:
    """|t| of the target on the sensor grid (pixel centres inside a bar are clear) and its elements."""
    amp = np.zeros(shape, np.float32)
    rows = np.arange(shape[0])[:, None] + 0.5
    cols = np.arange(shape[1])[None, :] + 0.5
    elements = layout(shape)
    for el in elements:
        b = el.bar_width_px
        r0, c0 = el.origin_vertical
        in_len = (rows >= r0) & (rows < r0 + 5 * b)
        in_bar = ((cols - c0) >= 0) & ((cols - c0) < 5 * b) & (np.floor((cols - c0) / b) % 2 == 0)
        amp[in_len & in_bar] = 1.0
        r0, c0 = el.origin_horizontal
        in_len = (cols >= c0) & (cols < c0 + 5 * b)
        in_bar = ((rows - r0) >= 0) & ((rows - r0) < 5 * b) & (np.floor((rows - r0) / b) % 2 == 0)
        amp[in_len & in_bar] = 1.0
    return amp, elements


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

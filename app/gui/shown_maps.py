"""What the results view shows, worked out on the file worker (no Qt widget touched): a result map, a
plane, the maximum over a stack's first axis, an x-delay section or the complex view, with its axes in um
on the sample (or pixels when the run did not record its pixel size), title, unit, colour map and range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.gui import run_files as F
from app.gui.map_style import PHASE_CMAP, color_levels, colormap_name, complex_rgb, map_title

SLICE, PROJECTION, SECTION = "slice at one delay", "maximum over delay", "section x - delay"
COMPLEX = "complex"  # the virtual entry: hue = phase, brightness = visibility


@dataclass(frozen=True)
class Shown:
    """What the view shows: the data (2-D float32, or RGB for the complex view) and how to label it."""

    key: str  # result name or COMPLEX
    mode: str  # "map", SLICE, PROJECTION or SECTION
    index: int  # plane (slice) or row (section); -1: none
    data: np.ndarray
    title: str
    unit: str
    x0: float  # axis coordinates of the image's corners
    y0: float
    width: float
    height: float
    x_label: str
    y_label: str
    levels: tuple[float, float]
    cmap: str
    pixel_size_um: float | None
    square_pixels: bool = True

    @property
    def is_rgb(self) -> bool:
        return self.data.ndim == 3


def complex_parts(opened: F.OpenedFile) -> tuple[str, str] | None:
    """(phase, brightness) results of the complex view, when both are computed 2-D maps."""
    res = opened.results
    for phase, bright in (("phase", "visibility"), ("reference_phase", "reference_visibility")):
        if phase in res and bright in res and len(res[phase].shape) == 2 and F.computed(opened, phase) \
                and F.computed(opened, bright):
            return phase, bright
    return None


def not_computed_reason(opened: F.OpenedFile) -> str:
    """Why a result holds no data, in the file's own terms."""
    if not opened.is_run:
        return "not computed"
    if opened.status == "running" and opened.writer_alive:
        return "not computed yet: a run writes its results when it ends"
    if opened.status == "running":
        return ("never computed: the run's process stopped (crashed or was killed) before the end; "
                "qiup reprocess FILE computes the maps from the committed sums")
    return f"not computed (the run ended '{opened.status}' before computing it)"


def plane_text(opened: F.OpenedFile, key: str, index: int) -> str:
    """'delay 37.5 um (plane 2 of 5)' or 'repeat 3.0 s (plane ...)'."""
    axis, values = opened.stack_axis(key)
    n = opened.results[key].shape[0]
    if values is not None:
        value = f"{values[index]:.4g} um" if axis == "delay" else f"{values[index]:.4g} s"
        return f"{axis} {value} (plane {index + 1} of {n})"
    return f"{axis} plane {index + 1} of {n}"


def read_shown(opened: F.OpenedFile, key: str, mode: str, index: int) -> Shown:
    """On the worker thread: read what is to be shown and work out its axes (no Qt object is touched)."""
    px = opened.pixel_size_um
    if key == COMPLEX:
        phase_name, bright_name = complex_parts(opened)
        phase, bright = F.read_map(opened, phase_name), F.read_map(opened, bright_name)
        finite = bright[np.isfinite(bright)]
        vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
        data = complex_rgb(bright, phase, vmax)
        title = f"complex view: hue = {map_title(phase_name)}, brightness = {map_title(bright_name)} 0..{vmax:.2g}"
        return _image_shown(key, "map", -1, data, title, "rad", (-np.pi, np.pi), PHASE_CMAP, px)
    r = opened.results[key]
    title = map_title(key)
    if mode == "map":
        data = F.read_map(opened, key)
    elif mode == PROJECTION:
        data = F.max_projection(opened, key)
        title += f", maximum over {opened.stack_axis(key)[0]}"
    elif mode == SLICE:
        data = F.read_map(opened, key, index)
        title += f", {plane_text(opened, key, index)}"
    else:
        return _section_shown(opened, key, index, px)
    levels = color_levels(key, r.unit, data)
    return _image_shown(key, mode, index, data, title, r.unit, levels, colormap_name(key, r.unit), px)

def _image_shown(key, mode, index, data, title, unit, levels, cmap, px) -> Shown:
    h, w = data.shape[:2]
    scale = px or 1.0
    axis = "um on the sample" if px else "pixel; pixel size not recorded"
    return Shown(key, mode, index, data, title, unit, 0.0, 0.0, w * scale, h * scale, f"x ({axis})",
                 f"y ({axis})", levels, cmap, px)

def _section_shown(opened, key, row, px) -> Shown:
    r = opened.results[key]
    data = F.read_section(opened, key, row)
    axis, values = opened.stack_axis(key)
    n, w = data.shape
    step = None
    if values is not None and values.size == n:
        from app.storage.export import uniform_step

        step, _ = uniform_step(values, axis)
    if step is not None:
        y0, height = float(values.min()) - step / 2, n * step
        y_label = "delay (um of delay-stage travel)" if axis == "delay" else "time from run start (s)"
    else:
        y0, height, y_label = -0.5, float(n), f"{axis} (plane number; not equally spaced)"
    scale = px or 1.0
    row_text = f"row y = {row * scale:.1f} um" if px else f"row {row}"
    return Shown(key, SECTION, row, data, f"{map_title(key)}, section at {row_text}", r.unit, 0.0, y0,
                 w * scale, height, "x (um on the sample)" if px else "x (pixel; pixel size not recorded)",
                 y_label, color_levels(key, r.unit, data), colormap_name(key, r.unit), px, square_pixels=False)

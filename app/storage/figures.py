"""Figures of a run's result maps that stand on their own (matplotlib, Agg, imported lazily).

Each map gets a title (the run's, plus the map's name), a colour bar labelled with the unit, a range
suited to what it is (visibility 0..1, phase -pi..pi on the cyclic 'twilight' map, others between
robust percentiles), masked pixels in grey, and a scale bar in um on the sample when the object-plane
pixel size is known (a note says so when it is not). The complex view shows hue = phase and
brightness = amplitude with a colour-wheel legend. One overview page holds every panel; each map also
gets its own figure. No pyplot: figures are plain ``Figure`` objects, so nothing global is touched
and they can be built in any thread or process. For speed, maps larger than ``MAX_DISPLAY_PX`` are
shown at every k-th pixel (nearest sampling, about the resolution a page shows them at), axes are
placed by hand (no layout solver) and PNGs use fast zlib compression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

MASK_GREY = "0.62"
MAX_DISPLAY_PX = 640  # longest side of a map as drawn (data coordinates stay camera pixels)
PHASE_CMAP = "twilight"
FORMATS = ("png", "pdf", "svg")
BOOL_MAPS = ("mask", "hot_pixels", "saturated")
# what each known map is called on a figure, and its colour map; others get their name and 'viridis'
LABELS = {
    "visibility": ("visibility V", "magma"), "amplitude": ("amplitude |t|", "gray"),
    "phase": ("phase", PHASE_CMAP), "phase_unwrapped": ("unwrapped phase", "viridis"),
    "sigma_phase": ("phase uncertainty", "cividis"), "sigma_visibility": ("visibility uncertainty", "cividis"),
    "sigma_amplitude": ("amplitude uncertainty", "cividis"), "mean": ("mean intensity", "gray"),
    "dark": ("dark frame", "gray"), "reference_visibility": ("reference visibility V_ref", "magma"),
    "reflectivity": ("reflectivity", "magma"), "depth": ("depth", "viridis"), "depth_um": ("depth", "viridis"),
}
UNIT_TEXT = {"1": "dimensionless", "rad": "rad", "um": "\u00b5m", "ADU": "ADU"}
PHASE_TICKS = ((-np.pi, "\u2212\u03c0"), (-np.pi / 2, "\u2212\u03c0/2"), (0.0, "0"), (np.pi / 2, "\u03c0/2"), (np.pi, "\u03c0"))


# -- ranges and colours ----------------------------------------------------------------------------
def is_wrapped_phase(name: str, unit: str) -> bool:
    return unit == "rad" and "phase" in name and "unwrapped" not in name and not name.startswith("sigma")


def display_range(name: str, data: np.ndarray, unit: str, valid: np.ndarray | None) -> tuple[float, float]:
    """(vmin, vmax): -pi..pi for wrapped phase, 0..1 for a visibility (wider if the data are), else the
    0.5..99.5 percentiles of the valid finite pixels (from 0 for maps that cannot be negative)."""
    if is_wrapped_phase(name, unit):
        return -np.pi, np.pi
    values = data[np.isfinite(data) & (True if valid is None else valid)]
    if values.size == 0:
        return 0.0, 1.0
    if values.size > 250_000:  # a regular subsample is enough for percentiles and keeps figures quick
        values = values[:: values.size // 250_000]
    low, high = (float(v) for v in np.percentile(values, (0.5, 99.5)))
    if name in ("visibility", "reference_visibility") or (unit == "1" and name == "amplitude"):
        return 0.0, max(1.0, round(high, 1)) if name == "amplitude" else max(high, 1.0) if high > 1 else 1.0
    if name.startswith("sigma") or unit == "1" or name in ("mean", "reflectivity"):
        low = 0.0
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def complex_rgb(phase_rad: np.ndarray, amplitude: np.ndarray, *, amplitude_max: float = 1.0,
                valid: np.ndarray | None = None) -> np.ndarray:
    """(h, w, 3) RGB in 0..1: hue from the phase (-pi..pi around the wheel), value from the amplitude.

    HSV with full saturation: channel c = value x clip(|6 hue - k_c| ... ) (the standard hexcone)."""
    sixths = (np.mod(np.nan_to_num(phase_rad, nan=0.0), 2 * np.pi) * (3 / np.pi)).astype(np.float32)  # 6 x hue
    value = np.clip(np.nan_to_num(amplitude, nan=0.0) / amplitude_max, 0.0, 1.0).astype(np.float32)
    rgb = np.empty((*sixths.shape, 3), np.float32)
    rgb[..., 0] = np.abs(sixths - 3) - 1  # red: 0 rad
    rgb[..., 1] = 2 - np.abs(sixths - 2)
    rgb[..., 2] = 2 - np.abs(sixths - 4)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    rgb *= value[..., None]
    if valid is not None:
        rgb[~valid] = float(MASK_GREY)
    return rgb


def nice_length_um(width_um: float) -> float:
    """A round length (1, 2 or 5 x 10^k um) close to a fifth of the field of view."""
    target = width_um / 5
    exponent = np.floor(np.log10(target))
    for mantissa in (5, 2, 1):
        if mantissa * 10**exponent <= target:
            return float(mantissa * 10**exponent)
    return float(10**exponent)


def _um_label(length_um: float) -> str:
    if length_um >= 1000:
        return f"{length_um / 1000:g} mm"
    return f"{length_um:g} \u00b5m"


# -- artists on one axes ---------------------------------------------------------------------------
def add_scale_bar(ax, width_px: int, pixel_size_um: float | None):
    """A scale bar in um on the sample (AnchoredSizeBar, length in pixels = um / pixel_size_um), or a
    note that the scale is unknown. Returns the bar (None without a pixel size)."""
    if pixel_size_um is None or not pixel_size_um > 0:
        ax.text(0.01, 0.01, "scale unknown (no pixel size)", transform=ax.transAxes, fontsize=7, color="0.3",
                ha="left", va="bottom", bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
        return None
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length_um = nice_length_um(width_px * pixel_size_um)
    bar = AnchoredSizeBar(ax.transData, length_um / pixel_size_um, _um_label(length_um), "lower right", pad=0.3,
                          color="white", frameon=True, size_vertical=max(1.0, width_px / 150), label_top=False,
                          fontproperties={"size": 7})
    bar.patch.set(facecolor="black", alpha=0.55, edgecolor="none")
    bar.length_um = length_um  # kept with the artist for readers and tests
    ax.add_artist(bar)
    return bar


def _colorbar_label(name: str, unit: str) -> str:
    label = LABELS.get(name, (name.replace("_", " "), None))[0]
    return f"{label} ({UNIT_TEXT.get(unit, unit)})"


def _shown(data: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """(every k-th pixel of ``data``, imshow extent in the full map's pixel coordinates)."""
    h, w = data.shape[:2]
    k = max(1, -(-max(h, w) // MAX_DISPLAY_PX))
    return data[::k, ::k], (-0.5, w - 0.5, h - 0.5, -0.5)


def draw_map(fig, ax, cax, name: str, data: np.ndarray, unit: str, *, valid: np.ndarray | None,
             pixel_size_um: float | None, range_from: np.ndarray | None = None) -> None:
    """One map on ``ax`` (colour bar on ``cax``): image, unit, masked pixels grey, scale bar, pixel axes.

    ``range_from``: the pixels that set the colour range (default: the valid ones)."""
    import matplotlib

    data = np.asarray(data, dtype=np.float32)
    vmin, vmax = display_range(name, data, unit, valid if range_from is None else range_from)
    bad = ~np.isfinite(data) if valid is None else (~valid | ~np.isfinite(data))
    shown, extent = _shown(np.ma.masked_array(data, mask=bad))
    cmap = matplotlib.colormaps[LABELS.get(name, (None, "viridis"))[1]].with_extremes(bad=MASK_GREY)
    image = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", extent=extent)
    cbar = fig.colorbar(image, cax=cax)
    cbar.set_label(_colorbar_label(name, unit), fontsize=8)
    cbar.ax.tick_params(labelsize=7)
    if is_wrapped_phase(name, unit):
        cbar.set_ticks([t for t, _ in PHASE_TICKS], labels=[s for _, s in PHASE_TICKS])
    _finish_axes(ax, LABELS.get(name, (name.replace("_", " "),))[0], data.shape, pixel_size_um, bad.any())


def draw_complex(fig, ax, wheel_ax, phase_rad: np.ndarray, amplitude: np.ndarray, *, valid: np.ndarray | None,
                 pixel_size_um: float | None, amplitude_name: str = "amplitude |t|") -> None:
    """Complex view (hue = phase, brightness = amplitude) with a colour-wheel legend on ``wheel_ax``."""
    amp = np.asarray(amplitude, np.float64)
    top = display_range("amplitude", amp, "1", valid)[1]
    phase_shown, extent = _shown(np.asarray(phase_rad))
    amp_shown = _shown(amp)[0]
    valid_shown = None if valid is None else _shown(valid)[0]
    ax.imshow(complex_rgb(phase_shown, amp_shown, amplitude_max=top, valid=valid_shown), interpolation="nearest",
              extent=extent)
    n = 97
    yy, xx = np.mgrid[-1:1:n * 1j, -1:1:n * 1j]
    radius, angle = np.hypot(xx, yy), np.arctan2(-yy, xx)
    wheel = complex_rgb(angle, radius * top, amplitude_max=top)
    wheel_ax.imshow(np.dstack([wheel, (radius <= 1).astype(float)]), extent=(-1, 1, -1, 1))
    for text, (x, y) in (("0", (1.2, 0)), ("\u03c0/2", (0, 1.25)), ("\u00b1\u03c0", (-1.3, 0)), ("\u2212\u03c0/2", (0, -1.3))):
        wheel_ax.text(x, y, text, ha="center", va="center", fontsize=7)
    wheel_ax.set_title(f"hue: phase\nbrightness:\n{amplitude_name}\n0 .. {top:.2g}", fontsize=7)
    wheel_ax.set_xlim(-1.5, 1.5)
    wheel_ax.set_ylim(-1.5, 1.5)
    wheel_ax.set_axis_off()
    ax.wheel_legend = wheel_ax  # so readers (and tests) find the legend of this view
    bad = np.zeros(amp.shape, bool) if valid is None else ~valid
    _finish_axes(ax, "complex view", amp.shape, pixel_size_um, bad.any())


def _finish_axes(ax, label: str, shape, pixel_size_um: float | None, has_masked: bool) -> None:
    ax.set_title(label + ("  (grey: masked)" if has_masked else ""), fontsize=9)
    ax.set_xlabel("x (pixel)", fontsize=7)
    ax.set_ylabel("y (pixel)", fontsize=7)
    ax.tick_params(labelsize=6)
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis):  # a few round pixel positions: enough to read, quick to draw
        axis.set_major_locator(MaxNLocator(4, integer=True))
    ax.scale_bar = add_scale_bar(ax, shape[1], pixel_size_um)


# -- figures ---------------------------------------------------------------------------------------
def _new_figure(size_in: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_in, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _cell(fig, left: float, bottom: float, width: float, height: float, *, wide_side: bool):
    """Image axes and, right beside the image, a colour-bar (or colour-wheel) axes, in one cell."""
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    ax = fig.add_axes((left + 0.12 * width, bottom + 0.12 * height, 0.74 * width, 0.76 * height))
    side = make_axes_locatable(ax).append_axes("right", size="42%" if wide_side else "4%",
                                               pad=0.25 if wide_side else 0.08)
    return ax, side


def _panels(maps: Mapping[str, np.ndarray], units: Mapping[str, str]) -> list[str]:
    """Panel names in display order: maps (bool masks excluded) and, given phase and an amplitude, 'complex'."""
    names = [n for n in maps if n not in BOOL_MAPS and np.asarray(maps[n]).dtype != bool]
    if "phase" in maps and ("amplitude" in maps or "visibility" in maps):
        names.insert(names.index("phase") + 1, "complex")
    return names


def build_figures(maps: Mapping[str, np.ndarray], units: Mapping[str, str], *, title: str,
                  pixel_size_um: float | None, overview: bool = True, per_map: bool = True) -> dict[str, object]:
    """matplotlib Figures by name ('overview', each map's name, 'complex'), not written anywhere.

    ``maps`` holds float maps (h, w) and optionally a bool ``mask`` (True = valid); ``units`` each
    float map's unit ('1', 'rad', 'um', 'ADU' ...).
    """
    valid = np.asarray(maps["mask"], bool) if "mask" in maps else None
    names = _panels(maps, units)
    if not names:
        raise ValueError("no maps to draw")
    amplitude_name = "amplitude" if "amplitude" in maps else "visibility"
    # phase where there is next to no light is noise: it is shown, but does not set the colour range
    reliable = valid
    if amplitude_name in maps:
        amp = np.asarray(maps[amplitude_name], np.float32)
        bright = amp >= 0.1 * display_range("amplitude", amp, "1", valid)[1]
        reliable = bright if valid is None else bright & valid

    def draw(fig, cell, name):
        ax, sax = _cell(fig, *cell, wide_side=name == "complex")
        if name == "complex":
            draw_complex(fig, ax, sax, maps["phase"], maps[amplitude_name], valid=valid, pixel_size_um=pixel_size_um,
                         amplitude_name=LABELS[amplitude_name][0])
        else:
            draw_map(fig, ax, sax, name, maps[name], units.get(name, ""), valid=valid, pixel_size_um=pixel_size_um,
                     range_from=reliable if "phase" in name else None)

    figures: dict[str, object] = {}
    if overview:
        cols = min(3, len(names))
        rows = -(-len(names) // cols)
        title_in = 0.45
        fig = _new_figure((4.4 * cols, 3.6 * rows + title_in))
        top = 1 - title_in / (3.6 * rows + title_in)
        for i, name in enumerate(names):
            r, c = divmod(i, cols)
            draw(fig, (c / cols, top - (r + 1) * top / rows, 1 / cols, top / rows), name)
        fig.suptitle(title, fontsize=11, y=1 - 0.12 * title_in / (3.6 * rows + title_in))
        figures["overview"] = fig
    for name in names if per_map else ():
        fig = _new_figure((5.2, 4.3))
        draw(fig, (0.0, 0.0, 1.0, 0.93), name)
        fig.suptitle(title, fontsize=9, y=0.985)
        figures[name] = fig
    return figures


def parse_formats(text: str) -> tuple[str, ...]:
    """'png,pdf' -> ('png', 'pdf'); 'none' -> (); anything else: ValueError naming what is allowed."""
    names = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    if names == ("none",):
        return ()
    if not names or any(f not in FORMATS for f in names):
        raise ValueError(f"figure formats are {', '.join(FORMATS)} (comma-separated) or none, got {text!r}")
    return names


def figure_title(*, sample: str | None = None, sequence: str | None = None, run_time: str | None = None,
                 source: str | None = None) -> str:
    """'sample - sequence - run time' (parts that are unknown are left out)."""
    parts = [p for p in (sample, sequence, run_time) if p]
    if source:
        parts.append(str(source))
    return " \u2014 ".join(parts) or "qiup result"


def write_figures(maps: Mapping[str, np.ndarray], units: Mapping[str, str], *, title: str,
                  pixel_size_um: float | None, out_stem: Path, formats: Sequence[str] = ("png",),
                  overview: bool = True, per_map: bool = True) -> list[Path]:
    """Write ``<out_stem>-<name>.<format>`` for every figure of ``build_figures``; returns the paths."""
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats must be among {', '.join(FORMATS)}; got {', '.join(formats) or 'none'}")
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in build_figures(maps, units, title=title, pixel_size_um=pixel_size_um, overview=overview,
                                         per_map=per_map).items():
        for fmt in formats:
            path = Path(f"{out_stem}-{name}.{fmt}")
            fast_png = {"pil_kwargs": {"compress_level": 2}} if fmt == "png" else {}
            fig.savefig(path, format=fmt, dpi=100 if name == "overview" else 110, **fast_png)
            written.append(path)
    return written

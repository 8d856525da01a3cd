"""One panel of a result figure: colour range, colours, image, colour bar with unit, scale bar, title.

The pieces app.storage.figures puts on its pages (matplotlib imported lazily, inside the functions).
A panel (``MapPanel``, ``ComplexPanel``) is laid out before its data exist and filled by ``show``;
it shows its map block-averaged to about the image's pixel count (``ShownMaps``, using
app.storage.display_blocks); its axes, extent and scale bar stay in the map's camera pixels.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from app.storage.display_blocks import Blocks

MASK_GREY = "0.62"
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
        ax.text(0.01, 0.01, "scale unknown\n(no pixel size)", transform=ax.transAxes, fontsize=7, color="0.3",
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


class ShownMaps:
    """The maps as one figure size shows them: each reduced once to about the image's pixel count by
    block averaging (app.storage.display_blocks), shared by the panels of that figure."""

    def __init__(self, maps: Mapping[str, np.ndarray], valid: np.ndarray | None, reliable: np.ndarray | None,
                 shape: tuple[int, int], k: int, reliable_rule: str = "") -> None:
        """``reliable``: where the phase means something (enough light); ``reliable_rule`` says so in
        words for a title ("|t| < 0.1" for what is not)."""
        self.reliable_rule = reliable_rule
        self.maps, self.k = maps, k
        self.blocks = Blocks.of(shape, k, valid)
        self._valid = valid
        self._cache: dict[str, np.ndarray] = {}
        self.reliable = None if reliable is None else Blocks.of(shape, k, reliable).valid

    def map(self, name: str, unit: str) -> np.ndarray:
        """Block means of one map, masked where a block is invalid (wrapped phase: circular means)."""
        if name not in self._cache:
            data = self.maps[name]
            if is_wrapped_phase(name, unit):
                shown = self.blocks.phase_mean(data, self._valid)[0]
            else:
                shown = self.blocks.mean(data, self._valid)
            bad = ~np.isfinite(shown)
            if self.blocks.valid is not None:
                bad |= ~self.blocks.valid
            self._cache[name] = np.ma.masked_array(shown, mask=bad)
        return self._cache[name]

    def complex(self, amplitude_name: str) -> tuple[np.ndarray, np.ndarray]:
        """(phase, amplitude) of each block's mean complex transmission amplitude x exp(i phase)."""
        return self.blocks.phase_mean(self.maps["phase"], self._valid, weight=self.maps[amplitude_name])


class MapPanel:
    """One map's panel, laid out before its data exist: image, colour bar with unit, axes, title, scale
    bar. ``show`` puts the (block-averaged) map in and sets its colour range, so everything that does
    not depend on the data can be built, and measured, while the data are still being computed."""

    def __init__(self, fig, ax, cax, name: str, unit: str, *, blocks_shape: tuple[int, int], extent, map_shape,
                 pixel_size_um: float | None) -> None:
        import matplotlib

        self.name, self.unit, self.ax = name, unit, ax
        self.label = LABELS.get(name, (name.replace("_", " "),))[0]
        cmap = matplotlib.colormaps[LABELS.get(name, (None, "viridis"))[1]].with_extremes(bad=MASK_GREY)
        vmin, vmax = (-np.pi, np.pi) if is_wrapped_phase(name, unit) else (0.0, 1.0)  # until show() knows the data
        self.laid_out_range = self.shown_range = (vmin, vmax)
        placeholder = np.ma.masked_array(np.zeros(blocks_shape, np.float32), mask=True)
        self.image = ax.imshow(placeholder, cmap=cmap, vmin=vmin, vmax=vmax,
                               interpolation="antialiased", extent=extent)
        self.colorbar = cbar = fig.colorbar(self.image, cax=cax)
        cbar.set_label(_colorbar_label(name, unit), fontsize=8)
        cbar.ax.tick_params(labelsize=7)
        if is_wrapped_phase(name, unit):
            cbar.set_ticks([t for t, _ in PHASE_TICKS], labels=[s for _, s in PHASE_TICKS])
        _finish_axes(ax, self.label, map_shape, pixel_size_um)

    def show(self, shown: np.ma.MaskedArray, *, range_from: np.ndarray | None = None,
             grey_also: tuple[np.ndarray, str] | None = None) -> None:
        """The map's blocks (masked where invalid); ``range_from``: the blocks that set the colour range
        (default: the valid ones); ``grey_also``: (blocks to show, what the others are) -- e.g. phase
        where there is next to no light, which is noise -- greyed too and named in the title."""
        valid = ~np.ma.getmaskarray(shown)
        vmin, vmax = display_range(self.name, shown.data, self.unit,
                                   valid if range_from is None else range_from & valid)
        means = "masked"
        if grey_also is not None and not (valid <= grey_also[0]).all():
            shown = np.ma.masked_array(shown.data, mask=~(valid & grey_also[0]))
            means = f"masked or {grey_also[1]}"
        self.image.set_data(shown)
        self.image.set_clim(vmin, vmax)
        self.shown_range = (vmin, vmax)
        _set_title(self.ax, self.label, not (valid.all() and means == "masked"), means)

    def blit_parts(self) -> dict:
        """What app.storage.figure_blit.Background draws over the background: the image (with what its
        axes draw over it) and, if ``redraw_optional``, the colour bar."""
        return {"image": self.image, "optional": (self.colorbar.ax,)}

    @property
    def redraw_optional(self) -> bool:
        """The colour bar must be drawn again: its range is not the one it was laid out with."""
        return self.shown_range != self.laid_out_range


class ComplexPanel:
    """The complex view (hue = phase, brightness = amplitude) with its colour-wheel legend, laid out
    before the data exist; ``show`` fills it."""

    def __init__(self, fig, ax, wheel_ax, *, blocks_shape: tuple[int, int], extent, map_shape,
                 pixel_size_um: float | None, amplitude_name: str = "amplitude |t|") -> None:
        self.ax, self.wheel_ax, self.amplitude_name = ax, wheel_ax, amplitude_name
        self.image = ax.imshow(np.zeros((*blocks_shape, 3), np.float32), interpolation="antialiased", extent=extent)
        n = 97
        yy, xx = np.mgrid[-1:1:n * 1j, -1:1:n * 1j]
        radius, angle = np.hypot(xx, yy), np.arctan2(-yy, xx)
        wheel = complex_rgb(angle, radius, amplitude_max=1.0)  # brightness = radius / the amplitude range's top
        wheel_ax.imshow(np.dstack([wheel, (radius <= 1).astype(float)]), extent=(-1, 1, -1, 1))
        for text, (x, y) in (("0", (1.2, 0)), ("\u03c0/2", (0, 1.25)), ("\u00b1\u03c0", (-1.3, 0)),
                             ("\u2212\u03c0/2", (0, -1.3))):
            wheel_ax.text(x, y, text, ha="center", va="center", fontsize=7)
        self._wheel_title(1.0)
        wheel_ax.set_xlim(-1.5, 1.5)
        wheel_ax.set_ylim(-1.5, 1.5)
        wheel_ax.set_axis_off()
        ax.wheel_legend = wheel_ax  # so readers (and tests) find the legend of this view
        _finish_axes(ax, "complex view", map_shape, pixel_size_um)

    def _wheel_title(self, top: float) -> None:
        self.wheel_ax.set_title(f"hue: phase\nbrightness:\n{self.amplitude_name}\n0 .. {top:.2g}", fontsize=7)

    def show(self, phase_rad: np.ndarray, amplitude: np.ndarray, *, valid: np.ndarray | None) -> None:
        amp = np.asarray(amplitude, np.float32)
        top = display_range("amplitude", amp, "1", valid)[1]
        self.image.set_data(complex_rgb(phase_rad, amp, amplitude_max=top, valid=valid))
        self._wheel_title(top)
        _set_title(self.ax, "complex view", valid is not None and not valid.all())

    redraw_optional = False  # the wheel never changes, only its title

    def blit_parts(self) -> dict:
        """What app.storage.figure_blit.Background draws over the background: the image (with what its
        axes draw over it) and the wheel's title (its amplitude range)."""
        return {"image": self.image, "texts": (self.wheel_ax.title,)}


def _set_title(ax, label: str, has_masked: bool, means: str = "masked") -> None:
    # a fixed title position: matplotlib otherwise measures every tick label to place it, at each draw
    ax.set_title(label + (f"  (grey: {means})" if has_masked else ""), fontsize=9, y=1.0, pad=4)


def _finish_axes(ax, label: str, shape, pixel_size_um: float | None) -> None:
    ax.set_xlim(-0.5, shape[1] - 0.5)  # the map's own pixel coordinates (a last partial block stops here)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    _set_title(ax, label, False)
    ax.set_xlabel("x (pixel)", fontsize=7)
    ax.set_ylabel("y (pixel)", fontsize=7)
    ax.tick_params(labelsize=6)
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis):  # a few round pixel positions: enough to read, quick to draw
        axis.set_major_locator(MaxNLocator(4, integer=True))
    ax.scale_bar = add_scale_bar(ax, shape[1], pixel_size_um)



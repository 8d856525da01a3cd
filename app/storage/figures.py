"""Figures of a run's result maps that stand on their own (matplotlib, Agg, imported lazily).

Each map gets a title (the run's, plus the map's name), a colour bar labelled with the unit, a range
suited to what it is (visibility 0..1, phase -pi..pi on the cyclic 'twilight' map, others between
robust percentiles), masked pixels in grey (phase also where the amplitude is below a tenth of its
range: noise), and a scale bar in um on the sample when the object-plane pixel size is known (a note
says so when it is not). The complex view shows hue = phase and
brightness = amplitude with a colour-wheel legend. One overview page holds every panel; each map also
gets its own figure. No pyplot: figures are plain ``Figure`` objects, so nothing global is touched
and they can be built in any thread or process. Each figure shows the maps block-averaged to about
its own pixel resolution (k x k camera pixels per shown value, the mean of the valid ones; wrapped
phase as a circular mean; see app.storage.display_blocks), which is what the page can show and is
quicker to draw; axes and scale bars stay in camera pixels. Axes are placed by arithmetic (no layout
solver), titles at a fixed height, and PNGs are zlib at its fastest level (app.storage.png).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np

from app.storage.display_blocks import Blocks, block_factor
from app.storage.figure_panels import (BOOL_MAPS, FORMATS, LABELS, MASK_GREY, PHASE_CMAP, PHASE_TICKS,  # noqa: F401
                                       UNIT_TEXT, ComplexPanel, MapPanel, ShownMaps, add_scale_bar, complex_rgb,
                                       display_range, is_wrapped_phase, nice_length_um)
from app.storage.png import png_bytes

MAP_DPI = 110


# -- layout ----------------------------------------------------------------------------------------
def _new_figure(size_in: tuple[float, float], dpi: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _cell(fig, left: float, bottom: float, width: float, height: float, *, map_shape, wide_side: bool):
    """Image axes of the map's aspect and, right beside it, a colour-bar (or colour-wheel) axes, placed
    by arithmetic in one cell (figure fractions); returns (axes, side axes, image size in pixels)."""
    fig_w, fig_h = fig.get_size_inches()
    cell_w, cell_h = width * fig_w, height * fig_h  # inches
    box_w, box_h = 0.74 * cell_w, 0.76 * cell_h  # room for the image and its side axes
    side_w, pad = (0.42 * box_w, 0.25) if wide_side else (0.04 * box_w, 0.08)
    h, w = map_shape
    image_w = min(box_w - side_w - pad, box_h * w / h)
    image_h = image_w * h / w
    x0 = left * fig_w + 0.12 * cell_w + (box_w - side_w - pad - image_w) / 2
    y0 = bottom * fig_h + 0.12 * cell_h + (box_h - image_h) / 2
    ax = fig.add_axes((x0 / fig_w, y0 / fig_h, image_w / fig_w, image_h / fig_h))
    if wide_side:  # the colour wheel: a square as wide as the side, level with the image's centre
        side_h = min(side_w, box_h)
        side = fig.add_axes(((x0 + image_w + pad) / fig_w, (y0 + (image_h - side_h) / 2) / fig_h,
                             side_w / fig_w, side_h / fig_h))
    else:
        side = fig.add_axes(((x0 + image_w + pad) / fig_w, y0 / fig_h, side_w / fig_w, image_h / fig_h))
    return ax, side, max(image_w, image_h) * fig.dpi


def panel_names(names: Sequence[str], maps: Mapping[str, np.ndarray]) -> list[str]:
    """Panel names in display order: the float maps of ``names`` (masks excluded) and, given phase
    and an amplitude, 'complex'. A name not in ``maps`` yet counts as a float map unless it is a mask."""
    panels = [n for n in names if n not in BOOL_MAPS and not (n in maps and np.asarray(maps[n]).dtype == bool)]
    if "phase" in panels and ("amplitude" in names or "visibility" in names):
        panels.insert(panels.index("phase") + 1, "complex")
    return panels


def _figure_px(size_in: tuple[float, float], dpi: float) -> tuple[int, int]:
    """(width, height) in pixels of a figure of ``size_in`` rendered by Agg at ``dpi``."""
    return int(size_in[0] * dpi), int(size_in[1] * dpi)


# -- figures ---------------------------------------------------------------------------------------
MAP_SIZE_IN = (5.2, 4.3)
MAP_CELL_TOP = 0.93  # a per-map figure's panel fills the figure below this height; its run title is above
PAGE_TITLE_IN = 0.45


class FigureSet:
    """The figures of one result, drawn as its maps arrive (all at once or over several ``add`` calls).

    ``expected`` names every map the set will get, so it knows its panels and when each is complete.
    Each panel is drawn once, as its own figure (title, colour bar with unit, scale bar). Everything
    that does not depend on the data can be laid out beforehand (``prepare(shape)``: axes, colour
    bars, labels, scale bars, the page's title) and rendered without the data-dependent artists, so
    that once the maps arrive only those are drawn over that background (app.storage.figure_blit).
    The overview page is the per-map figures, rendered, tiled three to a row below one run title
    (``figimage``, pixel for pixel; in PDF/SVG the tiles are images at ``MAP_DPI``): the page shows
    exactly what the per-map figures show, at the cost of one more image, not of drawing every panel
    twice; its PNG is composed from the tiles directly.
    ``per_map``: True for every panel's own file, False for none, or the names.
    The panels can be shared between processes: ``draws`` names the panels drawn here (default all);
    the others' tiles come from elsewhere (``add_tiles``). ``compose_overview=False``: another set
    makes the page, from this set's ``tiles``.
    """

    def __init__(self, expected: Sequence[str], units: Mapping[str, str], *, title: str,
                 pixel_size_um: float | None, overview: bool = True, per_map: bool | Sequence[str] = True,
                 first_maps: Mapping[str, np.ndarray] | None = None, draws: Sequence[str] | None = None,
                 compose_overview: bool = True, encoder: Executor | None = None) -> None:
        self.units, self.title, self.pixel_size_um = dict(units), title, pixel_size_um
        self.expected = tuple(expected)
        self.panels = panel_names(self.expected, first_maps or {})
        if not self.panels:
            raise ValueError("no maps to draw")
        self.amplitude_name = "amplitude" if "amplitude" in self.expected else "visibility"
        self.draws = list(self.panels) if draws is None else [p for p in self.panels if p in set(draws)]
        wanted = self.panels if per_map is True else [] if per_map is False else list(per_map)
        self.overview = overview  # the page is wanted: every panel drawn here is rendered as its tile
        page = ["overview"] if overview and compose_overview else []
        self.pending = [p for p in self.draws if p in wanted or overview] + page
        self.wanted = {p for p in wanted if p in self.draws} | set(page)
        self.maps: dict[str, np.ndarray] = {}
        self.figures: dict[str, object] = {}  # complete figures by name
        self.rendered: set[str] = set()  # figures whose canvas is drawn (a PNG is then its pixels)
        self.tiles: dict[str, np.ndarray] = {}  # each panel's rendered pixels below its run title (RGBA)
        self._laid_out: dict[str, tuple] = {}  # panel -> (figure, panel artists, block size, map shape)
        self._page: tuple | None = None  # (page figure, its pixels with the title only)
        self._shown: dict[tuple, ShownMaps] = {}  # maps reduced per block size, shared by the figures
        self._backgrounds: dict[str, object] = {}  # panel -> its figure_blit.Background (None: none could be made)
        self.blitted: set[str] = set()  # panels rendered by a blit over their background
        self.encoder = encoder  # PNGs will be written: each is encoded there as soon as its figure is complete
        self._encoded: dict[str, Future] = {}  # figure name -> its PNG file's bytes, being encoded

    @property
    def complete(self) -> bool:
        return not self.pending

    def prepare(self, shape: tuple[int, int], *, stop: Callable[[], bool] = lambda: False) -> None:
        """Lay out every panel still to draw for maps of ``shape`` and the page, before the maps exist,
        then ``render_backgrounds(stop)``."""
        for name in self.pending:
            if name != "overview" and name not in self._laid_out:
                self._lay_out(name, tuple(shape))
        if "overview" in self.pending:
            self._page_layout()
        self.render_backgrounds(stop)

    def render_backgrounds(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Render, in display order, the background of each laid-out panel whose maps are not in yet:
        its figure without the data-dependent artists (app.storage.figure_blit), over which only those
        are drawn once the maps are in. Stops as soon as ``stop()`` (maps are waiting: a full draw then
        costs less than a background and a blit); call again when idle for the others. A background
        that cannot be made is left out (that panel is drawn in full)."""
        from app.storage.figure_blit import Background

        for name in self.pending:
            if name in self._laid_out and name not in self.figures and name not in self._backgrounds:
                if stop():
                    return
                fig, panel = self._laid_out[name][:2]
                try:
                    self._backgrounds[name] = Background(fig, **panel.blit_parts())
                except Exception:  # noqa: BLE001 - only a saving is lost: the panel is drawn in full, as
                    self._backgrounds[name] = None  # without preparation, and not tried again

    def add(self, maps: Mapping[str, np.ndarray]) -> list[str]:
        """Take more maps; returns the names of the wanted figures they completed, overview first, then
        in display order."""
        for name, data in maps.items():
            self.maps[name] = np.asarray(data, bool if name in BOOL_MAPS else np.float32)
        done = [name for name in self.pending if name != "overview" and self._ready(name)]
        for name in done:
            self.figures[name] = self._fill(name)
            if self.overview:  # its pixels are a tile of the page
                self._render(name)
            self.pending.remove(name)
        return [name for name in self._page_if_ready() + done if name in self.wanted]

    def add_tiles(self, tiles: Mapping[str, np.ndarray]) -> list[str]:
        """Tiles of panels drawn elsewhere; returns ['overview'] when they completed the page."""
        self.tiles.update(tiles)
        return [name for name in self._page_if_ready() if name in self.wanted]

    def take_over(self) -> None:
        """Draw here every panel still missing that was to be drawn elsewhere (that drawer has gone);
        the next ``add`` draws those whose maps are there."""
        missing = [p for p in self.panels if p not in self.draws and p not in self.tiles]
        self.draws += missing
        self.pending[:0] = missing
        self.wanted |= set(missing)

    def _ready(self, panel: str) -> bool:
        """A panel can be drawn once its own maps, the mask and (for phase) the amplitude are there,
        as far as they are expected at all."""
        needs = {"phase", self.amplitude_name} if panel == "complex" else {panel}
        # the amplitude says where phase is reliable enough to set the colour range
        needs |= ({"mask"} | ({self.amplitude_name} if "phase" in panel else set())) & set(self.expected)
        return needs <= self.maps.keys()

    def _lay_out(self, name: str, shape: tuple[int, int]) -> tuple:
        """A panel's own figure with everything but the data: the panel in its cell, the run title."""
        fig = _new_figure(MAP_SIZE_IN, MAP_DPI)
        ax, side, image_px = _cell(fig, 0.0, 0.0, 1.0, MAP_CELL_TOP, map_shape=shape, wide_side=name == "complex")
        k = block_factor(shape, image_px)
        blocks = Blocks.of(shape, k, None)
        where = {"blocks_shape": blocks.reduced_shape, "extent": blocks.extent(), "map_shape": shape,
                 "pixel_size_um": self.pixel_size_um}
        if name == "complex":
            panel = ComplexPanel(fig, ax, side, amplitude_name=LABELS[self.amplitude_name][0], **where)
        else:
            panel = MapPanel(fig, ax, side, name, self.units.get(name, ""), **where)
        fig.suptitle(self.title, fontsize=9, y=0.985)
        self._laid_out[name] = (fig, panel, k, shape)
        return self._laid_out[name]

    def _fill(self, name: str):
        """The panel's figure (laid out now unless prepared for this shape) with its data shown."""
        shape = self.maps[self.amplitude_name if name == "complex" else name].shape[:2]
        laid_out = self._laid_out.get(name)
        fig, panel, k, _ = laid_out if laid_out is not None and laid_out[3] == shape else self._lay_out(name, shape)
        shown = self._shown_for(shape, k)
        if name == "complex":
            panel.show(*shown.complex(self.amplitude_name), valid=shown.blocks.valid)
        else:
            phase = "phase" in name and not name.startswith("sigma")  # noise where there is next to no light: grey
            panel.show(shown.map(name, self.units.get(name, "")), range_from=shown.reliable if "phase" in name else None,
                       grey_also=(shown.reliable, shown.reliable_rule) if phase and shown.reliable_rule else None)
        return fig

    def _render(self, name: str) -> np.ndarray:
        """Draw a panel's figure (once: by a blit over its background where that is exact, else in full)
        and keep its tile; returns its pixels (RGBA)."""
        fig = self.figures[name]
        if name not in self.rendered:
            background = self._backgrounds.pop(name, None)
            fig_now, panel = self._laid_out[name][:2]
            if (background is not None and background.figure is fig is fig_now
                    and background.render(redraw_optional=panel.redraw_optional)):
                self.blitted.add(name)
            else:
                fig.canvas.draw()
            self.rendered.add(name)
            pixels = np.asarray(fig.canvas.buffer_rgba())
            self.tiles[name] = pixels[round(pixels.shape[0] * (1 - MAP_CELL_TOP)):].copy()
            if self.encoder is not None and name in self.wanted:
                self._encoded[name] = self._encode(name)
        return np.asarray(fig.canvas.buffer_rgba())

    def tile(self, name: str) -> np.ndarray:
        """The rendered pixels (RGBA) of a panel's own figure below its run title: its overview tile."""
        if name not in self.tiles:
            self._render(name)
        return self.tiles[name]

    def _page_if_ready(self) -> list[str]:
        if self.pending != ["overview"] or not all(p in self.tiles for p in self.panels):
            return []
        page, _ = self._page_layout()
        tile_h, tile_w = self.tiles[self.panels[0]].shape[:2]
        rows, cols = self._grid()
        for i, name in enumerate(self.panels):
            r, c = divmod(i, cols)
            page.figimage(self.tiles[name], xo=c * tile_w, yo=(rows - 1 - r) * tile_h, origin="upper")
        self.figures = {"overview": page, **{p: self.figures[p] for p in self.panels if p in self.figures}}
        self.pending.clear()
        if self.encoder is not None and "overview" in self.wanted:
            self._encoded["overview"] = self._encode("overview")
        return ["overview"]

    def _grid(self) -> tuple[int, int]:
        cols = min(3, len(self.panels))
        return -(-len(self.panels) // cols), cols

    def _page_layout(self) -> tuple:
        """The overview page: one run title on top, room for the tiles below (added when drawn), and
        its pixels with the title only (rendered once: the PNG pastes the tiles into them)."""
        if self._page is None:
            fig_w, fig_h = _figure_px(MAP_SIZE_IN, MAP_DPI)
            tile_w, tile_h = fig_w, fig_h - round(fig_h * (1 - MAP_CELL_TOP))
            rows, cols = self._grid()
            title_px = round(PAGE_TITLE_IN * MAP_DPI)
            page_h = rows * tile_h + title_px
            # half a pixel more than the tiles need: Agg truncates the size, and the tiles must fit exactly
            page = _new_figure(((cols * tile_w + 0.5) / MAP_DPI, (page_h + 0.5) / MAP_DPI), MAP_DPI)
            page.suptitle(self.title, fontsize=11, y=1 - 0.5 * title_px / page_h, va="center")
            page.canvas.draw()
            self._page = (page, np.asarray(page.canvas.buffer_rgba()).copy(), title_px)
        return self._page[:2]

    def page_pixels(self) -> np.ndarray:
        """The overview page's pixels (RGBA): its title rendered once, the tiles pasted below, as Agg
        draws the page (opaque tiles, no resampling) without drawing it again."""
        _, background, title_px = self._page
        pixels = background.copy()
        rows, cols = self._grid()
        for i, name in enumerate(self.panels):
            tile = self.tiles[name]
            r, c = divmod(i, cols)
            y, x = title_px + r * tile.shape[0], c * tile.shape[1]
            pixels[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
        return pixels

    def _shown_for(self, shape, k: int) -> ShownMaps:
        key = (k, "mask" in self.maps, self.amplitude_name in self.maps)
        if key not in self._shown:
            valid = self.maps.get("mask")
            reliable, rule = valid, ""  # phase where there is next to no light is noise: greyed, not setting the range
            if self.amplitude_name in self.maps:
                amp = self.maps[self.amplitude_name]
                least = 0.1 * display_range("amplitude", amp, "1", valid)[1]
                reliable = amp >= least if valid is None else (amp >= least) & valid
                rule = f"{LABELS[self.amplitude_name][0].split()[-1]} < {least:.2g}"
            self._shown[key] = ShownMaps(self.maps, valid, reliable, shape, k, rule)
        return self._shown[key]

    def file_order(self, out_stem: Path, formats: Sequence[str]) -> list[Path]:
        """Every file the set writes, in display order (overview first)."""
        return [Path(f"{out_stem}-{name}.{fmt}") for name in ("overview", *self.panels) for fmt in formats]

    def write(self, names: Sequence[str], out_stem: Path, formats: Sequence[str]) -> list[Path]:
        """Write ``<out_stem>-<name>.<format>`` for the named complete figures; returns the paths.

        PNGs are the rendered pixels (app.storage.png), encoded by the ``encoder`` thread if the set
        has one (each begun as soon as its figure was complete); PDF and SVG are drawn by their
        backends. A failure is raised here, once the files before it are written."""
        pngs = {name: self._encoded.pop(name, None) or self._encode(name) for name in names} if "png" in formats else {}
        written = []
        for name in names:
            for fmt in formats:
                path = Path(f"{out_stem}-{name}.{fmt}")
                if fmt == "png":
                    data = pngs[name].result() if isinstance(pngs[name], Future) else pngs[name]
                    with open(path, "wb") as f:
                        f.write(data)
                else:
                    self.figures[name].savefig(path, format=fmt, dpi="figure")
                written.append(path)
        return written

    def _encode(self, name: str):
        """The PNG file of a complete figure's pixels: the bytes, or their Future from ``encoder``."""
        pixels = self.page_pixels() if name == "overview" else np.array(self._render(name))
        if self.encoder is None:
            return png_bytes(pixels, dpi=MAP_DPI, text={"Software": _software()})
        return self.encoder.submit(png_bytes, pixels, dpi=MAP_DPI, text={"Software": _software()})


def _software() -> str:
    import matplotlib

    return f"qiup quick-look (matplotlib {matplotlib.__version__}, Agg)"


def build_figures(maps: Mapping[str, np.ndarray], units: Mapping[str, str], *, title: str,
                  pixel_size_um: float | None, overview: bool = True, per_map: bool = True) -> dict[str, object]:
    """matplotlib Figures by name ('overview', each map's name, 'complex'), not written anywhere.

    ``maps`` holds float maps (h, w) and optionally a bool ``mask`` (True = valid); ``units`` each
    float map's unit ('1', 'rad', 'um', 'ADU' ...). Each figure shows the maps block-averaged to
    about its own pixel resolution (app.storage.display_blocks); axes stay in camera pixels.
    """
    figures = FigureSet(list(maps), units, title=title, pixel_size_um=pixel_size_um, overview=overview,
                        per_map=per_map, first_maps=maps)
    return {name: figures.figures[name] for name in figures.add(maps)}


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


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The formats as a tuple; ValueError naming the allowed ones for an empty or unknown one."""
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats must be among {', '.join(FORMATS)}; got {', '.join(formats) or 'none'}")
    return formats


def write_figures(maps: Mapping[str, np.ndarray], units: Mapping[str, str], *, title: str,
                  pixel_size_um: float | None, out_stem: Path, formats: Sequence[str] = ("png",),
                  overview: bool = True, per_map: bool | Sequence[str] = True) -> list[Path]:
    """Write ``<out_stem>-<name>.<format>`` for every figure of ``build_figures``; returns the paths."""
    formats = check_formats(formats)
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    figures = FigureSet(list(maps), units, title=title, pixel_size_um=pixel_size_um, overview=overview,
                        per_map=per_map, first_maps=maps)
    return figures.write(figures.add(maps), out_stem, formats)

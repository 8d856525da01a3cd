"""Blitting of a prepared figure: rendered once before its data exist, only the data drawn after.

A ``Background`` holds a figure's pixels rendered, before the data are in, without the artists that
depend on the data: the image, every artist its axes draw after it that can touch it (spines, scale
bar, notes, the title; not tick labels, which lie outside), data-dependent texts elsewhere (a colour
wheel's title), and the optional axes (a colour bar whose range comes from the data). Once the data
are in, ``render`` puts the background back and draws exactly those artists over it, in the order a
full ``canvas.draw()`` draws them, which gives the same pixels as a full draw (tested) at a fraction
of its cost: no tick, tick-label or label layout and drawing. The colour bar is drawn again only if
its range changed; otherwise a second background that holds it (drawn once at layout) is used.

It falls back (``render`` returns False: the caller draws the whole figure) whenever the blit would
not be exact: the canvas size or resolution changed, or an artist drawn over the background, at its
size now, reaches an artist that a full draw draws after it (a longer title, colour-bar tick labels
grown wider). ``Background`` is built only when the figure is fully laid out; a figure laid out again
(other shape) is a different figure and gets a full draw. Artists are hidden only while the
background renders: savefig (PDF, SVG) draws everything as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.text import Text

PAD_PX = 2  # antialiasing reaches about a pixel past an artist's extent: compare extents grown by this


def _axes_order(ax) -> list:
    """The artists ``Axes.draw`` draws, in its order: the patch (if the frame is on), then the children
    by z-order (stable), spines only with the frame on, axis objects only with the axis on."""
    framed = ax.axison and ax.get_frame_on()
    children = [a for a in ax.get_children() if a is not ax.patch and not a.get_animated()]
    if not framed:
        children = [a for a in children if a not in ax.spines.values()]
    if not ax.axison:
        children = [a for a in children if a not in (ax.xaxis, ax.yaxis)]
    return ([ax.patch] if framed else []) + sorted(children, key=lambda a: a.get_zorder())


def draw_order(fig, expand) -> list:
    """The artists a full draw of ``fig`` draws, in its order (``Figure.draw``: figure-level artists
    by z-order, stable); the axes in ``expand`` as their own artists (``_axes_order``)."""
    top = [a for a in fig.get_children() if a is not fig.patch and not a.get_animated()]
    order = []
    for artist in sorted(top, key=lambda a: a.get_zorder()):
        order += _axes_order(artist) if artist in expand else [artist]
    return order


def _stays_outside(axis) -> bool:
    """True when an axis object draws nothing inside its axes: every tick points out, no grid line
    (the ticks made so far: each is made from the same settings, and there is always one of each)."""
    ticks = [*axis.majorTicks, *axis.minorTicks]
    return all(t.get_tickdir() == "out" and not t.gridline.get_visible() for t in ticks)


def _extent(artist, renderer):
    """Where an artist draws (display pixels), grown by ``PAD_PX``; None if it draws nothing."""
    if isinstance(artist, Text) and not artist.get_text():
        return None
    box = artist.get_tightbbox(renderer)
    if box is None or not (box.width >= 0 and box.height >= 0):
        return None
    return box.padded(PAD_PX)


class Background:
    """A figure rendered without its data-dependent artists, and the redraw of those over it.

    ``image``: the image whose axes' artists drawn after it (and able to touch it) are redrawn with
    it; ``texts``: other artists whose content depends on the data (drawn always); ``optional``:
    axes (a colour bar) drawn only when ``render(redraw_optional=True)``. Build it once the figure is
    completely laid out, before its data are in (it renders the figure: ~25-35 ms for a quick-look)."""

    def __init__(self, fig, *, image, texts: Sequence = (), optional: Sequence = ()) -> None:
        self.figure = fig
        canvas = fig.canvas
        ax = image.axes
        order = draw_order(fig, {ax, *(t.axes for t in texts if t.axes is not None)})
        after_image = order[order.index(image) + 1:]
        over = [a for a in after_image
                if getattr(a, "axes", None) is ax and not (a in (ax.xaxis, ax.yaxis) and _stays_outside(a))]
        dynamic = {id(a) for a in (image, *over, *texts)}
        self._dynamic = [a for a in order if id(a) in dynamic]  # drawn at each render, in draw order
        self._optional = list(optional)
        self._order = order
        hidden = [a for a in (*self._dynamic, *self._optional) if a.get_visible()]
        try:
            for artist in hidden:
                artist.set_visible(False)
            canvas.draw()
            self._without = canvas.copy_from_bbox(fig.bbox)
            renderer = canvas.get_renderer()
            for artist in self._optional:
                artist.set_visible(True)
                artist.draw(renderer)
            self._with = canvas.copy_from_bbox(fig.bbox) if self._optional else self._without
        finally:
            for artist in hidden:
                artist.set_visible(True)
        self._size = (canvas.get_width_height(), fig.dpi)
        # what is drawn over the background must not reach what a full draw draws after it: checked here
        # for everything as laid out (the unchanged optional axes are drawn over the whole background;
        # if something drawn before them reaches them, they are drawn again at every render, after it),
        # at each render again for what the data can resize (texts; the optional axes when redrawn)
        drawn = [a for a in self._dynamic if a is not image]  # the image is checked against its axes (below)
        self._resizable = [a for a in drawn if isinstance(a, Text)]
        optional = {id(a) for a in self._optional}
        start = order.index(image)
        first = min((order.index(a) for a in (*drawn, *self._optional)), default=len(order))
        self._later: dict[int, tuple] = {}  # static artist's place in the order -> (extent, is optional)
        for i, artist in enumerate(order[min(start, first):], min(start, first)):
            # the axes' own axis objects come after the image but draw outside it (over): no extent needed
            if id(artist) not in dynamic and (i >= first or artist not in (ax.xaxis, ax.yaxis)):
                if (box := _extent(artist, renderer)) is not None:
                    self._later[i] = (box, id(artist) in optional)
        # the image covers its axes: nothing drawn after it may be there unless it is drawn again
        image_box = ax.bbox.padded(PAD_PX)
        touches_image = any(box.overlaps(image_box) for i, (box, _) in self._later.items()
                            if i > start and order[i] not in (ax.xaxis, ax.yaxis))
        known = {id(order[i]): box for i, (box, _) in self._later.items()}  # the optional axes' extents
        self._always_redraw = not self._clear(drawn + self._optional, renderer, optional_drawn=False, known=known)
        self.usable = not touches_image and (not self._always_redraw or self._clear(drawn, renderer, optional_drawn=True))

    def _clear(self, artists, renderer, *, optional_drawn: bool, known: dict | None = None) -> bool:
        """True when none of ``artists``, at its extent now (``known``: extents just measured, by id),
        reaches a static artist drawn after it by a full draw (the optional axes count as static
        unless ``optional_drawn``)."""
        for artist in artists:
            box = (known or {}).get(id(artist)) or _extent(artist, renderer)
            if box is None:
                continue
            start = self._order.index(artist)
            for i, (other, is_optional) in self._later.items():
                if i > start and not (is_optional and optional_drawn) and box.overlaps(other):
                    return False
        return True

    def render(self, *, redraw_optional: bool) -> bool:
        """Draw the figure as the background plus its data-dependent artists (and the optional axes
        if ``redraw_optional``, or if a text now reaches them); False, drawing nothing, when that would
        not be exactly a full draw."""
        canvas = self.figure.canvas
        if not self.usable or (canvas.get_width_height(), self.figure.dpi) != self._size:
            return False
        renderer = canvas.get_renderer()
        redraw_optional = redraw_optional or self._always_redraw
        for redraw in (True,) if redraw_optional else (False, True):  # drawing them again puts them in order
            if self._clear(self._resizable + (self._optional if redraw else []), renderer, optional_drawn=redraw):
                break
        else:
            return False
        canvas.restore_region(self._without if redraw else self._with)
        artists = self._dynamic + (self._optional if redraw else [])
        for artist in sorted(artists, key=self._order.index):
            artist.draw(renderer)
        return True

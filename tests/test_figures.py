"""Figures stand on their own: checked on the matplotlib objects (title, colour bar and unit, scale bar
length against the pixel size, phase colour map and range, mask shown), not on pixels."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app.storage import figures as F

UNITS = {"visibility": "1", "amplitude": "1", "phase": "rad", "phase_unwrapped": "rad"}


def result_maps(h=60, w=90):
    y, x = np.mgrid[0:h, 0:w]
    mask = np.ones((h, w), bool)
    mask[:5, :] = False
    return {"visibility": np.full((h, w), 0.5), "amplitude": np.where(x < w // 2, 0.4, 1.0),
            "phase": np.angle(np.exp(1j * 0.2 * x)), "phase_unwrapped": 0.2 * x.astype(float), "mask": mask}


def scale_bars(ax):
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    return [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]


def bar_length_px_and_label(bar) -> tuple[float, str]:
    rectangle = bar.size_bar.get_children()[0]
    return rectangle.get_width(), bar.txt_label._text.get_text()


def label_um(label: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+) (\u00b5m|mm)", label).groups()
    return float(value) * (1000 if unit == "mm" else 1)


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_xlabel()]


def test_every_map_gets_its_own_figure_and_one_overview_holds_them_all():
    figs = F.build_figures(result_maps(), UNITS, title="horse \u2014 phase-stepping \u2014 2026-11-30 17:00",
                           pixel_size_um=1.7)
    assert list(figs) == ["overview", "visibility", "amplitude", "phase", "complex", "phase_unwrapped"]
    for fig in figs.values():
        assert fig._suptitle.get_text() == "horse \u2014 phase-stepping \u2014 2026-11-30 17:00"
    # the overview page is each map's own figure as drawn, below the run title (shown once), three to a row
    page, tiles = figs["overview"], figs["overview"].images
    assert len(tiles) == 5 and not page.axes
    for tile, name in zip(tiles, list(figs)[1:]):
        drawn = np.asarray(figs[name].canvas.buffer_rgba())
        below_title = drawn[round(drawn.shape[0] * (1 - F.MAP_CELL_TOP)):]
        np.testing.assert_array_equal(tile.get_array(), below_title)
    tile_h, tile_w = tiles[0].get_array().shape[:2]
    assert [(t.ox, t.oy) for t in tiles] == [(0, tile_h), (tile_w, tile_h), (2 * tile_w, tile_h), (0, 0), (tile_w, 0)]
    assert page.get_size_inches() * page.dpi == pytest.approx((3 * tile_w, 2 * tile_h + F.PAGE_TITLE_IN * page.dpi),
                                                             abs=1)


@pytest.mark.parametrize("name, unit_text", [("visibility", "dimensionless"), ("amplitude", "dimensionless"),
                                             ("phase", "rad"), ("phase_unwrapped", "rad")])
def test_each_map_has_a_colour_bar_labelled_with_its_unit(name, unit_text):
    fig = F.build_figures(result_maps(), UNITS, title="t", pixel_size_um=1.0, overview=False)[name]
    (ax,) = image_axes(fig)
    colorbars = [a for a in fig.axes if a is not ax and a.get_ylabel()]
    assert len(colorbars) == 1
    assert colorbars[0].get_ylabel().endswith(f"({unit_text})")
    assert ax.images[0].colorbar is not None and ax.images[0].colorbar.ax is colorbars[0]
    assert ax.get_title().startswith(F.LABELS[name][0])


@pytest.mark.parametrize("pixel_size_um, width_px", [(1.7, 90), (0.13, 2048), (6.5, 1024), (25.0, 640)])
def test_scale_bar_length_in_pixels_is_its_label_in_um_over_the_pixel_size(pixel_size_um, width_px):
    maps = {"amplitude": np.ones((32, width_px))}
    fig = F.build_figures(maps, {"amplitude": "1"}, title="t", pixel_size_um=pixel_size_um, overview=False)["amplitude"]
    (ax,) = image_axes(fig)
    (bar,) = scale_bars(ax)
    length_px, label = bar_length_px_and_label(bar)
    assert length_px == pytest.approx(label_um(label) / pixel_size_um, rel=1e-12)
    assert 0.1 * width_px <= length_px <= 0.25 * width_px  # a readable fraction of the field
    # drawn in the map's own pixel coordinates, also when a large map is shown block-averaged: the axes
    # span the map, and each shown value covers k x k camera pixels (a last partial block is cut at the edge)
    assert ax.get_xlim() == (-0.5, width_px - 0.5) and ax.get_ylim() == (31.5, -0.5)
    x0, x1, y0, y1 = ax.images[0].get_extent()
    rows, cols = ax.images[0].get_array().shape
    k = (x1 - x0) / cols
    assert (x0, y1) == (-0.5, -0.5) and k == int(k) and (y0 - y1) / rows == k
    assert cols == -(-width_px // int(k)) and rows == -(-32 // int(k))


def test_without_a_pixel_size_there_is_no_scale_bar_but_a_note():
    fig = F.build_figures({"amplitude": np.ones((20, 30))}, {"amplitude": "1"}, title="t", pixel_size_um=None,
                          overview=False)["amplitude"]
    (ax,) = image_axes(fig)
    assert scale_bars(ax) == []
    assert any("scale unknown" in t.get_text() for t in ax.texts)


def test_phase_uses_a_cyclic_map_over_minus_pi_to_pi_with_pi_ticks():
    fig = F.build_figures(result_maps(), UNITS, title="t", pixel_size_um=1.0, overview=False)["phase"]
    (ax,) = image_axes(fig)
    image = ax.images[0]
    assert image.get_cmap().name.startswith("twilight")
    assert image.get_clim() == (-np.pi, np.pi)
    labels = [t.get_text() for t in image.colorbar.ax.get_yticklabels()]
    assert labels == ["\u2212\u03c0", "\u2212\u03c0/2", "0", "\u03c0/2", "\u03c0"]


def test_masked_pixels_are_shown_grey_and_said_to_be():
    maps = result_maps()
    fig = F.build_figures(maps, UNITS, title="t", pixel_size_um=1.0, overview=False)["amplitude"]
    (ax,) = image_axes(fig)
    shown = ax.images[0].get_array()
    np.testing.assert_array_equal(np.ma.getmaskarray(shown), ~maps["mask"])
    assert ax.images[0].get_cmap().get_bad().tolist()[:3] == [float(F.MASK_GREY)] * 3
    assert "masked" in ax.get_title()


def test_visibility_range_is_zero_to_one_and_others_follow_their_data():
    assert F.display_range("visibility", np.array([0.2, 0.6]), "1", None) == (0.0, 1.0)
    low, high = F.display_range("phase_unwrapped", np.linspace(-3.0, 7.0, 1001), "rad", None)
    assert low == pytest.approx(-2.95) and high == pytest.approx(6.95)  # 0.5 and 99.5 percentiles


def test_complex_view_hue_is_phase_and_brightness_is_amplitude():
    rgb = F.complex_rgb(np.array([[0.0, np.pi / 2, np.pi]]), np.array([[1.0, 0.5, 1.0]]), amplitude_max=1.0)
    np.testing.assert_allclose(rgb[0, 0], [1.0, 0.0, 0.0])  # 0 rad: red at full amplitude
    np.testing.assert_allclose(rgb[0, 1], [0.25, 0.5, 0.0])  # hue 1/4 (yellow-green) at half brightness
    np.testing.assert_allclose(rgb[0, 2], [0.0, 1.0, 1.0])  # pi: cyan
    masked = F.complex_rgb(np.zeros((1, 2)), np.ones((1, 2)), valid=np.array([[True, False]]))
    np.testing.assert_allclose(masked[0, 1], [float(F.MASK_GREY)] * 3)


def test_complex_view_carries_a_colour_wheel_legend():
    fig = F.build_figures(result_maps(), UNITS, title="t", pixel_size_um=1.0, overview=False)["complex"]
    (ax,) = image_axes(fig)
    wheel = ax.wheel_legend
    assert wheel in fig.axes and wheel.images
    assert "hue: phase" in wheel.get_title() and "amplitude" in wheel.get_title()


def test_write_figures_writes_each_requested_format(tmp_path):
    paths = F.write_figures({"amplitude": np.ones((20, 30)), "phase": np.zeros((20, 30))},
                            {"amplitude": "1", "phase": "rad"}, title="t", pixel_size_um=2.0,
                            out_stem=tmp_path / "run", formats=("png", "pdf", "svg"))
    names = sorted(p.name for p in paths)
    expected = sorted(f"run-{n}.{f}" for n in ("overview", "amplitude", "phase", "complex") for f in ("png", "pdf", "svg"))
    assert names == expected
    assert (tmp_path / "run-overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "run-phase.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in (tmp_path / "run-amplitude.svg").read_bytes()[:1000]


def test_unknown_formats_are_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="png, pdf, svg"):
        F.parse_formats("png,jpeg")
    assert F.parse_formats(" PNG , pdf") == ("png", "pdf") and F.parse_formats("none") == ()


@pytest.mark.parametrize("width_um, expected", [(1740.8, 200.0), (100.0, 20.0), (9.0, 1.0), (26000.0, 5000.0)])
def test_scale_bar_lengths_are_round_numbers_near_a_fifth_of_the_field(width_um, expected):
    assert F.nice_length_um(width_um) == expected


def test_figure_process_draws_jobs_and_reports_a_failed_one_in_one_line(tmp_path):
    from app.cli.figure_process import FigureError, FigureWorker

    maps = {"amplitude": np.ones((16, 20)), "phase": np.zeros((16, 20))}
    units = {"amplitude": "1", "phase": "rad"}
    with FigureWorker() as figures:
        figures.submit(maps, units, title="t", pixel_size_um=None, out_stem=tmp_path / "ok", overview=False)
        assert sorted(p.name for p in figures.results()) == ["ok-amplitude.png", "ok-complex.png", "ok-phase.png"]
        figures.submit(maps, units, title="t", pixel_size_um=None, out_stem=tmp_path / "bad", formats=("tiff",))
        with pytest.raises(FigureError, match="ValueError: figure formats must be among png, pdf, svg"):
            figures.results()
    assert (tmp_path / "ok-phase.png").stat().st_size > 1000


def test_a_figure_process_that_died_is_reported_not_raised_mid_command(tmp_path):
    from app.cli.figure_process import FigureError, FigureWorker

    with FigureWorker() as figures:
        figures._proc.kill()
        figures._proc.wait()
        big = {"amplitude": np.ones((1024, 1024))}  # larger than a pipe's buffer
        figures.submit(big, {"amplitude": "1"}, title="t", pixel_size_um=None, out_stem=tmp_path / "x")
        with pytest.raises(FigureError, match="ended early"):
            figures.results()


def _rendered(figures: F.FigureSet) -> dict[str, np.ndarray]:
    return {name: np.asarray(figures.figures[name].canvas.buffer_rgba()).copy() for name in figures.panels}


@pytest.mark.parametrize("prepared_for", [(60, 90), (32, 48)])
def test_figures_laid_out_before_their_maps_exist_are_the_figures_drawn_at_once(prepared_for):
    """Preparing (axes, colour bars, labels, text sizes) changes no pixel, also for a wrong shape."""
    maps = result_maps()
    at_once = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    at_once.add(maps)
    prepared = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    prepared.prepare(prepared_for)
    first = {k: maps[k] for k in ("visibility", "amplitude", "phase", "mask")}
    assert prepared.add(first) == ["visibility", "amplitude", "phase", "complex"]
    assert prepared.add({"phase_unwrapped": maps["phase_unwrapped"]}) == ["overview", "phase_unwrapped"]
    for name, pixels in _rendered(at_once).items():
        np.testing.assert_array_equal(_rendered(prepared)[name], pixels, err_msg=name)
    np.testing.assert_array_equal(prepared.page_pixels(), at_once.page_pixels())


def test_the_overview_png_is_the_page_as_agg_draws_it():
    figures = F.FigureSet(list(result_maps()), UNITS, title="horse \u2014 phase-stepping", pixel_size_um=1.0)
    figures.add(result_maps())
    page = figures.figures["overview"]
    page.canvas.draw()
    np.testing.assert_array_equal(figures.page_pixels(), np.asarray(page.canvas.buffer_rgba()))


def test_two_sets_sharing_the_panels_make_the_pages_and_tiles_of_one():
    """What two processes do: each draws every other panel, one composes the page from both."""
    maps = result_maps()
    whole = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    whole.add(maps)
    panels = whole.panels
    composer = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0, draws=panels[1::2])
    other = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0, draws=panels[0::2], compose_overview=False)
    assert composer.add(maps) == ["amplitude", "complex"]  # the page waits for the other's tiles
    assert other.add(maps) == ["visibility", "phase", "phase_unwrapped"] and other.complete
    assert composer.add_tiles(other.tiles) == ["overview"] and composer.complete
    np.testing.assert_array_equal(composer.page_pixels(), whole.page_pixels())


def test_a_set_takes_over_the_panels_whose_drawer_has_gone():
    maps = result_maps()
    whole = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    whole.add(maps)
    composer = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0, draws=whole.panels[1::2])
    assert composer.add(maps) == ["amplitude", "complex"]
    composer.take_over()
    assert composer.add({}) == ["overview", "visibility", "phase", "phase_unwrapped"] and composer.complete
    np.testing.assert_array_equal(composer.page_pixels(), whole.page_pixels())


def test_phase_where_the_sample_lets_next_to_no_light_through_is_grey_and_the_title_says_why():
    """Phase is noise where |t| is near 0: the phase panels grey every block whose amplitude is below a
    tenth of the amplitude range's top (here 1.0: |t| < 0.1), keep the others, and say so."""
    maps = result_maps()
    amplitude = maps["amplitude"].copy()
    amplitude[:, :30] = 0.02  # an opaque strip on the left
    maps["amplitude"] = amplitude
    figures = F.build_figures(maps, UNITS, title="t", pixel_size_um=1.0, overview=False)
    for name in ("phase", "phase_unwrapped"):
        (ax,) = image_axes(figures[name])
        grey = np.ma.getmaskarray(ax.images[0].get_array())
        np.testing.assert_array_equal(grey, ~maps["mask"] | (amplitude < 0.1))
        assert "grey: masked or |t| < 0.1" in ax.get_title()
    (ax,) = image_axes(figures["amplitude"])  # the amplitude itself is shown everywhere the mask allows
    np.testing.assert_array_equal(np.ma.getmaskarray(ax.images[0].get_array()), ~maps["mask"])
    assert ax.get_title().endswith("(grey: masked)")

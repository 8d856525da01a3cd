"""Blitted quick-looks (app.storage.figure_blit) are the figures a full draw makes, pixel for pixel.

Ground truth: the same filled figure drawn in full by ``canvas.draw()``. The comparison is exact (no
tolerance): the blit draws the same artists with the same renderer over pixels that hold exactly what
a full draw has under them.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from app.storage import figures as F
from app.storage.figure_blit import Background

UNITS = {"visibility": "1", "amplitude": "1", "phase": "rad", "phase_unwrapped": "rad", "mean": "ADU",
         "sigma_phase": "rad", "depth_um": "um"}


def maps_of(shape=(60, 90), *, masked: bool, visibility_top=0.9):
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(float)
    r = np.hypot(x - w / 2, y - h / 2) / max(h, w)
    maps = {"visibility": visibility_top * (1 - r), "amplitude": 1.7 * (1 - r),  # amplitude past 1: its range changes
            "phase": np.angle(np.exp(1j * 0.3 * x)), "phase_unwrapped": 0.3 * x + 0.1 * y,
            "mean": 1000 + 30000 * r, "sigma_phase": 0.05 + 0.1 * r, "depth_um": 12.5 * y / h}
    if masked:
        mask = np.ones(shape, bool)
        mask[: h // 6] = False
        maps["mask"] = mask
    return maps


def blit_and_full_draw(figures: F.FigureSet, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(the panel's pixels as the set rendered them, the same figure drawn in full afterwards)."""
    canvas = figures.figures[name].canvas
    blitted = np.asarray(canvas.buffer_rgba()).copy()
    canvas.draw()
    return blitted, np.asarray(canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("shape", [(60, 90), (333, 120)])
@pytest.mark.parametrize("pixel_size_um", [1.3, None])
@pytest.mark.parametrize("masked", [True, False])
def test_every_blitted_panel_is_the_full_draw_of_the_same_figure(shape, pixel_size_um, masked):
    """Fixed ranges (visibility 0..1, wrapped phase), ranges from the data (amplitude past 1, unwrapped
    phase, ADU, uncertainty, depth), the complex view; with and without scale bar, with masked pixels."""
    maps = maps_of(shape, masked=masked)
    figures = F.FigureSet(list(maps), UNITS, title="horse \u2014 phase-stepping", pixel_size_um=pixel_size_um)
    figures.prepare(shape)
    figures.add(maps)
    assert figures.blitted == set(figures.panels) and "complex" in figures.panels
    panels = {name: figures._laid_out[name][1] for name in figures.panels}
    redrawn = {name for name, panel in panels.items() if panel.redraw_optional}
    assert redrawn == {"amplitude", "phase_unwrapped", "mean", "sigma_phase", "depth_um"}  # visibility, phase: fixed
    for name in figures.panels:
        blitted, full = blit_and_full_draw(figures, name)
        np.testing.assert_array_equal(blitted, full, err_msg=name)
    assert figures.figures["amplitude"].axes[0].get_title().endswith("(grey: masked)") == masked


def test_a_visibility_past_one_gets_its_colour_bar_redrawn_and_stays_exact():
    maps = maps_of(masked=True, visibility_top=1.4)
    figures = F.FigureSet(["visibility", "mask"], UNITS, title="t", pixel_size_um=1.0)
    figures.prepare((60, 90))
    figures.add(maps)
    panel = figures._laid_out["visibility"][1]
    assert panel.redraw_optional and panel.shown_range[1] > 1 and figures.blitted == {"visibility"}
    np.testing.assert_array_equal(*blit_and_full_draw(figures, "visibility"))


def test_panels_not_prepared_or_prepared_for_another_shape_are_drawn_in_full():
    maps = maps_of(masked=True)
    unprepared = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    unprepared.add(maps)
    other_shape = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    other_shape.prepare((32, 48))
    other_shape.add(maps)
    assert not unprepared.blitted and not other_shape.blitted
    for name in other_shape.panels:
        np.testing.assert_array_equal(*blit_and_full_draw(other_shape, name), err_msg=name)


def _figure_with_colour_bar(note_x: float):
    """An image, its colour bar, and a text at ``note_x`` (figure fraction) right of the colour bar,
    drawn after it by a full draw (figure texts come after the axes)."""
    fig = F._new_figure((5.2, 4.3), 110)
    ax = fig.add_axes((0.1, 0.1, 0.55, 0.8))
    cax = fig.add_axes((0.68, 0.1, 0.03, 0.8))
    image = ax.imshow(np.zeros((20, 30)), vmin=0.0, vmax=1.0)
    cbar = fig.colorbar(image, cax=cax)
    cbar.set_label("value (unit)")
    fig.text(note_x, 0.5, "note", fontsize=8)
    return fig, image, cax


def test_a_colour_bar_whose_tick_labels_grow_into_a_later_artist_falls_back_to_a_full_draw():
    fig, image, cax = _figure_with_colour_bar(0.84)
    background = Background(fig, image=image, optional=(cax,))
    assert background.usable
    image.set_data(np.linspace(0, 1, 600).reshape(20, 30))
    assert background.render(redraw_optional=False)  # the laid-out colour bar, kept in the background
    blitted = np.asarray(fig.canvas.buffer_rgba()).copy()
    fig.canvas.draw()
    np.testing.assert_array_equal(blitted, np.asarray(fig.canvas.buffer_rgba()))
    image.set_clim(-123456.0, 987654.0)  # wider tick labels push the colour bar's label onto the note
    assert cax.get_tightbbox(fig.canvas.get_renderer()).x1 > 0.84 * fig.bbox.width
    assert not background.render(redraw_optional=True)
    image.set_clim(0.0, 0.5)  # as narrow as before: exact again
    assert background.render(redraw_optional=True)
    blitted = np.asarray(fig.canvas.buffer_rgba()).copy()
    fig.canvas.draw()
    np.testing.assert_array_equal(blitted, np.asarray(fig.canvas.buffer_rgba()))


def test_a_title_grown_into_a_later_artist_or_a_resized_canvas_falls_back_to_a_full_draw():
    fig, image, cax = _figure_with_colour_bar(0.95)
    ax = image.axes
    ax.set_title("short", y=1.0, pad=4)
    fig.canvas.draw()
    title = ax.title.get_window_extent(fig.canvas.get_renderer())
    # level with the title, left of it as it is, where a longer one goes; drawn after it by a full draw
    fig.text(0.02, (title.y0 + title.y1) / 2 / fig.bbox.height, "drawn after the title", fontsize=8, va="center")
    background = Background(fig, image=image, optional=(cax,))
    assert background.usable and background.render(redraw_optional=False)
    ax.set_title("a much longer title that reaches the left side", y=1.0, pad=4)
    assert not background.render(redraw_optional=False)
    ax.set_title("short", y=1.0, pad=4)
    fig.set_dpi(80)
    assert not background.render(redraw_optional=False)


def test_a_layout_whose_later_artists_lie_on_the_image_is_never_blitted():
    fig, image, cax = _figure_with_colour_bar(0.95)
    fig.text(0.3, 0.5, "over the image", fontsize=8)  # drawn after the image by a full draw, not redrawn
    assert not Background(fig, image=image, optional=(cax,)).usable


def test_pdf_and_svg_of_blitted_figures_still_hold_the_image_and_colour_bar(tmp_path):
    """savefig draws everything: nothing is left hidden after the background was rendered."""
    maps = maps_of(masked=True)
    figures = F.FigureSet(list(maps), UNITS, title="horse", pixel_size_um=1.0)
    figures.prepare((60, 90))
    figures.add(maps)
    assert "amplitude" in figures.blitted
    never_hidden = F.FigureSet(list(maps), UNITS, title="horse", pixel_size_um=1.0)
    never_hidden.add(maps)  # not prepared: nothing of it was ever hidden
    fig = figures.figures["amplitude"]

    def shown(figure):
        return [(type(a).__name__, a.get_visible(), a.get_animated())
                for ax in figure.axes for a in (ax, *ax.get_children())]
    assert shown(fig) == shown(never_hidden.figures["amplitude"])
    svg = io.BytesIO()
    fig.savefig(svg, format="svg")
    texts = re.findall(r"<!-- (.*?) -->", svg.getvalue().decode())
    assert svg.getvalue().count(b"<image") == 2  # the map and the colour bar's colours
    assert {"amplitude |t|  (grey: masked)", "amplitude |t| (dimensionless)", "10 \u00b5m", "horse"} <= set(texts)
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf")
    assert pdf.getvalue().count(b"/Subtype /Image") == 2
    paths = figures.write(["amplitude"], tmp_path / "r", ("png", "pdf", "svg"))
    assert [p.suffix for p in paths] == [".png", ".pdf", ".svg"] and all(p.stat().st_size > 1000 for p in paths)


def test_pngs_encoded_in_a_thread_while_the_next_figure_is_drawn_are_the_files_written_in_line(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    maps = maps_of(masked=True)
    in_line = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0)
    in_line.prepare((60, 90))
    expected = in_line.write(in_line.add(maps), tmp_path / "a", ("png", "svg"))
    with ThreadPoolExecutor(1) as encoder:
        threaded = F.FigureSet(list(maps), UNITS, title="t", pixel_size_um=1.0, encoder=encoder)
        threaded.prepare((60, 90))
        names = threaded.add(maps)
        assert set(threaded._encoded) == set(names)  # each begun before write() was called
        paths = threaded.write(names, tmp_path / "b", ("png", "svg"))
    assert [p.name[1:] for p in paths] == [p.name[1:] for p in expected]
    for mine, reference in zip(paths, expected):
        if mine.suffix == ".png":
            assert mine.read_bytes() == reference.read_bytes(), mine.name


def test_a_png_that_fails_to_encode_in_the_thread_fails_the_write():
    from concurrent.futures import Executor, Future

    class Failing(Executor):
        def submit(self, fn, /, *args, **kwargs):
            future = Future()
            future.set_exception(OSError("no space left on device"))
            return future

    maps = maps_of(masked=False)
    figures = F.FigureSet(["visibility"], UNITS, title="t", pixel_size_um=1.0, encoder=Failing())
    with pytest.raises(OSError, match="no space left"):
        figures.write(figures.add(maps), "unused", ("png",))


def test_backgrounds_stop_when_maps_wait_and_resume_when_idle():
    """A background costs more than the full draw it saves once the maps are there: ``prepare`` stops
    rendering them when told maps wait; those of panels whose maps are still to come are rendered later."""
    maps = maps_of(masked=True)
    names = ["visibility", "amplitude", "phase", "phase_unwrapped", "mask"]
    figures = F.FigureSet(names, UNITS, title="t", pixel_size_um=1.0)
    asked = []
    figures.prepare((60, 90), stop=lambda: len(asked) > 1 or asked.append(1))  # maps wait after two panels
    assert set(figures._backgrounds) == {"visibility", "amplitude"}
    figures.add({k: maps[k] for k in ("visibility", "amplitude", "phase", "mask")})
    assert figures.blitted == {"visibility", "amplitude"}  # phase and complex: drawn in full
    figures.render_backgrounds()  # idle before the unwrapped phase comes
    assert set(figures._backgrounds) == {"phase_unwrapped"}
    figures.add({"phase_unwrapped": maps["phase_unwrapped"]})
    assert figures.blitted == {"visibility", "amplitude", "phase_unwrapped"} and figures.complete
    for name in figures.panels:
        np.testing.assert_array_equal(*blit_and_full_draw(figures, name), err_msg=name)


def test_bench_figures_times_both_ways_and_refuses_bad_sizes_in_one_line(capsys):
    from app.cli import main

    assert main(["bench", "figures", "--size", "64", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "drawn in full (not prepared), baseline" in out and "full/blit: wall" in out
    assert main(["bench", "figures", "--size", "8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qiup: error: --size must be >= 16 and --repeats >= 1 (got 8, 7)"]


def test_a_background_that_cannot_be_made_between_jobs_only_costs_its_saving(monkeypatch):
    from app.storage import figure_blit, figure_worker

    maps = maps_of(masked=True)
    figures = F.FigureSet(["visibility", "amplitude", "mask"], UNITS, title="t", pixel_size_um=1.0)
    figures.prepare((60, 90), stop=lambda: True)  # the maps were already waiting: no background yet
    tries = []

    def broken(fig, **parts):
        tries.append(fig)
        raise MemoryError("no room for a background")

    monkeypatch.setattr(figure_blit, "Background", broken)
    figure_worker._idle({"key": figures}, waiting=lambda: False)  # between jobs: fails quietly
    assert len(tries) == 2  # one per panel
    figures.prepare((60, 90))  # a prepare job: the same (the job does not fail), not tried again
    assert len(tries) == 2
    assert figures.add(maps) == ["overview", "visibility", "amplitude"] and not figures.blitted
    for name in figures.panels:
        np.testing.assert_array_equal(*blit_and_full_draw(figures, name), err_msg=name)

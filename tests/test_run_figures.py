"""`qiup run` draws figures of a complete run after the bench is closed; they never fail the run."""

from __future__ import annotations

import re

import pytest

from app.cli import main
from app.cli import figure_process
from app.storage import read_run_file
from app.storage.figures import build_figures
from tests.test_engine_fixtures import small_config

FAST = ["--param", "frames_per_step=1", "--param", "steps=4"]
PER_MAP = ("visibility", "amplitude", "phase", "complex", "phase_unwrapped")


def _run(tmp_path, *extra: str) -> int:
    return main(["run", "--config", str(small_config(tmp_path)), *FAST, "--out", str(tmp_path / "out"), *extra])


def _run_files(tmp_path):
    return sorted((tmp_path / "out").glob("*.h5"))


@pytest.fixture
def submitted(monkeypatch):
    """Every job sent to the figure process, as (maps, units, keyword arguments); the jobs still run."""
    jobs = []
    real = figure_process.FigureWorker.submit

    def recording(self, maps, units, **kwargs):
        jobs.append((maps, units, kwargs))
        return real(self, maps, units, **kwargs)

    monkeypatch.setattr(figure_process.FigureWorker, "submit", recording)
    return jobs


def test_run_writes_an_overview_and_one_figure_per_map_next_to_the_run_file(tmp_path, capsys, submitted):
    assert _run(tmp_path) == 0
    out = capsys.readouterr().out
    (path,) = _run_files(tmp_path)
    stem = path.with_suffix("")
    expected = [f"{stem}-{name}.png" for name in ("overview", *PER_MAP)]
    for name in expected:
        assert (tmp_path / "out" / name).stat().st_size > 5000
        assert name in out
    figure_lines = [line for line in out.splitlines() if line.startswith("qiup: figures ")]
    assert len(figure_lines) == 1  # all paths on one line
    assert read_run_file(path).status == "complete"
    assert len(submitted) == 1


def test_figures_are_titled_with_sample_sequence_and_run_time_and_carry_a_scale_bar(tmp_path, capsys, submitted):
    assert _run(tmp_path) == 0
    (path,) = _run_files(tmp_path)
    run = read_run_file(path)
    ((maps, units, kwargs),) = submitted
    created = run.created  # e.g. 2026-11-30T18:46:08+0000 -> shown as 2026-11-30 18:46:08
    assert kwargs["title"] == f"horse \u2014 phase-stepping \u2014 {created[:10]} {created[11:19]}"
    assert kwargs["out_stem"] == path.with_suffix("") and kwargs["formats"] == ("png",)
    assert kwargs["pixel_size_um"] == run.object_pixel_size_um and run.object_pixel_size_um > 0
    assert units["depth_um"] == "um" and units["phase"] == "rad" and units["amplitude"] == "1"
    assert set(maps) == {"visibility", "amplitude", "phase", "phase_unwrapped", "mask"}
    assert maps["mask"].dtype == bool

    # the stored maps drawn the same way: titles name the sequence, every panel has a scale bar in um
    stored = {name: run[name] for name in ("visibility", "amplitude", "phase", "phase_unwrapped")}
    stored["mask"] = run["mask"].astype(bool)
    figures = build_figures(stored, units, title=kwargs["title"], pixel_size_um=kwargs["pixel_size_um"])
    assert set(figures) == {"overview", *PER_MAP}
    for fig in figures.values():
        assert "phase-stepping" in fig._suptitle.get_text()
    assert len(figures["overview"].images) == len(PER_MAP)  # the overview shows the per-map figures, drawn
    for name in PER_MAP:
        fig = figures[name]
        bars = [ax.scale_bar for ax in fig.axes if getattr(ax, "scale_bar", None) is not None]
        assert bars
        for bar in bars:
            length_px = bar.size_bar.get_children()[0].get_width()
            assert length_px * run.object_pixel_size_um == pytest.approx(bar.length_um, rel=1e-9)


def test_figures_none_draws_nothing_and_starts_no_figure_process(tmp_path, capsys, monkeypatch):
    def no_process():
        raise AssertionError("a figure process was started for --figures none")

    monkeypatch.setattr(figure_process, "FigureWorker", no_process)
    assert _run(tmp_path, "--figures", "none") == 0
    out = capsys.readouterr().out
    (path,) = _run_files(tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [path.name]
    assert "qiup: figures" not in out and read_run_file(path).status == "complete"


def test_pdf_and_svg_on_request(tmp_path, capsys):
    assert _run(tmp_path, "--figures", "pdf,svg") == 0
    (path,) = _run_files(tmp_path)
    stem = path.with_suffix("").name
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {f"{stem}-overview.pdf", f"{stem}-overview.svg", f"{stem}-phase.pdf", f"{stem}-phase.svg"} <= names
    assert not any(n.endswith(".png") for n in names)


def test_an_unknown_figure_format_is_one_line_before_anything_runs(tmp_path, capsys):
    code = _run(tmp_path, "--figures", "gif")
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "out").exists()
    assert err.count("\n") == 1 and "--figures" in err and "png, pdf, svg" in err


@pytest.mark.parametrize("failure", [figure_process.FigureError("OSError: [Errno 28] No space left on device"),
                                     OSError(28, "No space left on device")])
def test_a_figure_failure_leaves_the_run_complete_exit_0_and_says_so_in_one_line(tmp_path, capsys, monkeypatch,
                                                                                 failure):
    def fail(self):
        raise failure

    monkeypatch.setattr(figure_process.FigureWorker, "results", fail)
    assert _run(tmp_path) == 0
    captured = capsys.readouterr()
    (path,) = _run_files(tmp_path)
    assert read_run_file(path).status == "complete"
    assert f"run file {path} (complete)" in captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qiup: figures not written: ")
    assert "No space left on device" in lines[0] and "Traceback" not in captured.err


def test_figures_are_collected_only_after_the_bench_is_closed(tmp_path, capsys, monkeypatch):
    """The laser is off and the bench closed before the command waits for any figure."""
    import app.bench_factory as factory

    events = []
    real_open = factory.open_bench

    class Recorded:
        def __init__(self, loaded):
            self.inner = real_open(loaded)

        def __enter__(self):
            return self.inner.__enter__()

        def __exit__(self, *exc):
            result = self.inner.__exit__(*exc)
            events.append("bench closed")
            return result

    real_results = figure_process.FigureWorker.results

    def results(self):
        events.append("figures collected")
        return real_results(self)

    monkeypatch.setattr(factory, "open_bench", Recorded)
    monkeypatch.setattr(figure_process.FigureWorker, "results", results)
    assert _run(tmp_path) == 0
    assert events == ["bench closed", "figures collected"]


def test_two_runs_started_in_the_same_second_get_two_files_and_two_sets_of_figures(tmp_path, capsys, monkeypatch):
    from app.storage import creation

    monkeypatch.setattr(creation.time, "strftime", lambda fmt, *a: "20261130-120000")
    assert _run(tmp_path) == 0
    assert _run(tmp_path) == 0
    files = _run_files(tmp_path)
    assert [p.name for p in files] == ["20261130-120000-phase-stepping-1.h5", "20261130-120000-phase-stepping.h5"]
    for path in files:
        assert read_run_file(path).status == "complete"
        assert (path.with_name(f"{path.stem}-overview.png")).exists()
    out = capsys.readouterr().out
    assert len(re.findall(r"qiup: figures ", out)) == 2


def test_a_reserved_name_whose_run_never_started_is_released_and_no_other_file(tmp_path):
    from app.storage import new_run_path, release_unused_name

    path = new_run_path(tmp_path, "x")
    assert path.exists()  # reserved
    release_unused_name(path)
    assert not path.exists()
    assert new_run_path(tmp_path, "x") == path  # the name is free again
    other = tmp_path / "y.h5"
    other.write_bytes(b"qiup: run file name reserved by pid 1 on another-host")  # another process's reservation
    release_unused_name(other)
    release_unused_name(None)
    assert other.exists()


def test_resume_draws_the_figures_of_the_run_it_completes(tmp_path, capsys, submitted):
    from app.bench_factory import open_bench
    from app.engine import Runner
    from tests.test_engine_fixtures import abort_after_frames, small_loaded

    path = tmp_path / "aborted.h5"
    with open_bench(small_loaded(tmp_path, **{"power_ramp_time_s = 0.3": "power_ramp_time_s = 0.0"})) as bench:
        runner = Runner(bench)
        abort_after_frames(runner, 6)
        assert runner.run("phase-stepping", {"frames_per_step": 2, "dark_frames": 2}, path=path).status == "aborted"
    assert not list(tmp_path.glob("aborted-*.png"))  # an incomplete run gets no figures
    assert main(["resume", str(path)]) == 0
    out = capsys.readouterr().out
    assert read_run_file(path).status == "complete"
    for name in ("overview", *PER_MAP):
        assert (tmp_path / f"aborted-{name}.png").exists() and f"aborted-{name}.png" in out
    ((_, _, kwargs),) = submitted
    assert "phase-stepping" in kwargs["title"] and kwargs["out_stem"] == tmp_path / "aborted"


def test_maps_that_cannot_be_prepared_are_one_line_and_the_run_stays_complete(tmp_path, capsys, monkeypatch):
    import app.storage

    def unreadable(path):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(app.storage, "read_run_file", unreadable)  # what figure preparation reads
    assert _run(tmp_path) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qiup: figures not written: ") and "Input/output error" in lines[0]
    monkeypatch.undo()
    (path,) = _run_files(tmp_path)
    assert read_run_file(path).status == "complete"

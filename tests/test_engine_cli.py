"""The command line around the engine: devices, sequence files, the progress bar and ``qiup start``."""

import io

import h5py

from app.cli import main
from app.cli.run_cmd import ProgressPrinter
from app.engine.events import Progress
from tests.test_engine_fixtures import small_config


def test_devices_lists_identity_and_status_of_every_device(tmp_path, capsys):
    assert main(["devices", "--config", str(small_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    for role in ("laser", "phase_piezo", "delay_stage", "sample_stage", "slm", "camera"):
        assert f"  {role}" in out
    assert "qiup simulated CW pump laser  serial SIM-laser  firmware sim-" in out
    assert "emission=False" in out


def test_a_sequence_file_runs_its_sequences_in_order_one_file_each(tmp_path, capsys):
    seq = tmp_path / "plan.toml"
    seq.write_text('[[sequence]]\nname = "dark"\nframes = 2\n\n'
                   '[[sequence]]\nname = "phase-stepping"\nframes_per_step = 1\ndark_frames = 1\n', encoding="utf-8")
    assert main(["run", "--config", str(small_config(tmp_path)), "--sequence-file", str(seq),
                 "--out", str(tmp_path / "out")]) == 0
    files = sorted((tmp_path / "out").glob("*.h5"), key=lambda p: p.stat().st_mtime)
    assert [f.name.split("-", 2)[-1] for f in files] == ["dark.h5", "phase-stepping.h5"]
    for f in files:
        with h5py.File(f, "r") as h5:
            assert h5.attrs["status"] == "complete"
    out = capsys.readouterr().out
    assert out.index("qiup: dark on") < out.index("qiup: phase-stepping on")


def test_progress_bar_on_a_terminal_and_lines_elsewhere():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, log = Tty(), io.StringIO()
    for stream in (tty, log):
        printer = ProgressPrinter(stream)
        for done in (1, 5, 10):
            printer.on_progress(Progress(done, 10, done * 0.5, (10 - done) * 0.5, "sample"))
    assert "\r[" + "#" * 28 + "]" in tty.getvalue() and "ETA 0:00" in tty.getvalue()
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].strip().startswith("sample") and "100.0 %" in lines[-1]


def test_qiup_start_headless_still_runs_the_demo(tmp_path, capsys):
    assert main(["start", "--headless", "--config", str(small_config(tmp_path)), "--out", str(tmp_path)]) == 0
    (path,) = tmp_path.glob("*-phase-stepping.h5")
    with h5py.File(path, "r") as h5:
        assert h5.attrs["status"] == "complete"

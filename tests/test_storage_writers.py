"""One writer per file: run files are created exclusively, names are reserved atomically, reprocess never
writes onto its input, resume refuses a live writer before it touches the bench; damaged files get one line."""

import hashlib
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import h5py
import numpy as np
import pytest
import tifffile

import app.bench_factory as bench_factory
from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import RunWriteError, new_run_path, read_run_file
from tests.helpers import ROOT
from tests.test_engine_fixtures import small_config, small_loaded

PARAMS = {"frames_per_step": 2, "dark_frames": 1}


@pytest.fixture(scope="module")
def complete_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("writers")
    with open_bench(small_loaded(tmp)) as bench:
        result = Runner(bench).run("phase-stepping", PARAMS, path=tmp / "done.h5")
    assert result.status == "complete"
    return result.path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(capsys, *expected):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and all(e in err for e in expected), err
    return err


def test_a_second_writer_on_a_live_run_file_is_refused_and_the_first_run_is_intact(tmp_path):
    path = tmp_path / "shared.h5"
    with open_bench(small_loaded(tmp_path, name="a.toml")) as bench_a, \
            open_bench(small_loaded(tmp_path, name="b.toml")) as bench_b:
        first = Runner(bench_a)
        first.start("phase-stepping", {"frames_per_step": 40}, path=path)
        while not path.exists():
            time.sleep(0.01)
        with pytest.raises(RunWriteError, match="shared.h5: already exists; run files are never overwritten"):
            Runner(bench_b).run("phase-stepping", PARAMS, path=path)
        assert not bench_b.world.state.laser_emission
        result = first.wait()
    assert result.status == "complete"
    run = read_run_file(path)
    assert run.status == "complete" and run.counts["sample"].tolist() == [40, 40, 40, 40]


def test_run_names_are_reserved_atomically_by_concurrent_callers(tmp_path):
    paths, barrier = [], threading.Barrier(8)

    def take():
        barrier.wait()
        paths.append(new_run_path(tmp_path, "20261130-120000-phase-stepping"))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(p.name for p in paths)
    assert len(set(names)) == 8 and "20261130-120000-phase-stepping.h5" in names
    assert "20261130-120000-phase-stepping-7.h5" in names and all(p.exists() for p in paths)


def test_a_run_name_in_a_folder_that_cannot_hold_files_is_one_line_naming_the_folder(tmp_path):
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_text("a file where the runs folder should be")
    with pytest.raises(RunWriteError, match=r"runs: cannot write run files there \(Not a directory\)$"):
        new_run_path(not_a_folder, "20261201-120000-phase-stepping")


def test_a_reserved_name_is_written_by_its_owner_and_refused_to_another_process(tmp_path):
    path = new_run_path(tmp_path, "mine")
    other = textwrap.dedent(f"""
        from app.bench_factory import open_bench
        from app.config import load_config
        from app.engine import Runner
        from app.storage import RunWriteError
        with open_bench(load_config({str(small_config(tmp_path, name="o.toml"))!r})) as bench:
            try:
                Runner(bench).run("phase-stepping", {PARAMS!r}, path={str(path)!r})
            except RunWriteError as exc:
                print(exc)
    """)
    proc = subprocess.run([sys.executable, "-c", other], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "mine.h5: already exists" in proc.stdout, proc.stderr
    with open_bench(small_loaded(tmp_path)) as bench:
        assert Runner(bench).run("phase-stepping", PARAMS, path=path).status == "complete"


# ------------------------------------------------------------------------------ reprocess --out
def test_reprocess_never_writes_onto_its_run_file_input_by_any_path(complete_run, tmp_path, capsys):
    before = _digest(complete_run)
    link = tmp_path / "alias.h5"
    link.symlink_to(complete_run)
    for out in (complete_run, link):
        assert main(["reprocess", str(complete_run), "--out", str(out)]) == 2
        _one_line(capsys, f"--out {out} is the input", "never overwrites its input")
    assert _digest(complete_run) == before


def test_reprocess_never_writes_onto_its_tiff_inputs(tmp_path, capsys):
    frames, dark = tmp_path / "s.tif", tmp_path / "d.tif"
    tifffile.imwrite(frames, np.full((8, 12, 12), 500, np.uint16))
    tifffile.imwrite(dark, np.full((2, 12, 12), 100, np.uint16))
    before = _digest(frames), _digest(dark)
    for out in (frames, dark):
        assert main(["reprocess", "--frames", str(frames), "--dark", str(dark), "--steps", "4", "--out", str(out)]) == 2
        _one_line(capsys, "is the input")
    assert (_digest(frames), _digest(dark)) == before


def test_reprocess_out_a_folder_or_another_run_file_is_refused(complete_run, tmp_path, capsys):
    assert main(["reprocess", str(complete_run), "--out", str(tmp_path)]) == 2
    _one_line(capsys, f"--out {tmp_path}: is a folder")
    other = tmp_path / "other-run.h5"
    shutil.copy(complete_run, other)
    assert main(["reprocess", str(complete_run), "--out", str(other)]) == 2
    _one_line(capsys, "exists and is not a qiup reprocess results file")
    out = tmp_path / "re.h5"  # a results file may be replaced by a newer reprocessing
    assert main(["reprocess", str(complete_run), "--out", str(out)]) == 0
    assert main(["reprocess", str(complete_run), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "results file of qiup reprocess" in text
    assert re.search(r"^    phase +\(64, 64\) +float32 +16\.0 kB +rad$", text, re.M), text


# ------------------------------------------------------------------------------ damaged files
@pytest.mark.parametrize("damage, message", [
    (lambda h5: h5.__delitem__("runs/sample/slot_crc32"), "/runs/sample/slot_crc32 is missing"),
    (lambda h5: h5.__delitem__("commit/record_1"), "/commit/record_1 is missing"),
    (lambda h5: h5.__delitem__("failure"), "/failure is missing"),
    (lambda h5: h5.attrs.__delitem__("plan_json"), "attribute /plan_json is missing"),
    (lambda h5: h5["runs/reference"].attrs.__delitem__("kind"), "attribute /runs/reference/kind is missing"),
])
def test_info_reprocess_and_resume_on_a_file_missing_a_part_give_one_line(complete_run, tmp_path, capsys,
                                                                          monkeypatch, damage, message):
    path = tmp_path / "damaged.h5"
    shutil.copy(complete_run, path)
    with h5py.File(path, "r+") as h5:
        damage(h5)
        h5["status"][()] = np.bytes_("aborted")
    monkeypatch.setattr(bench_factory, "open_bench", lambda *a, **k: pytest.fail("resume opened the bench"))
    for argv in (["info", str(path)], ["resume", str(path)], ["reprocess", str(path), "--out", str(tmp_path / "r.h5")]):
        assert main(argv) == 2, argv
        _one_line(capsys, str(path), message)


LIVE_WRITER = textwrap.dedent("""
    import sys
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine import Runner
    with open_bench(load_config(sys.argv[1])) as bench:
        Runner(bench).run("phase-stepping", {"frames_per_step": 100000, "dark_frames": 1}, path=sys.argv[2])
""")


def _committed(path) -> bool:
    try:
        return read_run_file(path).blocks_done > 0
    except Exception:  # noqa: BLE001 - not created yet
        return False


def test_resume_of_a_file_whose_writer_is_alive_is_refused_before_the_bench_is_opened(tmp_path, capsys, monkeypatch):
    path = tmp_path / "live.h5"
    writer = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(small_config(tmp_path)), str(path)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _committed(path):
            assert time.monotonic() < deadline, "the writer never committed a block"
            time.sleep(0.05)
        monkeypatch.setattr(bench_factory, "open_bench", lambda *a, **k: pytest.fail("resume opened the bench"))
        assert main(["resume", str(path)]) == 2
        _one_line(capsys, f"its writer (pid {writer.pid} on ", "is still running")
    finally:
        writer.kill()
        writer.wait()
    assert read_run_file(path).status == "running"  # untouched by the refused resume

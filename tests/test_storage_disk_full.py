"""A full disk (or a file-size limit) during a run: the run stops within one block with the laser off,
the file says ``failed`` and why, every committed block is intact, and resume finishes it correctly."""

import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import RunWriteError, planned_size_bytes, read_run_file
from tests.helpers import ROOT
from tests.test_engine_fixtures import small_config, small_loaded
from tests.test_storage_commit import NO_RAMP, _sums_equal_raw_frames

PARAMS = {"frames_per_step": 4, "cycles": 4, "dark_frames": 2, "save_raw_frames": True, "raw_compression": "none"}
FILL_AT_FRAME = 9  # in the reference's first cycle

CHILD = textwrap.dedent("""
    import json, os, resource, signal, sys
    from pathlib import Path
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine import Runner

    config, path, params, mode, fill_at = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing us
    seen = {"frames": 0, "after_fill": 0, "filled": False}
    def fill(_data, _info):
        seen["frames"] += 1
        if seen["filled"]:
            seen["after_fill"] += 1
        elif seen["frames"] == fill_at:
            seen["filled"] = True
            if mode == "rlimit":
                resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 4096, resource.RLIM_INFINITY))
            else:  # another program fills the disk
                fd = os.open(path.parent / "ballast", os.O_WRONLY | os.O_CREAT)
                try:
                    while True:
                        os.write(fd, b"x" * 4096)
                except OSError:
                    os.close(fd)
    with open_bench(load_config(config)) as bench:
        runner = Runner(bench)
        runner.events.frame_acquired.connect(fill)
        result = runner.run("phase-stepping", params, path=path, raise_on_error=False)
        laser_on = bench.world.state.laser_emission
    print(json.dumps({"status": result.status, "error": result.error, "laser_on": laser_on, **seen}))
""")


@pytest.fixture(params=["tmpfs", "rlimit"])
def small_disk(request, tmp_path):
    """A folder whose writes fail when full: a 3 MB tmpfs where mounting works, else any folder + RLIMIT_FSIZE."""
    if request.param == "rlimit":
        yield "rlimit", tmp_path
        return
    mount = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the rlimit case covers it")
    try:
        yield "tmpfs", mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_disk_that_fills_during_a_run_stops_it_cleanly_and_resume_completes_it(small_disk, tmp_path, capsys):
    mode, folder = small_disk
    config = small_config(tmp_path, **NO_RAMP)
    path = folder / "full.h5"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(config), str(path), json.dumps(PARAMS), mode,
                           str(FILL_AT_FRAME)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]  # no segfault, no traceback
    assert "Traceback" not in proc.stderr and "HDF5-DIAG" not in proc.stderr, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    cause = "disk full" if mode == "tmpfs" else "file size limit reached"
    assert summary["status"] == "failed" and cause in summary["error"], summary
    assert "\n" not in summary["error"] and str(path) in summary["error"]
    assert summary["laser_on"] is False
    assert summary["after_fill"] <= 2, summary  # stopped within one block (blocks are 1 frame)
    run = read_run_file(path)
    assert run.status == "failed" and cause in run.failure
    assert 0 < run.frames_done <= FILL_AT_FRAME
    _sums_equal_raw_frames(path)  # every block committed before the failure is intact
    if mode == "tmpfs":
        (folder / "ballast").unlink()  # the user frees space
    assert main(["resume", str(path)]) == 0, capsys.readouterr().err
    done = read_run_file(path)
    assert done.status == "complete" and done.frames_done == done.total_frames
    _sums_equal_raw_frames(path)


def test_a_run_that_cannot_fit_is_refused_before_anything_moves(tmp_path, monkeypatch):
    import app.storage.runfile as runfile

    free = 3 * 2**20
    monkeypatch.setattr(runfile, "free_bytes", lambda _path: free)  # a 3 MB disk
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        params = {"frames_per_step": 64, "save_raw_frames": True}
        _, plan = runner.plan("phase-stepping", params)
        raw_bytes = plan.total_frames() * 64 * 64 * 2
        assert raw_bytes < planned_size_bytes(plan, True) < raw_bytes + 2 * 2**20  # raw frames + sums + results
        with pytest.raises(RunWriteError, match=r"^disk full: the run needs about \d+\.\d MB, 3\.0 MB free on "):
            runner.run("phase-stepping", params, path=tmp_path / "big.h5")
        assert not bench.world.state.laser_emission
        assert not (tmp_path / "big.h5").exists()
        params["save_raw_frames"] = False  # without raw frames it fits
        assert runner.run("phase-stepping", params, path=tmp_path / "small.h5").status == "complete"

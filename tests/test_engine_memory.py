"""Long runs in bounded memory (issue 9, item 7): one stage's sums at a time, stacked results on disk."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from app.bench_factory import open_bench
from app.engine import Runner
from app.engine import acquire as acquire_module
from app.storage import open_run_file
from tests.test_engine_fixtures import small_loaded

TS = {"frames_per_step": 2, "repeats": 6, "dark_frames": 2}
STACKED = ("visibility", "amplitude", "phase", "phase_unwrapped", "sigma_phase", "sigma_visibility",
           "sigma_amplitude", "mask", "hot_pixels", "saturated")


def test_only_the_current_stages_sums_are_held(tmp_path, monkeypatch):
    alive = weakref.WeakSet()

    class Tracked(acquire_module.StageSums):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            alive.add(self)

    monkeypatch.setattr(acquire_module, "StageSums", Tracked)
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        held = []

        def on_step(info):
            gc.collect()
            held.append(len(alive))

        runner.events.step_done.connect(on_step)
        result = runner.run("time-series", TS, path=tmp_path / "ts.h5")
    assert result.status == "complete"
    assert len(held) == 1 + 7 * 4 * 2 and max(held) == 1  # dark, reference, 6 repeats: never two stages' sums


def test_stacked_results_are_read_from_the_file_not_kept_in_memory(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        on_file = Runner(bench).run("time-series", TS, path=tmp_path / "ts.h5")
        in_memory = Runner(bench).run("time-series", TS)
    for name in STACKED:
        assert name not in on_file.results and name in on_file  # not held, but available
    amplitude = on_file["amplitude"]
    with open_run_file(tmp_path / "ts.h5") as h5:
        np.testing.assert_array_equal(amplitude, h5["results/amplitude"][()])
    assert amplitude.shape == (6, 64, 64) and np.isfinite(amplitude).all()
    assert "dark" in on_file.results and "reference_visibility" in on_file.results  # small results stay in memory
    # a run without a file keeps what it computes
    assert in_memory.path is None and in_memory.results["amplitude"].shape == (6, 64, 64)
    assert np.isfinite(in_memory["amplitude"]).all()


def test_the_peak_memory_of_a_time_series_with_a_file_does_not_grow_with_its_repeats(tmp_path):
    import tracemalloc

    def peak_bytes(runner, repeats: int) -> int:
        tracemalloc.start()
        try:
            result = runner.run("time-series", {"frames_per_step": 1, "repeats": repeats, "steps": 3, "dark_frames": 1},
                                path=tmp_path / f"long-{repeats}.h5")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert result.status == "complete"

    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench, preview_interval_s=None)
        peak_bytes(runner, 1)  # the simulator fills its caches on the first frames
        short, long = peak_bytes(runner, 2), peak_bytes(runner, 20)
    stacked_growth = 18 * 64 * 64 * (7 * 4 + 3 * 1)  # 7 float32 and 3 uint8 maps per extra repeat: 2.3 MB
    assert long - short < stacked_growth / 4, (short, long)

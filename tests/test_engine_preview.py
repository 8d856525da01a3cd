"""Maps that sharpen while a stage accumulates (issue 9, item 5), against the final result and 1/sqrt(n)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner
from tests.test_engine_fixtures import small_loaded

F, CYCLES, STEPS = 16, 4, 4  # the sample stage: 4 cycles of 4 steps x 4 frames


def _wait_for_preview(runner, stage: str, frames: int, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        latest = runner.latest_maps()
        if latest is not None and latest.value.stage == stage and latest.value.frames == frames:
            return latest.value
        time.sleep(0.002)
    raise AssertionError(f"no preview of {stage} at {frames} frames")


@pytest.mark.parametrize("reference", [False, True])
def test_previews_sharpen_as_sqrt_frames_and_the_last_equals_the_final_result(tmp_path, reference):
    with open_bench(small_loaded(tmp_path, sample="phase-bump")) as bench:
        runner = Runner(bench, preview_interval_s=0.0, preview_duty=1e9)  # a snapshot after every frame
        early = {}

        def on_step(info):  # worker thread: after the sample stage's first whole cycle, wait for its preview
            if info.stage == "sample" and info.cycle == 0 and info.step == STEPS - 1:
                early["maps"] = _wait_for_preview(runner, "sample", STEPS * F // CYCLES)

        runner.events.step_done.connect(on_step)
        params = {"frames_per_step": F, "cycles": CYCLES, "dark_frames": 8, "reference": reference}
        result = runner.run("phase-stepping", params, path=tmp_path / "p.h5")
    last = runner.latest_maps().value
    assert result.status == "complete"
    assert last.stage == "sample" and last.final and last.frames == STEPS * F and last.step_counts == (F,) * STEPS
    # the preview of the complete sums is the written result (same sums, same maths)
    np.testing.assert_array_equal(last.visibility, result["visibility"])
    np.testing.assert_array_equal(last.phase_rad, result["phase"])
    np.testing.assert_array_equal(last.sigma_phase_rad, result["sigma_phase"])
    first = early["maps"]
    assert first.step_counts == (F // CYCLES,) * STEPS and not first.final
    assert not first.visibility.flags.writeable  # published read-only
    if not reference:  # sample-only sigma: shot + read noise shrink as 1/sqrt(frames)
        use = result["mask"].astype(bool) & np.isfinite(first.sigma_phase_rad)
        ratio = np.median(first.sigma_phase_rad[use] / last.sigma_phase_rad[use])
        assert ratio == pytest.approx(np.sqrt(last.frames / first.frames), rel=0.03)


def test_previews_are_published_at_a_bounded_rate(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench, preview_interval_s=3600.0)
        result = runner.run("phase-stepping", {"frames_per_step": 8, "dark_frames": 2}, path=tmp_path / "r.h5")
    assert result.status == "complete"
    # with an hour between previews: the first frame of each stepped stage and each stage's final sums
    # (reference, sample), at most 4 previews for 64 stepped frames
    assert runner.latest_maps().seq <= 4

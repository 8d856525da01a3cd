"""The phase-stepping run: dark (laser off), reference (sample out), sample; then |t| and phase.

Every exit path (return, exception, KeyboardInterrupt) switches laser emission off before leaving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.bench_factory import Bench
from app.engine.params import PhaseSteppingParams
from app.pipeline import ObjectMaps, StepAccumulator, demodulate, equal_step_phases_rad, normalise_by_reference
from app.storage import RunFile
from drivers.interfaces import DeviceError

Progress = Callable[[str, int, int], None]  # (stage label, frames done, frames total)


@dataclass(frozen=True)
class PhaseSteppingResult:
    maps: ObjectMaps
    dark_adu: np.ndarray
    reference_visibility: np.ndarray


def piezo_voltages(bench: Bench, steps: int) -> np.ndarray:
    """Piezo setpoints of N equal steps over one fringe, from the calibration; checked against limits."""
    cal = bench.config.settings.calibration
    volts = cal.piezo_start_v + cal.piezo_volts_per_2pi * equal_step_phases_rad(steps) / (2 * np.pi)
    for v in volts:
        bench.phase_piezo.check_in_limits(float(v))
    return volts


def run_phase_stepping(bench: Bench, params: PhaseSteppingParams, run_file: RunFile,
                       progress: Progress = lambda *_: None) -> PhaseSteppingResult:
    cal = bench.config.settings.calibration
    volts = piezo_voltages(bench, params.steps)
    if bench.sample_stage is None:
        raise DeviceError("the reference run needs a [sample_stage] to take the sample out of the beam")
    laser, camera = bench.laser, bench.camera
    total = 3 * params.steps * params.frames_per_step
    counter = _Counter(progress, total)
    try:
        if params.exposure_s is not None:
            camera.set_exposure_s(params.exposure_s)
        laser.set_power_w(params.laser_power_w or cal.laser_power_w)
        camera.set_trigger_mode("free_run")
        camera.start()

        laser.set_emission(False)
        dark_acc = _acquire(bench, volts, params, counter, "dark")
        run_file.write_step_sums("dark", dark_acc.sums, dark_acc.counts, laser_emission=False)
        dark = dark_acc.sums.sum(axis=0) / dark_acc.total_frames()

        laser.set_emission(True)
        bench.sample_stage.move_to(cal.sample_out_position_um)
        ref_acc = _acquire(bench, volts, params, counter, "reference")
        run_file.write_step_sums("reference", ref_acc.sums, ref_acc.counts, piezo_v=volts)

        bench.sample_stage.move_to(cal.sample_in_position_um)
        sample_acc = _acquire(bench, volts, params, counter, "sample")
        run_file.write_step_sums("sample", sample_acc.sums, sample_acc.counts, piezo_v=volts)
    finally:
        _laser_off(bench)
        camera.stop()

    reference = demodulate(ref_acc.mean_frames(dark))
    sample = demodulate(sample_acc.mean_frames(dark))
    maps = normalise_by_reference(sample, reference, min_reference_visibility=params.min_reference_visibility)
    for name, data, unit in (
        ("visibility", maps.visibility, "1"),
        ("amplitude", maps.amplitude, "1"),
        ("phase", maps.phase_rad, "rad"),
        ("reference_visibility", reference.visibility, "1"),
        ("dark", dark, "ADU"),
    ):
        run_file.write_result(name, data.astype(np.float32), unit=unit)
    run_file.write_result("mask", maps.mask, unit="bool")
    return PhaseSteppingResult(maps=maps, dark_adu=dark, reference_visibility=reference.visibility)


def _acquire(bench: Bench, volts: np.ndarray, params: PhaseSteppingParams, counter: "_Counter", label: str) -> StepAccumulator:
    acc = StepAccumulator(len(volts), bench.camera.frame_shape())
    for step, v in enumerate(volts):
        bench.phase_piezo.move_to(float(v))
        bench.phase_piezo.wait_settled()
        for _ in range(params.frames_per_step):
            frame = bench.camera.read_frame(timeout_s=params.frame_timeout_s)
            acc.add(step, frame.data)
            counter.tick(label)
    return acc


def _laser_off(bench: Bench) -> None:
    try:
        bench.laser.set_emission(False)
    except Exception:
        bench.laser.close()  # close() is the contract's last resort: it leaves emission off


class _Counter:
    def __init__(self, progress: Progress, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def tick(self, label: str) -> None:
        self.done += 1
        self.progress(label, self.done, self.total)

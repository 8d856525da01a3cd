"""Simulated phase-stepping acquisitions with their ground truth, for the benchmark and the tests.

Frames come from the simulated bench through the device contracts (laser, piezo, sample stage,
camera); the truth (expected photoelectrons per step, read noise, transmission) comes from the
simulated world, never from the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.pipeline.accumulate import StepAccumulator
from app.pipeline.demodulate import equal_step_phases_rad
from app.pipeline.reconstruct import RunSums

SIM_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "simulation.toml"


@dataclass
class SimulatedRun:
    """Sums of one phase-stepped run, optionally its raw frames (step-major), and the truth."""

    sums: RunSums
    frames: list[np.ndarray] = field(default_factory=list)
    expected_e: np.ndarray | None = None  # (N, h, w) mean photoelectrons per frame at each step


@dataclass
class SimulatedAcquisition:
    dark: SimulatedRun
    reference: SimulatedRun
    sample: SimulatedRun
    transmission: np.ndarray  # complex t(x) on the ROI
    illuminated: np.ndarray  # bool (h, w)
    read_noise_e: np.ndarray  # (h, w) per-pixel read noise
    gain_e_per_adu: float


def _config_text(sample: str, ideal_imaging: bool) -> str:
    """The default simulation config with ``sample``; ``ideal_imaging`` turns the coherent PSF off
    (where the simulator has that switch) so that |t| itself is what the camera can resolve."""
    import re

    text = SIM_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^sample\s*=\s*"[^"]*"', f'sample = "{sample}"', text, count=1)
    if ideal_imaging and _simulator_has_psf_switch() and not re.search(r"(?m)^psf\s*=", text):
        text = text.replace("[simulation]\n", "[simulation]\npsf = false\n", 1)
    return text


def _simulator_has_psf_switch() -> bool:
    from app.config import schema

    model = getattr(schema, "SimulationConfig", None)
    return model is not None and "psf" in getattr(model, "model_fields", {})


def acquire(sample: str = "phase-bump", *, roi_size: int = 256, steps: int = 4, frames_per_step: int = 4,
            keep_frames: bool = False, ideal_imaging: bool = True, tmp_dir: Path | None = None,
            stepper: str = "piezo", slm_lut: str = "integer") -> SimulatedAcquisition:
    """Dark, reference and sample runs on the simulated bench (central ROI of ``roi_size`` pixels).

    ``stepper="slm"``: the piezo stays at its first setpoint and the SLM adds a uniform phase (step /
    passes) per step, as ``phase_stepper = "slm"`` does, through the panel's calibrated (ideal) LUT, dithered
    (the SLM's default; ``slm_lut``: "integer", whole gray levels as LUT files hold them, or "fractional",
    the unrounded calibration, which dithering realises to within a gray level). The
    simulated SLM acts through the coherent PSF only, so imaging is not ideal then and the truth is the
    object as the interferometer sees it (``effective_transmission``: blurred, with the SLM's phase)."""
    if stepper == "slm":
        ideal_imaging = False
    import tempfile

    from app.bench_factory import open_bench
    from app.engine.acquire_step import StepAcquirer, switch_pump
    from app.config import load_config
    from drivers.interfaces import Roi
    from sim_backends.optics import expected_electrons

    with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(_config_text(sample, ideal_imaging), encoding="utf-8")
        loaded = load_config(path)
    cal = loaded.settings.calibration
    volts = cal.piezo_start + cal.piezo_travel_per_2pi * equal_step_phases_rad(steps) / (2 * np.pi)
    with open_bench(loaded) as bench:
        cam, world = bench.camera, bench.world
        h, w = cam.sensor_shape()
        roi = Roi((w - roi_size) // 2, (h - roi_size) // 2, roi_size, roi_size)
        cam.set_roi(roi)
        slices = (slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width))
        exposure_s = cam.exposure_s()
        if cal.zero_path_delay_um is not None:  # fringes only near zero path difference
            bench.delay_stage.move_to(cal.zero_path_delay_um)
        cam.start()
        acquirer = StepAcquirer(bench, frame_timeout_s=5.0)
        slm_steps = None
        if stepper == "slm":
            from app.engine.acquire import slm_step_mask

            bench.slm.lut = bench.slm.ideal_lut(fractional=slm_lut == "fractional")
            base = np.zeros(bench.slm.shape)
            slm_steps = [slm_step_mask(base, phi / world.pass_count) for phi in equal_step_phases_rad(steps)]
            volts = np.full(steps, volts[0])

        def run(emission: bool, sample_in: bool) -> SimulatedRun:
            # the pump ramps after emission on; the truth below assumes its setpoint
            switch_pump(bench, on=emission, power_w=cal.laser_power_w, settle_fraction=1e-6)
            bench.sample_stage.move_to(cal.sample_in_position_um if sample_in else cal.sample_out_position_um)
            acc = StepAccumulator(steps, (roi_size, roi_size))
            out = SimulatedRun(sums=None)  # type: ignore[arg-type]
            expected = []
            for k, v in enumerate(volts):
                if slm_steps is not None:
                    bench.slm.show(slm_steps[k], wait=True, label=f"phase step {k}")
                _, frames = acquirer.take(float(v), frames_per_step, laser_on=emission)
                expected.append(np.asarray(expected_electrons(world, slices, exposure_s), np.float64))
                for taken in frames:
                    frame = taken.data
                    acc.add(k, frame)
                    if keep_frames:
                        out.frames.append(frame.copy())
            out.sums = RunSums(acc.sums.copy(), acc.counts.copy(), acc.saturated.copy())
            out.expected_e = np.stack(expected)
            return out

        try:
            dark = run(False, False)
            reference = run(True, False)
            sample_run = run(True, True)
            transmission = np.asarray(world.transmission_truth(slices) if slm_steps is None
                                      else world.optics.effective_transmission(slices))
        finally:
            bench.laser.set_emission(False)
            cam.stop()
        camera_cfg = world.camera
        return SimulatedAcquisition(
            dark=dark, reference=reference, sample=sample_run, transmission=transmission,
            illuminated=np.asarray(world.illuminated_mask(slices)),
            read_noise_e=np.asarray(world.read_noise_map_e[slices], np.float64),
            gain_e_per_adu=float(camera_cfg.gain_e_per_adu),
        )


def truth_limits(run: SimulatedRun, acq: SimulatedAcquisition) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N_e over all frames, true visibility, sigma_phase limit) of one run, from the simulator's truth.

    sigma_phase^2 = 2 (N_e + n_frames sigma_r^2) / (N_e V)^2 (DESIGN.md section 5).
    """
    counts = np.asarray(run.sums.counts, np.float64)
    signal = run.expected_e - acq.dark.expected_e.mean(axis=0)  # (N, h, w) photoelectrons from the light
    steps = signal.shape[0]
    theta = equal_step_phases_rad(steps)
    n_e = np.tensordot(counts, signal, axes=1)
    z = np.tensordot(np.exp(-1j * theta), signal, axes=1)
    v_true = 2 * np.abs(z) / signal.sum(axis=0)
    n_frames = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.sqrt(2 * (n_e + n_frames * acq.read_noise_e**2)) / (n_e * v_true)
    return n_e, v_true, limit

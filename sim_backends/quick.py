"""A connected simulated bench without a config file, for tests, benchmarks and notebooks.

    bench = quick_bench(sample="usaf", pump_waist_um=750, roi=(768, 768, 512, 512))
    bench.laser.set_emission(True); frame = bench.camera.read_frame()

Zero path difference is at delay 0 (where the stage starts) unless ``zero_path_delay_um`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim_backends.settings import RoiConfig, SimCameraConfig, SimulationConfig
from sim_backends.devices import SimCamera, SimDelayStage, SimLaser, SimPiezo, SimSampleStage, SimSlm
from sim_backends.world import SimulatedBench


@dataclass
class QuickBench:
    world: SimulatedBench
    laser: SimLaser
    phase_piezo: SimPiezo
    delay_stage: SimDelayStage
    sample_stage: SimSampleStage
    slm: SimSlm
    camera: SimCamera


def quick_bench(*, roi: tuple[int, int, int, int] = (768, 768, 512, 512), camera: dict | None = None,
                laser: dict | None = None, slm: dict | None = None, power_w: float = 0.1, delay_um: float | None = None,
                **simulation) -> QuickBench:
    """World from ``SimulationConfig(**simulation)``; devices connected, laser at ``power_w`` (emission off).
    ``slm`` holds SimSlm keywords (bits, gray_at_2pi, s_curve, crosstalk_sigma_px, flicker_rad_rms, ...).

    An aligned bench: unless ``zero_path_delay_um`` is given, zero path difference is at delay 0, where the
    delay stage starts (``delay_um`` moves it elsewhere first).
    """
    simulation.setdefault("zero_path_delay_um", 0.0)
    x, y, w, h = roi
    cam_cfg = SimCameraConfig(backend="sim", roi=RoiConfig(x=x, y=y, width=w, height=h), **(camera or {}))
    world = SimulatedBench(sim=SimulationConfig(**simulation), camera=cam_cfg)
    bench = QuickBench(world, SimLaser(world, **(laser or {})), SimPiezo(world),
                       SimDelayStage(world, "delay_stage", min_position=0.0, max_position=100.0, velocity=1000.0,
                                     settle_time_s=0.01),
                       SimSampleStage(world, "sample_stage", min_position=0.0, max_position=50_000.0),
                       SimSlm(world, **(slm or {})), SimCamera(world))
    for dev in (bench.laser, bench.phase_piezo, bench.delay_stage, bench.sample_stage, bench.slm, bench.camera):
        dev.connect()
    bench.laser.set_power_w(power_w)
    if delay_um is not None:
        bench.delay_stage.move_to(float(delay_um))
    bench.camera.start()
    return bench

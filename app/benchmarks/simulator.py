"""``qiup bench simulator``: frames per second of the simulated camera, tiered vs numpy-exact shot noise.

Each row renders complete frames (forward model + shot, dark and read noise + ADC) through
``SimCamera.read_frame`` on one core, taken through the engine's one acquisition path (a piezo step,
settle, stale-frame discard, interlock and power check, then the frame). The baseline is the same camera with numpy's Poisson sampler on
every pixel; "tiered" is the default sampler (sim_backends/noise.py: exact scattering below 0.1 e-,
exact numpy Poisson below 20 e-, skew-corrected Gaussian above).
"""

from __future__ import annotations

import time

from app.engine.acquire_step import StepAcquirer, switch_pump

TARGET_FPS = {512: 100.0, 2048: 10.0}


def add_arguments(parser) -> None:
    parser.add_argument("--seconds", type=float, default=1.5, help="time spent per measurement (default 1.5 s)")


def _camera(size: int, scene: str):
    from app.config.devices import RoiConfig, SimCameraConfig
    from app.config.simulation import SimulationConfig
    from types import SimpleNamespace

    from sim_backends.devices import SimCamera, SimDelayStage, SimLaser, SimPiezo
    from sim_backends.world import SimulatedBench

    offset = (2048 - size) // 2
    sim = SimulationConfig() if scene == "default field" else SimulationConfig(sample="empty", field_sigma_px=1e5)
    cam_cfg = SimCameraConfig(backend="sim", roi=RoiConfig(x=offset, y=offset, width=size, height=size))
    world = SimulatedBench(sim=sim, camera=cam_cfg)
    laser, piezo, camera = SimLaser(world, rin_rms=0.001), SimPiezo(world), SimCamera(world)
    delay = SimDelayStage(world)
    for dev in (laser, piezo, delay, camera):
        dev.connect()
    bench = SimpleNamespace(laser=laser, phase_piezo=piezo, delay_stage=delay, camera=camera)
    switch_pump(bench, on=True, power_w=0.1)
    camera.start()
    return camera, StepAcquirer(bench, frame_timeout_s=5.0)


def _fps(camera, acquirer, exact: bool, seconds: float) -> float:
    camera.exact_poisson = exact
    acquirer.read()  # warm the coherent-term cache
    n, start = 0, time.perf_counter()
    while True:
        _, frames = acquirer.take(10.0 + (n % 4) * 1.9375, 1, laser_on=True)  # a new fringe pattern every frame
        next(frames)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return n / elapsed


def main(args) -> int:
    seconds = getattr(args, "seconds", 1.5)
    rows = []
    for size, scene in ((512, "default field"), (2048, "default field"), (2048, "uniform 2000 e-")):
        camera, piezo = _camera(size, scene)
        exact = _fps(camera, piezo, True, seconds)
        tiered = _fps(camera, piezo, False, seconds)
        rows.append((f"{size} x {size}", scene, exact, tiered, TARGET_FPS[size]))
    print("simulated camera, complete frames (optics + noise + ADC), one core")
    print(f"{'frame':<12} {'scene':<16} {'numpy Poisson fps':>18} {'tiered fps':>11} {'speed-up':>9} {'target':>7}  ok")
    ok_all = True
    for frame, scene, exact, tiered, target in rows:
        ok = tiered >= target
        ok_all &= ok
        print(f"{frame:<12} {scene:<16} {exact:>18.1f} {tiered:>11.1f} {tiered / exact:>8.1f}x {target:>7.0f}  "
              f"{'yes' if ok else 'NO'}")
    return 0 if ok_all else 1

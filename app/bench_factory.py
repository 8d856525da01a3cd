"""Build the configured devices into a :class:`Bench`; the config's ``backend`` keys pick each driver.

The engine only ever sees the contracts; which device sits behind one is decided here and nowhere
else. ``open_bench`` connects everything and, on any exit, closes the laser first (emission off).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.config import LoadedConfig
from app.config import devices as cfg
from drivers.interfaces import SLM, Camera, Device, Laser, Stage
from drivers.ownership import BenchOwnership

log = logging.getLogger(__name__)


@dataclass
class BuildContext:
    """What builders share: the loaded config and, on demand, the one simulated world."""

    loaded: LoadedConfig
    _world: Any = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def world(self):
        """The shared :class:`~sim_backends.world.SimulatedBench` (created on first use)."""
        if self._world is None:
            from sim_backends.world import SimulatedBench

            camera = self.loaded.settings.camera
            if not isinstance(camera, cfg.SimCameraConfig):
                camera = cfg.SimCameraConfig(backend="sim")
            self._world = SimulatedBench(sim=self.loaded.settings.simulation, camera=camera)
        return self._world


def _sim_laser(section: cfg.SimLaserConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimLaser

    return SimLaser(ctx.world(), max_power_w=section.max_power_w, power_ramp_time_s=section.power_ramp_time_s,
                    rin_rms=section.rin_rms, faults=section.faults)


def _sim_piezo(section: cfg.SimPiezoConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimPiezo

    return SimPiezo(ctx.world(), min_v=section.min_v, max_v=section.max_v,
                    displacement_um_per_v=section.displacement_um_per_v, nonlinearity=section.nonlinearity,
                    hysteresis_v=section.hysteresis_v, settle_time_s=section.settle_time_s, faults=section.faults)


def _sim_delay(section: cfg.SimDelayStageConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimDelayStage

    return SimDelayStage(ctx.world(), "delay_stage", min_position=section.min_um, max_position=section.max_um,
                         velocity=section.velocity_um_per_s, settle_time_s=section.settle_time_s,
                         faults=section.faults)


def _sim_sample_stage(section: cfg.SimSampleStageConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimSampleStage

    return SimSampleStage(ctx.world(), "sample_stage", min_position=section.min_um, max_position=section.max_um,
                          faults=section.faults)


def _sim_slm(section: cfg.SimSlmConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimSlm

    return SimSlm(ctx.world(), width=section.width, height=section.height, settle_time_s=section.settle_time_s,
                  pixel_pitch_um=section.pixel_pitch_um, phase_at_full_scale_rad=section.phase_at_full_scale_rad,
                  faults=section.faults)


def _sim_camera(section: cfg.SimCameraConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimCamera

    return SimCamera(ctx.world(), faults=section.faults)


# config model -> builder; real drivers register theirs here too.
BUILDERS: dict[type, Callable[[Any, BuildContext], Device]] = {
    cfg.SimLaserConfig: _sim_laser,
    cfg.SimPiezoConfig: _sim_piezo,
    cfg.SimDelayStageConfig: _sim_delay,
    cfg.SimSampleStageConfig: _sim_sample_stage,
    cfg.SimSlmConfig: _sim_slm,
    cfg.SimCameraConfig: _sim_camera,
}

# real drivers (drivers/builders.py); serial ports may say "emulator" to drive the simulated world
from drivers import builders as _real  # noqa: E402

BUILDERS.update({
    cfg.ObisLaserConfig: _real.obis_laser,
    cfg.IBeamSmartLaserConfig: _real.ibeam_smart_laser,
    cfg.Mdt693bPiezoConfig: _real.mdt693b_piezo,
    cfg.PiGcsDelayStageConfig: _real.pi_gcs_stage,
    cfg.ScreenSlmConfig: _real.screen_slm,
    cfg.GenicamCameraConfig: _real.genicam_camera,
})


@dataclass
class Bench:
    """The connected devices of one bench, plus the config they came from."""

    config: LoadedConfig
    laser: Laser
    phase_piezo: Stage
    delay_stage: Stage
    slm: SLM
    camera: Camera
    sample_stage: Stage | None = None
    world: Any = None  # the simulated world when any device is simulated (ground truth for tests)
    ownership: BenchOwnership = field(default_factory=BenchOwnership)  # who may move it (decision 0040)

    def devices(self) -> dict[str, Device]:
        found = {
            "laser": self.laser,
            "phase_piezo": self.phase_piezo,
            "delay_stage": self.delay_stage,
            "sample_stage": self.sample_stage,
            "slm": self.slm,
            "camera": self.camera,
        }
        return {name: dev for name, dev in found.items() if dev is not None}

    def identities(self) -> dict[str, dict[str, str]]:
        return {name: dev.identity().as_dict() for name, dev in self.devices().items()}

    def make_safe(self) -> None:
        """Emission off first, then release every device; never raises."""
        for name, dev in self.devices().items():
            try:
                if isinstance(dev, Camera):
                    dev.stop()
                dev.close()
            except Exception as exc:  # a dead device must not keep the others (or the laser) open
                log.error("closing %s failed: %s", name, exc)


def _build(section, ctx: BuildContext, role: str) -> Device:
    builder = BUILDERS.get(type(section))
    if builder is None:
        raise ValueError(f"no driver registered for [{role}] backend {section.backend!r}")
    device = builder(section, ctx)
    device.name = role
    return device


@contextlib.contextmanager
def open_bench(loaded: LoadedConfig) -> Iterator[Bench]:
    """Build and connect every configured device; on exit (any exit) the laser is off and all closed."""
    settings = loaded.settings
    ctx = BuildContext(loaded)
    roles = ["laser", "phase_piezo", "delay_stage", "sample_stage", "slm", "camera"]
    built: dict[str, Device] = {}
    bench: Bench | None = None
    try:
        for role in roles:  # laser first so that it is closed even if a later device fails
            section = getattr(settings, role)
            if section is not None:
                built[role] = _build(section, ctx, role)
                built[role].connect()
        bench = Bench(config=loaded, world=ctx._world, **built)
        yield bench
    finally:
        if bench is not None:
            bench.make_safe()
        else:
            Bench.make_safe(_PartialBench(built))  # type: ignore[arg-type]
        for cleanup in reversed(ctx.cleanups):
            with contextlib.suppress(Exception):
                cleanup()


@dataclass
class _PartialBench:
    """The devices built before a failure, closed the same way as a full bench."""

    built: dict[str, Device]

    def devices(self) -> dict[str, Device]:
        return self.built

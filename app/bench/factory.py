"""Build the configured devices into a :class:`Bench`; the config's ``backend`` keys pick each driver.

The engine only ever sees the contracts; which device sits behind one is decided here and nowhere
else. ``open_bench`` takes the bench lock before opening anything, connects everything, shares one
:class:`BenchOwnership`, starts the readback poller, and on any exit closes the laser first.

A serial ``port = "emulator"`` (pty) or ``"emulator:tcp"`` (localhost socket) starts that device's
protocol emulator wired to the simulated world and points the unmodified driver at it
(docs/decisions/0012-emulator-ports.md). Simulated devices and emulators are imported only when used.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.bench.bench import Bench, make_safe
from app.bench.lock import BenchLock
from app.config import LoadedConfig
from app.config import devices as cfg
from drivers.contracts import Device, Roi

ROLES = ("laser", "phase_piezo", "delay_stage", "sample_stage", "slm", "camera")  # laser first: closed first
EMULATOR_PORTS = {"emulator": "pty", "emulator:pty": "pty", "emulator:tcp": "tcp"}


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


# ---------------------------------------------------------------------------- simulated devices
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

    return SimSlm.from_config(ctx.world(), section)


def _sim_camera(section: cfg.SimCameraConfig, ctx: BuildContext) -> Device:
    from sim_backends.devices import SimCamera

    return SimCamera(ctx.world(), faults=section.faults)


# ---------------------------------------------------------------------------- real drivers
def resolve_port(section: Any, ctx: BuildContext, kind: str, **emulator_options) -> str:
    """The port to open: the configured one, or the URL of a freshly started, world-wired emulator."""
    transport = EMULATOR_PORTS.get(section.port)
    if transport is None:
        return section.port
    from sim_backends.emulators.wiring import start_emulator

    server = start_emulator(kind, ctx.world(), transport, **emulator_options)
    ctx.cleanups.append(server.stop)
    return server.url


def obis_laser(section: Any, ctx: BuildContext) -> Device:
    from drivers.obis_laser import ObisLaser

    port = resolve_port(section, ctx, "obis", max_power_w=max(section.max_power_w, 0.15))
    return ObisLaser(port=port, max_power_w=section.max_power_w, baudrate=section.baudrate,
                     timeout_s=section.timeout_s)


def ibeam_smart_laser(section: Any, ctx: BuildContext) -> Device:
    from drivers.ibeam_smart_laser import IBeamSmartLaser

    port = resolve_port(section, ctx, "ibeam-smart")
    return IBeamSmartLaser(port=port, max_power_w=section.max_power_w, channel=section.channel,
                           baudrate=section.baudrate, timeout_s=section.timeout_s)


def mdt693b_piezo(section: Any, ctx: BuildContext) -> Device:
    from drivers.mdt693b import Mdt693bPiezo

    port = resolve_port(section, ctx, "mdt693b", prompt=section.prompt, channel=section.channel,
                        vlimit_v=150.0 if section.max_v > 100 else (100.0 if section.max_v > 75 else 75.0),
                        displacement_um_per_v=section.displacement_um_per_v)
    return Mdt693bPiezo(port=port, min_v=section.min_v, max_v=section.max_v, channel=section.channel,
                        prompt=section.prompt, baudrate=section.baudrate, timeout_s=section.timeout_s,
                        readback_tolerance_v=section.readback_tolerance_v, settle_time_s=section.settle_time_s)


def pi_gcs_stage(section: Any, ctx: BuildContext) -> Device:
    from drivers.pi_gcs import PiGcsStage

    port = resolve_port(section, ctx, "pi-gcs", axis=section.axis, min_um=section.min_um, max_um=section.max_um)
    return PiGcsStage(port=port, axis=section.axis, min_um=section.min_um, max_um=section.max_um,
                      baudrate=section.baudrate, timeout_s=section.timeout_s,
                      settle_timeout_s=section.settle_timeout_s)


def screen_slm(section: Any, ctx: BuildContext) -> Device:
    from drivers.slm_screen import ScreenSlm

    return ScreenSlm(screen=section.screen, lut_path=section.lut_path, settle_time_s=section.settle_time_s,
                     dither=section.dither)


def genicam_camera(section: Any, ctx: BuildContext) -> Device:
    from drivers.genicam_camera import GenicamCamera

    class ConfiguredGenicamCamera(GenicamCamera):
        """Applies the config's ROI, binning, exposure, frame rate and trigger right after connecting."""

        def _configure(self) -> None:
            if section.roi is not None:
                r = section.roi
                self.set_roi(Roi(x=r.x, y=r.y, width=r.width, height=r.height))
            if section.binning != 1:
                self.set_binning(section.binning)
            if section.exposure_s is not None:
                self.set_exposure_s(section.exposure_s)
            if section.frame_rate_hz is not None:
                self.set_frame_rate_hz(section.frame_rate_hz)
            self.set_trigger_mode(section.trigger)

    return ConfiguredGenicamCamera(producer_path=section.producer_path, serial_number=section.serial_number,
                                   index=section.index, pixel_format=section.pixel_format)


# config model -> builder
BUILDERS: dict[type, Callable[[Any, BuildContext], Device]] = {
    cfg.SimLaserConfig: _sim_laser,
    cfg.SimPiezoConfig: _sim_piezo,
    cfg.SimDelayStageConfig: _sim_delay,
    cfg.SimSampleStageConfig: _sim_sample_stage,
    cfg.SimSlmConfig: _sim_slm,
    cfg.SimCameraConfig: _sim_camera,
    cfg.ObisLaserConfig: obis_laser,
    cfg.IBeamSmartLaserConfig: ibeam_smart_laser,
    cfg.Mdt693bPiezoConfig: mdt693b_piezo,
    cfg.PiGcsDelayStageConfig: pi_gcs_stage,
    cfg.ScreenSlmConfig: screen_slm,
    cfg.GenicamCameraConfig: genicam_camera,
}


def build_device(section, ctx: BuildContext, role: str) -> Device:
    """The (unconnected) device for one config section."""
    builder = BUILDERS.get(type(section))
    if builder is None:
        raise ValueError(f"no driver registered for [{role}] backend {section.backend!r}")
    device = builder(section, ctx)
    device.name = role
    return device


def default_lock_label() -> str:
    """What this process is, for a second process's refusal: e.g. ``qiup run`` (pid and host are added)."""
    return " ".join([Path(sys.argv[0]).name or "python", *sys.argv[1:2]]).strip()


@contextlib.contextmanager
def open_bench(loaded: LoadedConfig, poll: bool = True, *, label: str | None = None) -> Iterator[Bench]:
    """Lock the bench, build and connect every configured device; on exit (any exit) the laser is off,
    everything is closed and the lock released.

    ``poll`` starts the readback poller at ``[bench] poll_interval_s`` (the CLI and GUI keep the
    default; tests that count device calls may pass False). BenchInUse (one line naming the holder)
    if another process holds this config's bench: nothing has been opened then.
    """
    settings = loaded.settings
    bench_lock = BenchLock.acquire(loaded.path, label or default_lock_label())
    ctx = BuildContext(loaded)
    built: dict[str, Device] = {}
    bench: Bench | None = None
    try:
        for role in ROLES:
            section = getattr(settings, role)
            if section is not None:
                built[role] = build_device(section, ctx, role)
                built[role].connect()
        bench = Bench(config=loaded, world=ctx._world, bench_lock=bench_lock, **built)
        bench.refresh_readbacks()  # the cache is filled before anyone plans from it
        if poll:
            bench.start_polling(settings.bench.poll_interval_s, settings.bench.poll_lock_timeout_s)
        yield bench
    finally:
        if bench is not None:
            bench.stop_polling()
        make_safe(built)
        for cleanup in reversed(ctx.cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        bench_lock.release()

"""Builders from config sections to real drivers, registered in ``app.bench_factory.BUILDERS``.

Each takes a validated section (read by attribute) and the factory's build context. A serial
``port = "emulator"`` (pty) or ``"emulator:tcp"`` (localhost socket) starts that device's protocol
emulator wired to the simulated world and points the unmodified driver at it
(docs/decisions/0012-emulator-ports.md). The emulators are imported only in that case.
"""

from __future__ import annotations

from typing import Any

from drivers.interfaces import Device

EMULATOR_PORTS = {"emulator": "pty", "emulator:pty": "pty", "emulator:tcp": "tcp"}


def resolve_port(section: Any, ctx: Any, kind: str, **emulator_options) -> str:
    """The port to open: the configured one, or the URL of a freshly started, world-wired emulator."""
    transport = EMULATOR_PORTS.get(section.port)
    if transport is None:
        return section.port
    from sim_backends.emulators.wiring import start_emulator

    server = start_emulator(kind, ctx.world(), transport, **emulator_options)
    ctx.cleanups.append(server.stop)
    return server.url


def obis_laser(section: Any, ctx: Any) -> Device:
    from drivers.obis_laser import ObisLaser

    port = resolve_port(section, ctx, "obis", max_power_w=max(section.max_power_w, 0.15))
    return ObisLaser(port=port, max_power_w=section.max_power_w, baudrate=section.baudrate,
                     timeout_s=section.timeout_s)


def ibeam_smart_laser(section: Any, ctx: Any) -> Device:
    from drivers.ibeam_smart_laser import IBeamSmartLaser

    port = resolve_port(section, ctx, "ibeam-smart")
    return IBeamSmartLaser(port=port, max_power_w=section.max_power_w, channel=section.channel,
                           baudrate=section.baudrate, timeout_s=section.timeout_s)


def mdt693b_piezo(section: Any, ctx: Any) -> Device:
    from drivers.mdt693b import Mdt693bPiezo

    port = resolve_port(section, ctx, "mdt693b", prompt=section.prompt, channel=section.channel,
                        vlimit_v=150.0 if section.max_v > 100 else (100.0 if section.max_v > 75 else 75.0),
                        displacement_um_per_v=section.displacement_um_per_v)
    return Mdt693bPiezo(port=port, min_v=section.min_v, max_v=section.max_v, channel=section.channel,
                        prompt=section.prompt, baudrate=section.baudrate, timeout_s=section.timeout_s,
                        readback_tolerance_v=section.readback_tolerance_v, settle_time_s=section.settle_time_s)


def pi_gcs_stage(section: Any, ctx: Any) -> Device:
    from drivers.pi_gcs import PiGcsStage

    port = resolve_port(section, ctx, "pi-gcs", axis=section.axis, min_um=section.min_um, max_um=section.max_um)
    return PiGcsStage(port=port, axis=section.axis, min_um=section.min_um, max_um=section.max_um,
                      baudrate=section.baudrate, timeout_s=section.timeout_s,
                      settle_timeout_s=section.settle_timeout_s)


def screen_slm(section: Any, ctx: Any) -> Device:
    from drivers.slm_screen import ScreenSlm

    return ScreenSlm(screen=section.screen, lut_path=section.lut_path, settle_time_s=section.settle_time_s)


def genicam_camera(section: Any, ctx: Any) -> Device:
    from drivers.genicam_camera import GenicamCamera
    from drivers.interfaces import Roi

    class ConfiguredGenicamCamera(GenicamCamera):
        """Applies the config's ROI, binning, exposure, frame rate and trigger right after connecting."""

        def connect(self) -> None:
            super().connect()
            try:
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
            except Exception:
                self.close()
                raise

    return ConfiguredGenicamCamera(producer_path=section.producer_path, serial_number=section.serial_number,
                                   index=section.index, pixel_format=section.pixel_format)

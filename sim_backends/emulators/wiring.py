"""Start a protocol emulator wired to the simulated bench, so a real driver can drive the sim physics.

``start_emulator(kind, world, **options)`` returns a running :class:`EmulatorServer`; whatever the
driver sets through the real protocol (laser emission and power, piezo volts, delay position) lands in
the shared :class:`~sim_backends.world.SimulatedBench` state the simulated camera renders from.
"""

from __future__ import annotations

from typing import Any

from sim_backends.emulators.core import EmulatorServer, Transport
from sim_backends.emulators.ibeam_smart import IBeamSmartEmulator
from sim_backends.emulators.mdt693b import Mdt693bEmulator
from sim_backends.emulators.obis import ObisEmulator
from sim_backends.emulators.pi_gcs import PiGcsEmulator

KINDS = ("obis", "ibeam-smart", "mdt693b", "pi-gcs")


def _set_state(world, **values) -> None:
    if world is None:
        return
    with world.lock:
        for key, value in values.items():
            setattr(world.state, key, value)


def make_device(kind: str, world: Any = None, **options):
    """The device behaviour for ``kind``, reporting into ``world`` (None: standalone)."""
    if kind == "obis":
        return ObisEmulator(
            on_change=lambda on, p: _set_state(world, laser_emission=on, laser_power_w=p), **options
        )
    if kind == "ibeam-smart":
        return IBeamSmartEmulator(
            on_change=lambda on, p: _set_state(world, laser_emission=on, laser_power_w=p), **options
        )
    if kind == "mdt693b":
        displacement = options.pop("displacement_um_per_v", None)
        if displacement is not None:
            _set_state(world, piezo_displacement_um_per_v=displacement)
        return Mdt693bEmulator(on_change=lambda v: _set_state(world, piezo_v=v), **options)
    if kind == "pi-gcs":
        return PiGcsEmulator(on_change=lambda um: _set_state(world, delay_um=um), **options)
    raise ValueError(f"no emulator for {kind!r} (known: {', '.join(KINDS)})")


def start_emulator(kind: str, world: Any = None, transport: Transport = "pty", **options) -> EmulatorServer:
    """Build the behaviour, serve it on a pty or a localhost socket, and return the running server."""
    return EmulatorServer(make_device(kind, world, **options), transport).start()

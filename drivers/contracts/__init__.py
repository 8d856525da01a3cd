"""Device contracts of the bench: what the engine, GUI and scripts may ask of a laser, stage, SLM and camera.

Units are in the names (``power_w``, ``position`` + ``unit``, ``exposure_s``, ``phase_rad``). Public
methods are concrete here (template methods); drivers and simulated devices implement only the
``_..._hw`` hooks, so the rules (connection, ownership, limits, shapes, SLM rounding, error wording)
are the same for every backend. Decision 0040 has the full story.

Threads: every call may be made from any thread; each device serialises its calls with one lock held
per hardware transaction, never across a wait.
- Block for one transaction (milliseconds on serial links): queries (``position``, ``measured_power_w``,
  ``read_state``, ...) and setters (``move_to(wait=False)``, ``set_power_w``, ``show(wait=False)``).
- Block for longer, polling in short transactions without holding the lock: ``move_to(wait=True)`` and
  ``wait_settled``, ``wait_until_power_settled``, ``show(wait=True)`` (settle time), ``read_frame``.
- Never block, never do I/O: ``cached_state``, ``capabilities()``, ``limits()``, ``power_limits_w()``,
  ``shape``, ``connected``. A GUI thread calls only these and hands everything else to a worker.
- While a run owns the bench, moves and settings from threads it has not admitted raise ``BenchBusy``
  (nothing is sent); ``close()``, ``Camera.stop()`` and laser ``set_emission(False)`` are always
  accepted, and emission-off from outside the run also aborts it.
"""

from drivers.contracts.base import Device
from drivers.contracts.camera import Camera
from drivers.contracts.laser import Laser
from drivers.contracts.locks import PriorityRLock
from drivers.contracts.readbacks import (
    CameraCapabilities,
    CameraReadback,
    Capabilities,
    LaserCapabilities,
    LaserReadback,
    Readback,
    SlmCapabilities,
    SlmReadback,
    StageCapabilities,
    StageReadback,
)
from drivers.contracts.slm import SLM
from drivers.contracts.stage import Stage
from drivers.contracts.values import DeviceIdentity, Frame, Roi, StageUnit, TriggerMode

__all__ = [
    "SLM", "Camera", "CameraCapabilities", "CameraReadback", "Capabilities", "Device", "DeviceIdentity",
    "Frame", "Laser", "LaserCapabilities", "LaserReadback", "PriorityRLock", "Readback", "Roi",
    "SlmCapabilities", "SlmReadback", "Stage", "StageCapabilities", "StageReadback", "StageUnit",
    "TriggerMode",
]

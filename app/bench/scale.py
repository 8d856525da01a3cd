"""The object-plane pixel size of a bench's images: camera pixel pitch x binning / magnification.

A simulated camera takes it from the simulated world's imaging geometry; a real camera from its
config key ``[camera] object_pixel_size_um`` (one unbinned pixel on the object). Either way the
camera's current binning multiplies it. ``None`` when the bench does not know it.
"""

from __future__ import annotations

from typing import Any


def unbinned_object_pixel_size_um(camera_section: Any, world: Any) -> float | None:
    """One unbinned sensor pixel on the object, in um, from the camera's config section (or the world)."""
    from sim_backends.settings import SimCameraConfig

    if isinstance(camera_section, SimCameraConfig):
        return None if world is None else float(world.object_pixel_size_um)
    value = getattr(camera_section, "object_pixel_size_um", None)
    return None if value is None else float(value)


def object_pixel_size_um(bench) -> float | None:
    """Size on the object of one pixel of the frames the bench's camera delivers now (binning included)."""
    unbinned = unbinned_object_pixel_size_um(bench.config.settings.camera, bench.world)
    if unbinned is None:
        return None
    return unbinned * int(bench.camera.binning())

"""Reprocessed results: one HDF5 file with /results/<name> maps (units in attributes); figures: app.storage.figures.

Layout: root attrs ``status`` ("complete"), ``software_version``, ``source`` and the reprocessing
parameters; ``/results/{visibility, amplitude, phase, phase_unwrapped, sigma_phase, sigma_visibility,
sigma_amplitude, mean, dark, reference_visibility}`` float32 (h, w) and ``/results/{mask, hot_pixels,
saturated}`` bool (h, w). Phase is relative to the reference when one was given. The object-plane
pixel size (um; NaN when unknown) is the root attribute ``object_pixel_size_um`` and each map's
``pixel_size_um``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from app.pipeline.reconstruct import Reconstruction
from app.storage.atomic import replacing
from app.storage.creation import software_version
from app.storage.layout import PIXEL_SIZE_ATTR, PIXEL_SIZE_ROOT_ATTR, RESULT_UNITS, pixel_size_attr  # noqa: F401


def result_maps(recon: Reconstruction) -> dict[str, np.ndarray]:
    """The maps to store, by dataset name, as computed (float maps stored as float32, bool masks)."""
    maps = {
        "visibility": recon.visibility, "amplitude": recon.amplitude, "phase": recon.phase_rad,
        "phase_unwrapped": recon.phase_unwrapped_rad, "sigma_phase": recon.sigma_phase_rad,
        "sigma_visibility": recon.sigma_visibility, "sigma_amplitude": recon.sigma_amplitude,
        "mean": recon.mean_adu, "dark": recon.dark_adu,
    }
    if recon.reference_visibility is not None:
        maps["reference_visibility"] = recon.reference_visibility
    maps.update(mask=recon.mask, hot_pixels=recon.hot_pixels, saturated=recon.saturated)
    return maps


def stored_dtype(name: str) -> type:
    """float32 for a float map, bool for a mask."""
    return bool if name in ("mask", "hot_pixels", "saturated") else np.float32


def result_arrays(recon: Reconstruction) -> dict[str, np.ndarray]:
    """The maps as stored (float32 maps, bool masks), by dataset name."""
    return {name: np.asarray(data, stored_dtype(name)) for name, data in result_maps(recon).items()}


def write_results(path: Path, recon: Reconstruction, *, attrs: dict[str, Any],
                  pixel_size_um: float | None = None) -> Path:
    """Write the results file, complete or not at all; returns its path (figures: app.storage.figures).

    ``pixel_size_um`` (one pixel on the object; None: unknown, stored as NaN) goes into the root
    attribute ``object_pixel_size_um`` and each map's ``pixel_size_um``, as in run files.
    """
    pixel_um = pixel_size_attr(pixel_size_um)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, h5py.File(tmp, "x") as h5:  # complete or absent, also after a power cut
        h5.attrs["status"] = "complete"
        h5.attrs["software_version"] = software_version()
        for key, value in attrs.items():
            h5.attrs[key] = value
        h5.attrs[PIXEL_SIZE_ROOT_ATTR] = pixel_um
        for name, data in result_maps(recon).items():  # HDF5 converts to float32 as it writes:
            dset = h5.create_dataset(f"results/{name}", data=data, dtype=stored_dtype(name))  # no copies
            dset.attrs["unit"] = RESULT_UNITS.get(name, "bool")
            dset.attrs[PIXEL_SIZE_ATTR] = pixel_um
    return path

"""What the SLM panel asks of the SLM, run on the model's command thread (Qt-free; device calls allowed).

Masks are composed with ``app/wavefront/masks.compose_mask`` and shown with a label naming what they are
(a correction file with its sha256, or the Zernike terms); LUT files go through ``drivers.slm_lut.load_lut``
and the contract's ``set_lut``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def configured_pupil(bench) -> tuple[tuple[float, float], float]:
    """((row, col), radius) of the pump on the SLM as configured ([slm] pupil_centre_px / pupil_radius_px);
    without a configured pupil, the panel's centre and half its shorter side."""
    world = getattr(bench, "world", None)
    if world is not None and hasattr(world, "slm_pupil_configured"):
        return world.slm_pupil_configured(tuple(bench.slm.shape))
    section = getattr(bench.config.settings, "slm", None)
    h, w = bench.slm.shape
    centre = getattr(section, "pupil_centre_px", None) or ((h - 1) / 2, (w - 1) / 2)
    radius = getattr(section, "pupil_radius_px", None) or min(h, w) / 2
    return (float(centre[0]), float(centre[1])), float(radius)


def show_correction(bench, correction, label: str) -> None:
    from app.wavefront.masks import compose_mask

    slm = bench.slm
    slm.show(compose_mask(tuple(slm.shape), correction=correction), label=label)


def show_correction_file(bench, path: Path) -> str | None:
    """Show the file's correction; a warning when it was measured with another LUT than the SLM's."""
    from app.wavefront.masks import Correction
    from drivers.slm_lut import lut_sha256

    correction = Correction.load(path)
    show_correction(bench, correction, f"{path.name} sha256:{file_sha256(path)[:12]}")
    active = lut_sha256(bench.slm.lut)
    if correction.lut_sha256 and correction.lut_sha256 != active:
        return (f"SLM: {path.name} was measured with LUT sha256:{correction.lut_sha256[:12]}, the SLM now uses "
                f"sha256:{active[:12]}")
    return None


def show_zernike(bench, coefficients_rad_rms: dict[int, float]) -> None:
    """Noll modes in rad RMS of SLM phase over the configured pupil (decision 0046)."""
    from app.wavefront.masks import Correction
    from app.wavefront.zernike import Pupil

    slm = bench.slm
    centre, radius = configured_pupil(bench)
    modes = sorted(coefficients_rad_rms)
    correction = Correction(tuple(modes), tuple(float(coefficients_rad_rms[j]) for j in modes),
                            pupil=Pupil(tuple(centre), float(radius)), slm_shape=tuple(slm.shape), wavelength_nm=0.0)
    terms = " ".join(f"Z{j}={coefficients_rad_rms[j]:+.3g}" for j in modes) or "none"
    show_correction(bench, correction, f"Zernike {terms} rad RMS")


def load_lut_file(bench, path: Path) -> None:
    from drivers.slm_lut import load_lut

    slm = bench.slm
    slm.set_lut(load_lut(path, max_gray=slm.gray_max), name=path.name)

"""SLM phase masks composed from a Zernike correction, user masks and an optional grating.

The composed mask is plain phase in radians (float32, SLM shape, not wrapped): the SLM contract wraps
it and maps it through the LUT with its one rounding rule. A :class:`Correction` is saved as a small
JSON file (coefficients, pupil, basis and the conditions it was measured under); loading it and
composing again gives the identical mask, bit for bit, because JSON keeps every float64 exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from app.wavefront.zernike import Pupil, ZernikeBasis

MASK_FORMAT = "qiup-slm-correction"
MASK_FORMAT_VERSION = 1


class MaskFileError(ValueError):
    """A correction file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Correction:
    """Zernike coefficients (rad RMS of phase at ``wavelength_nm``) on a pupil of the SLM."""

    noll_indices: tuple[int, ...]
    coefficients_rad_rms: tuple[float, ...]
    pupil: Pupil
    slm_shape: tuple[int, int]
    wavelength_nm: float
    normalisation: str = "unit-rms"  # "unit-rms" | "orthonormal" (over the pupil amplitude it was measured with)
    lut_sha256: str = ""
    metadata: dict = field(default_factory=dict)
    extent_radii: float = 1.0  # the modes continued out to this many pupil radii (1: zero outside the pupil)

    def __post_init__(self):
        if len(self.noll_indices) != len(self.coefficients_rad_rms):
            raise ValueError("one coefficient per Noll index")
        if self.normalisation not in ("unit-rms", "orthonormal"):
            raise ValueError(f"normalisation must be 'unit-rms' or 'orthonormal', not {self.normalisation!r}")
        if not 1.0 <= self.extent_radii < 10.0 or (self.extent_radii > 1.0 and self.normalisation != "unit-rms"):
            raise ValueError(f"extent_radii must lie in [1, 10) pupil radii, and be 1 for orthonormal modes "
                             f"(got {self.extent_radii!r} with {self.normalisation})")

    def basis(self, amplitude: np.ndarray | None = None) -> ZernikeBasis:
        return ZernikeBasis(self.noll_indices, self.pupil, self.slm_shape, amplitude=amplitude,
                            orthonormalise=self.normalisation == "orthonormal")

    def phase_rad(self) -> np.ndarray:
        """The correction's phase over the SLM (zero beyond ``extent_radii`` pupil radii), float64 radians."""
        return self.basis().continued_wavefront_rad(self.coefficients_rad_rms, self.extent_radii)

    def peak_to_valley_rad(self) -> float:
        return self.basis().peak_to_valley_rad(self.coefficients_rad_rms)

    # -- files ------------------------------------------------------------------------------------
    def to_json(self) -> str:
        data = asdict(self)
        data["pupil"] = {"centre_yx_px": list(self.pupil.centre_yx_px), "radius_px": self.pupil.radius_px}
        return json.dumps({"format": MASK_FORMAT, "version": MASK_FORMAT_VERSION, **data}, indent=1)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Correction":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MaskFileError(f"{path}: not a readable correction file ({exc})") from None
        return cls.from_json(text, source=str(path))

    @classmethod
    def from_json(cls, text: str, *, source: str = "correction") -> "Correction":
        """The correction a :meth:`to_json` text describes; MaskFileError naming ``source`` otherwise."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MaskFileError(f"{source}: not a readable correction file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != MASK_FORMAT:
            raise MaskFileError(f"{source}: not a qiup SLM correction (format must be {MASK_FORMAT!r})")
        try:
            pupil = Pupil(tuple(float(v) for v in data["pupil"]["centre_yx_px"]), float(data["pupil"]["radius_px"]))
            return cls(noll_indices=tuple(int(j) for j in data["noll_indices"]),
                       coefficients_rad_rms=tuple(float(c) for c in data["coefficients_rad_rms"]),
                       pupil=pupil, slm_shape=tuple(int(n) for n in data["slm_shape"]),
                       wavelength_nm=float(data["wavelength_nm"]), normalisation=str(data["normalisation"]),
                       lut_sha256=str(data.get("lut_sha256", "")), metadata=dict(data.get("metadata", {})),
                       extent_radii=float(data.get("extent_radii", 1.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise MaskFileError(f"{source}: missing or bad field ({exc})") from None


def blazed_grating_rad(shape: tuple[int, int], period_px: float, angle_rad: float = 0.0) -> np.ndarray:
    """A linear phase ramp of 2 pi per ``period_px`` along ``angle_rad`` (0: along columns)."""
    if not period_px or not math.isfinite(period_px):
        raise ValueError(f"grating period must be a finite, non-zero number of pixels (got {period_px!r})")
    y, x = np.indices(shape, dtype=np.float64)
    return 2.0 * np.pi * (x * np.cos(angle_rad) + y * np.sin(angle_rad)) / period_px


def compose_mask(shape: tuple[int, int], *, correction: Correction | None = None, user_masks_rad=(),
                 grating: tuple[float, float] | None = None) -> np.ndarray:
    """Correction + user masks + grating (period_px, angle_rad), summed in float64 -> float32 radians."""
    total = np.zeros(shape, np.float64)
    if correction is not None:
        if tuple(correction.slm_shape) != tuple(shape):
            raise ValueError(f"the correction was made for an SLM of {correction.slm_shape}, this one is {shape}")
        total += correction.phase_rad()
    for k, mask in enumerate(user_masks_rad):
        mask = np.asarray(mask, np.float64)
        if mask.shape != tuple(shape):
            raise ValueError(f"user mask {k} has shape {mask.shape}, the SLM needs {tuple(shape)}")
        total += mask
    if grating is not None:
        total += blazed_grating_rad(shape, *grating)
    return total.astype(np.float32)


def wrap_free_offset_rad(mask_rad: np.ndarray, extra_span_rad: float = 0.0) -> float:
    """The uniform phase that centres ``mask_rad`` (plus up to ``extra_span_rad`` added later, e.g. SLM phase
    steps) in (0, 2 pi): a mask whose range is below 2 pi then shows without a phase wrap. A uniform
    phase changes only the global interference phase, but a wrap is a line where the real panel's
    fringing field smooths 2 pi into every phase in between, which scatters light and costs visibility
    (a few per cent for a mask near zero, whose sign changes would all be wraps)."""
    m = np.asarray(mask_rad)
    lo, hi = float(np.min(m)), float(np.max(m)) + float(extra_span_rad)
    return float(np.pi - 0.5 * (lo + hi))


def centred_for_slm(mask_rad: np.ndarray, extra_span_rad: float = 0.0) -> np.ndarray:
    """``mask_rad`` plus :func:`wrap_free_offset_rad` (float32 radians, for ``SLM.show``)."""
    return (np.asarray(mask_rad, np.float64) + wrap_free_offset_rad(mask_rad, extra_span_rad)).astype(np.float32)

"""The phase-only SLM contract: one rule from phase to gray levels for every SLM, real or simulated.

``show(phase_rad)`` wraps the phase to [0, 2 pi) and maps it through the device's LUT, dithered or not
(``drivers.slm_lut.phase_to_gray``; ``dither``: the device's setting, ``[slm] dither``, unless the call says
otherwise; docs/decisions/0052-slm-dithering.md); the driver only puts the gray image on the hardware
(``_show_gray_hw``). A simulated SLM then applies its physical response to that image, whatever made it.
"""

from __future__ import annotations

import abc

import numpy as np

from drivers.contracts.base import Device
from drivers.contracts.readbacks import SlmCapabilities, SlmReadback
from drivers.errors import DeviceError
from drivers.slm_lut import (DITHER_TILES, check_dither, dithered_gray, gray_of_levels, integral_lut,
                             level_phases_f32, lut_sha256, phase_levels, wrap_phase_f32)


class SLM(Device):
    """Shows a phase mask (radians), wrapped and mapped by a LUT; waits the settle time."""

    readback_type = SlmReadback
    gray_max = 255  # highest gray level the panel takes (a 10-bit panel: 1023)

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.lut = np.arange(256, dtype=np.uint8)  # drivers set their own at construction
        self.lut_name = "linear"
        self.dither = "bayer4"  # how show() maps phase to gray unless told otherwise (DITHER_TILES)
        self._levels_shown: np.ndarray | None = None  # the last mask, undithered: its LUT levels
        self._phase_shown: np.ndarray | None = None  # the last mask, dithered: its float32 wrapped phase
        self._dither_shown = "off"
        self._mask_id = 0
        self._mask_label = ""
        self._shown_at_s = -np.inf

    # ------------------------------------------------------------------ hooks
    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, int]:
        """(height, width) in SLM pixels (no I/O)."""

    @property
    @abc.abstractmethod
    def settle_time_s(self) -> float:
        """Time after ``show`` before the liquid crystal has settled."""

    @abc.abstractmethod
    def _show_gray_hw(self, gray: np.ndarray) -> None:
        """Put the gray image (shape ``self.shape``; uint8, or uint16 when ``gray_max`` > 255) on the SLM."""

    # ------------------------------------------------------------------ contract
    def show(self, phase_rad: np.ndarray, *, wait: bool = True, label: str = "", dither: str | None = None) -> None:
        """Display ``phase_rad`` (shape ``self.shape``); waits the settle time unless told not to. ``dither``:
        "off" (the floor rule), "bayer4" or "bayer8"; None: the device's ``dither``."""
        self.check_may_act("showing a mask")
        self.require_connected()
        phase_rad = np.asarray(phase_rad)
        self.check_shape(phase_rad)
        dither = self._checked_dither(self.dither if dither is None else dither)
        with self.transaction():  # the LUT and the record of the mask change together (set_lut, other threads)
            levels, phase, gray = self._gray_image(phase_rad, self.lut, dither)
            self._show_gray_hw(gray)
            self._levels_shown, self._phase_shown, self._dither_shown = levels, phase, dither
            self._mask_id += 1
            self._mask_label = label
            self._shown_at_s = self._clock_s()
            self._update_cache(mask_id=self._mask_id, mask_label=label, settled=self.settle_time_s <= 0,
                               dither=dither)
        if wait:
            self._wait_s(self.settle_time_s)

    def _gray_image(self, phase_rad: np.ndarray, lut: np.ndarray, dither: str):
        """(levels, phase, gray): the one rule of ``drivers.slm_lut``, keeping what ``current_phase_rad`` returns
        (undithered: the LUT levels; dithered: the float32 wrapped phase the dither started from)."""
        if DITHER_TILES[dither] == 0:
            levels = phase_levels(phase_rad, len(lut))
            return levels, None, gray_of_levels(lut, levels, self.gray_max)
        phase = wrap_phase_f32(phase_rad)
        return None, phase, dithered_gray(phase, lut, self.gray_max, DITHER_TILES[dither])

    def _checked_dither(self, dither: str) -> str:
        try:
            return check_dither(dither)
        except ValueError as exc:
            raise DeviceError(str(exc), device=self.name) from None

    def set_dither(self, dither: str) -> None:
        """Dither masks shown from now on with ``dither`` ("off", "bayer4", "bayer8"); the mask on the panel stays."""
        self.dither = self._checked_dither(dither)

    def set_lut(self, lut: np.ndarray, *, name: str) -> None:
        """Map phase through ``lut`` from now on (entry k: the gray level for phase 2 pi k / len(lut); fractional
        entries allowed); the mask on the panel is shown again through it, as it was shown (dithered or not).
        DeviceError naming what is allowed, nothing changed."""
        self.check_may_act("loading a LUT")
        self.require_connected()
        lut = np.asarray(lut)
        if (lut.ndim != 1 or len(lut) < 2 or not (np.issubdtype(lut.dtype, np.integer)
                                                   or np.issubdtype(lut.dtype, np.floating))
                or not np.all(np.isfinite(lut)) or float(lut.min()) < 0 or float(lut.max()) > self.gray_max):
            raise DeviceError(f"LUT {name!r} must be 2 or more gray levels in 0..{self.gray_max} "
                              f"(got shape {lut.shape}, dtype {lut.dtype})", device=self.name)
        lut = integral_lut(lut, self.gray_max)
        with self.transaction():
            old_count = len(self.lut)
            self.lut, self.lut_name = lut, name
            if self._levels_shown is not None or self._phase_shown is not None:
                levels = self._levels_shown
                if self._phase_shown is not None:  # dithered: the same wrapped phase through the new LUT
                    _, _, gray = self._gray_image(self._phase_shown, lut, self._dither_shown)
                else:  # the same phase (level * 2 pi / old count), in the new LUT's levels, exactly
                    levels = (levels.astype(np.int64) * len(lut)) // old_count
                    gray = gray_of_levels(lut, levels, self.gray_max)
                self._show_gray_hw(gray)
                self._levels_shown = levels
                self._mask_id += 1
                self._shown_at_s = self._clock_s()
            self._update_cache(mask_id=self._mask_id, lut_name=name, lut_sha256=lut_sha256(lut))

    def current_phase_rad(self) -> np.ndarray:
        """The phase mask last shown (float32, in [0, 2 pi)): undithered, as quantised (level * 2 pi / levels);
        dithered, the wrapped phase the dither realises, and ``show`` of it (dithered) gives the same gray image
        again, bit for bit (so does a quantised mask shown dithered through a LUT of whole gray levels)."""
        self.require_connected()
        with self.transaction():
            levels, phase, count = self._levels_shown, self._phase_shown, len(self.lut)
        if phase is not None:
            return phase.copy()
        if levels is None:
            return np.zeros(self.shape, np.float32)
        return level_phases_f32(levels, count)  # shown again undithered: the same levels

    def check_shape(self, phase_rad: np.ndarray) -> None:
        if tuple(phase_rad.shape) != tuple(self.shape):
            raise DeviceError(
                f"phase mask has shape {tuple(phase_rad.shape)}, the SLM needs {tuple(self.shape)}",
                device=self.name,
            )

    # ------------------------------------------------------------------ observable state
    def _read_state_hw(self) -> SlmReadback:
        return SlmReadback(mask_id=self._mask_id, mask_label=self._mask_label,
                           settled=self._clock_s() - self._shown_at_s >= self.settle_time_s,
                           shape=tuple(self.shape), lut_name=self.lut_name, lut_sha256=lut_sha256(self.lut),
                           dither=self._dither_shown)

    def _capabilities_hw(self) -> SlmCapabilities:
        return SlmCapabilities(shape=tuple(self.shape), levels=len(self.lut), lut_name=self.lut_name,
                               settle_time_s=self.settle_time_s, dither=self.dither)

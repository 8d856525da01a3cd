"""The phase-only SLM contract: one rule from phase to gray levels for every SLM, real or simulated.

``show(phase_rad)`` wraps the phase to [0, 2 pi), quantises it with ``floor(phase * levels / 2 pi)``
and maps the level through the device's LUT (``drivers.slm_lut.phase_to_gray``); the driver only puts
the gray image on the hardware (``_show_gray_hw``). A simulated SLM then applies its physical response.
"""

from __future__ import annotations

import abc

import numpy as np

from drivers.contracts.base import Device
from drivers.contracts.readbacks import SlmCapabilities, SlmReadback
from drivers.errors import DeviceError
from drivers.slm_lut import TWO_PI, lut_sha256, phase_levels


class SLM(Device):
    """Shows a phase mask (radians), wrapped and mapped by a LUT; waits the settle time."""

    readback_type = SlmReadback
    gray_max = 255  # highest gray level the panel takes (a 10-bit panel: 1023)

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.lut = np.arange(256, dtype=np.uint8)  # drivers set their own at construction
        self.lut_name = "linear"
        self._levels_shown: np.ndarray | None = None
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
        """Put the gray image (shape ``self.shape``; uint8, or uint16 for a 10-bit LUT) on the SLM."""

    # ------------------------------------------------------------------ contract
    def show(self, phase_rad: np.ndarray, *, wait: bool = True, label: str = "") -> None:
        """Display ``phase_rad`` (shape ``self.shape``); waits the settle time unless told not to."""
        self.check_may_act("showing a mask")
        self.require_connected()
        phase_rad = np.asarray(phase_rad)
        self.check_shape(phase_rad)
        levels = phase_levels(phase_rad, len(self.lut))
        gray = np.ascontiguousarray(self.lut[levels], dtype=np.uint16 if self.lut.dtype == np.uint16 else np.uint8)
        with self.transaction():
            self._show_gray_hw(gray)
            self._levels_shown = levels
            self._mask_id += 1
            self._mask_label = label
            self._shown_at_s = self._clock_s()
            self._update_cache(mask_id=self._mask_id, mask_label=label, settled=self.settle_time_s <= 0)
        if wait:
            self._wait_s(self.settle_time_s)

    def set_lut(self, lut: np.ndarray, *, name: str) -> None:
        """Map phase through ``lut`` from now on (entry k: the gray level for phase 2 pi k / len(lut)); the
        mask on the panel is shown again through it. DeviceError naming what is allowed, nothing changed."""
        self.check_may_act("loading a LUT")
        self.require_connected()
        lut = np.asarray(lut)
        if (lut.ndim != 1 or len(lut) < 2 or not np.issubdtype(lut.dtype, np.integer)
                or int(lut.min()) < 0 or int(lut.max()) > self.gray_max):
            raise DeviceError(f"LUT {name!r} must be 2 or more integer gray levels in 0..{self.gray_max} "
                              f"(got shape {lut.shape}, dtype {lut.dtype})", device=self.name)
        lut = lut.astype(np.uint8 if self.gray_max <= 255 else np.uint16)
        with self.transaction():
            shown, old_count = self._levels_shown, len(self.lut)
            self.lut, self.lut_name = lut, name
            if shown is not None:  # the same phase (level * 2 pi / old count), in the new LUT's levels, exactly
                levels = (shown.astype(np.int64) * len(lut)) // old_count
                self._show_gray_hw(np.ascontiguousarray(lut[levels]))
                self._levels_shown = levels
                self._mask_id += 1
                self._shown_at_s = self._clock_s()
            self._update_cache(mask_id=self._mask_id, lut_name=name, lut_sha256=lut_sha256(lut))

    def current_phase_rad(self) -> np.ndarray:
        """The phase mask last shown, as quantised: level * 2 pi / levels, in [0, 2 pi)."""
        self.require_connected()
        if self._levels_shown is None:
            return np.zeros(self.shape, np.float32)
        return (self._levels_shown * np.float32(TWO_PI / len(self.lut))).astype(np.float32)

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
                           shape=tuple(self.shape), lut_name=self.lut_name, lut_sha256=lut_sha256(self.lut))

    def _capabilities_hw(self) -> SlmCapabilities:
        return SlmCapabilities(shape=tuple(self.shape), levels=len(self.lut), lut_name=self.lut_name,
                               settle_time_s=self.settle_time_s)

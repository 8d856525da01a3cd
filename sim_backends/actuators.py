"""Physical behaviour of the simulated actuators that the world evaluates: piezo, drift, laser ramp."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PiezoModel:
    """Open-loop piezo: displacement from volts with a quadratic nonlinearity and hysteresis.

    d(V) = a * h * (1 + beta * h / V_max), where h is the Prandtl-Ishlinskii hysteresis output: the mean
    of ``n`` play (backlash) operators with radii r_k = hysteresis_v * k / n (Visintin, Differential
    Models of Hysteresis, 1994; the standard piezo-stack model). With hysteresis_v = 0, h = V.
    """

    max_v: float = 75.0
    nonlinearity: float = 0.0
    hysteresis_v: float = 0.0
    n_operators: int = 4
    _plays: np.ndarray | None = None

    def displacement_um(self, volts: float, um_per_v: float) -> float:
        h = self._hysteresis(volts)
        return um_per_v * h * (1.0 + self.nonlinearity * h / self.max_v)

    def _hysteresis(self, volts: float) -> float:
        if self.hysteresis_v <= 0:
            return volts
        radii = self.hysteresis_v * np.arange(1, self.n_operators + 1) / self.n_operators
        if self._plays is None:
            self._plays = np.full(self.n_operators, float(volts))
        self._plays = np.clip(self._plays, volts - radii, volts + radii)
        return float(self._plays.mean())


@dataclass
class PhaseDrift:
    """Slow interferometer drift: linear rate plus a random walk (Wiener process) in simulated time."""

    rate_rad_per_s: float = 0.0
    walk_rad_per_sqrt_s: float = 0.0
    seed: int = 0
    _walk_rad: float = 0.0
    _last_s: float = 0.0
    _rng: np.random.Generator = field(init=False)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)

    def phase_rad(self, now_s: float) -> float:
        if self.walk_rad_per_sqrt_s > 0 and now_s > self._last_s:
            self._walk_rad += self.walk_rad_per_sqrt_s * np.sqrt(now_s - self._last_s) * self._rng.standard_normal()
        self._last_s = max(self._last_s, now_s)
        return self.rate_rad_per_s * now_s + self._walk_rad


@dataclass
class LaserRamp:
    """Output power approaches the setpoint exponentially, P(t) = P_set + (P_0 - P_set) exp(-(t - t0) / tau)."""

    time_constant_s: float = 0.0
    start_s: float = 0.0
    start_w: float = 0.0
    target_w: float = 0.0

    def restart(self, now_s: float, from_w: float, target_w: float) -> None:
        self.start_s, self.start_w, self.target_w = now_s, from_w, target_w

    def power_w(self, now_s: float, target_w: float) -> float:
        if self.time_constant_s <= 0 or target_w != self.target_w:
            return target_w  # an emulator set the power directly: no ramp modelled
        return target_w + (self.start_w - target_w) * float(np.exp(-(now_s - self.start_s) / self.time_constant_s))

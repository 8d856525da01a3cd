"""Physical behaviour of the simulated actuators that the world evaluates: piezo, drift, laser ramp.

Everything that changes during an exposure is integrated over it in closed form (docs/decisions/0010):
the pump ramp (mean power), linear drift (the sinc washout), a random walk (piecewise linear between
sub-samples, each piece exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PiezoModel:
    """Open-loop piezo: displacement from volts with a quadratic nonlinearity and hysteresis.

    d(V) = a * h * (1 + beta * h / V_max), where h is the Prandtl-Ishlinskii hysteresis output: the mean
    of ``n`` play (backlash) operators with radii r_k = 2 hysteresis_v k / (n + 1) (Visintin, Differential
    Models of Hysteresis, 1994; the standard piezo-stack model). Their mean radius is ``hysteresis_v``: after
    a sweep longer than the largest radius the output lags the command by exactly ``hysteresis_v``, so the
    loop's half-width in volts is ``hysteresis_v``. With hysteresis_v = 0, h = V.
    """

    max_v: float = 75.0
    nonlinearity: float = 0.0
    hysteresis_v: float = 0.0
    n_operators: int = 4
    _plays: np.ndarray | None = None

    def displacement_um(self, volts: float, um_per_v: float) -> float:
        h = self._hysteresis(volts)
        return um_per_v * h * (1.0 + self.nonlinearity * h / self.max_v)

    def radii_v(self) -> np.ndarray:
        n = self.n_operators
        return 2.0 * self.hysteresis_v * np.arange(1, n + 1) / (n + 1)

    def _hysteresis(self, volts: float) -> float:
        if self.hysteresis_v <= 0:
            return volts
        radii = self.radii_v()
        if self._plays is None:
            self._plays = np.full(self.n_operators, float(volts))
        self._plays = np.clip(self._plays, volts - radii, volts + radii)
        return float(self._plays.mean())


def mean_phasor_linear(phase0_rad: float, slope_rad: float) -> complex:
    """(1/T) integral_0^T exp(i (phase0 + slope t / T)) dt = exp(i (phase0 + slope/2)) sinc(slope/2)."""
    return complex(np.exp(1j * (phase0_rad + slope_rad / 2)) * np.sinc(slope_rad / (2 * np.pi)))


@dataclass
class PhaseDrift:
    """Slow interferometer drift: linear rate plus a random walk (Wiener process) in simulated time."""

    rate_rad_per_s: float = 0.0
    walk_rad_per_sqrt_s: float = 0.0
    seed: int = 0
    walk_substeps: int = 4  # pieces of the walk within one exposure (each integrated exactly as linear)
    _walk_rad: float = 0.0
    _last_s: float = 0.0
    _rng: np.random.Generator = field(init=False)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)

    def _walk_to(self, now_s: float) -> float:
        if self.walk_rad_per_sqrt_s > 0 and now_s > self._last_s:
            self._walk_rad += self.walk_rad_per_sqrt_s * np.sqrt(now_s - self._last_s) * self._rng.standard_normal()
        self._last_s = max(self._last_s, now_s)
        return self._walk_rad

    def phase_rad(self, now_s: float) -> float:
        return self.rate_rad_per_s * now_s + self._walk_to(now_s)

    def mean_phasor(self, start_s: float, exposure_s: float) -> complex:
        """<exp(i drift(t))> over [start, start + exposure]: the sinc washout of linear drift, exact."""
        if self.walk_rad_per_sqrt_s <= 0 or exposure_s <= 0:
            return mean_phasor_linear(self.phase_rad(start_s), self.rate_rad_per_s * exposure_s)
        n = self.walk_substeps
        dt = exposure_s / n
        total = 0j
        for k in range(n):
            t0 = start_s + k * dt
            a, b = self.phase_rad(t0), self.phase_rad(t0 + dt)
            total += mean_phasor_linear(a, b - a)
        return total / n


@dataclass
class LaserRamp:
    """Output power approaches the setpoint after a restart (emission on, new setpoint).

    exponential: P(t) = P_set + (P_0 - P_set) exp(-(t - t0) / T); linear (slow DPSS warm-up):
    P(t) = P_0 + (P_set - P_0) min(1, (t - t0) / T). ``mean_power_w`` integrates either over an exposure.
    """

    time_constant_s: float = 0.0
    shape: str = "exponential"
    start_s: float = 0.0
    start_w: float = 0.0
    target_w: float = 0.0

    def restart(self, now_s: float, from_w: float, target_w: float) -> None:
        self.start_s, self.start_w, self.target_w = now_s, from_w, target_w

    def _ramping(self, target_w: float) -> bool:
        return self.time_constant_s > 0 and target_w == self.target_w  # else an emulator set the power directly

    def power_w(self, now_s: float, target_w: float) -> float:
        if not self._ramping(target_w):
            return target_w
        t, tau, step = max(0.0, now_s - self.start_s), self.time_constant_s, self.start_w - target_w
        if self.shape == "linear":
            return target_w + step * max(0.0, 1.0 - t / tau)
        return target_w + step * float(np.exp(-t / tau))

    def mean_power_w(self, start_s: float, exposure_s: float, target_w: float) -> float:
        """(1/tau) integral of P over [start, start + tau], closed form."""
        if not self._ramping(target_w) or exposure_s <= 0:
            return self.power_w(start_s, target_w)
        tau, step = self.time_constant_s, self.start_w - target_w
        a, b = max(0.0, start_s - self.start_s), max(0.0, start_s + exposure_s - self.start_s)
        if b <= a:
            return self.power_w(start_s, target_w)
        if self.shape == "linear":  # integral of max(0, 1 - t/T)
            def area(t):
                t = min(t, tau)
                return t - t * t / (2 * tau)
        else:
            def area(t):
                return tau * (1.0 - np.exp(-t / tau))
        return target_w + step * float(area(b) - area(a)) / exposure_s


@dataclass
class OrnsteinUhlenbeck:
    """A stationary Gaussian process of RMS ``rms`` and correlation time ``time_s``, sampled forward in time."""

    rms: float
    time_s: float
    seed: object = 0
    value: float = 0.0
    _last_s: float | None = None
    _rng: np.random.Generator = field(init=False)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)

    def at(self, now_s: float, rng: np.random.Generator | None = None) -> float:
        if self.rms <= 0:
            return 0.0
        r = rng or self._rng
        if self._last_s is None:
            self.value = self.rms * float(r.standard_normal())
        elif now_s > self._last_s:
            rho = np.exp(-(now_s - self._last_s) / self.time_s)
            self.value = rho * self.value + self.rms * np.sqrt(1 - rho * rho) * float(r.standard_normal())
        self._last_s = now_s if self._last_s is None else max(self._last_s, now_s)
        return self.value


def averaged_jitter_variance(rms_rad: float, bandwidth_hz: float, exposure_s: float) -> float:
    """Variance of the exposure average of Lorentzian (Ornstein-Uhlenbeck) jitter, tau_c = 1 / (2 pi B):

    sigma_bar^2 = sigma^2 2 x^-2 (x - 1 + exp(-x)),  x = exposure / tau_c.
    """
    x = exposure_s * 2 * np.pi * bandwidth_hz
    if x < 1e-6:
        return rms_rad**2
    return float(rms_rad**2 * 2.0 * (x - 1.0 + np.exp(-x)) / x**2)


@dataclass
class Vibration:
    """Fast phase jitter (vibration) of RMS sigma and bandwidth B, integrated over each exposure.

    Split into the exposure's mean (Gaussian, variance sigma_bar^2 above, drawn per frame and correlated
    between frames over tau_c) and the rest, whose phasor averages to exp(-(sigma^2 - sigma_bar^2) / 2);
    exact in both limits (B tau >> 1: V/V0 = exp(-sigma^2/2); B tau << 1: a random phase per frame).
    """

    rms_rad: float = 0.0
    bandwidth_hz: float = 200.0
    _mean: OrnsteinUhlenbeck | None = None
    _exposure_s: float = -1.0

    def mean_phasor(self, start_s: float, exposure_s: float, rng: np.random.Generator) -> complex:
        if self.rms_rad <= 0:
            return 1.0 + 0j
        var_bar = averaged_jitter_variance(self.rms_rad, self.bandwidth_hz, exposure_s)
        if self._mean is None or exposure_s != self._exposure_s:
            self._mean = OrnsteinUhlenbeck(np.sqrt(var_bar), 1.0 / (2 * np.pi * self.bandwidth_hz))
            self._exposure_s = exposure_s
        phase = self._mean.at(start_s, rng)
        return complex(np.exp(1j * phase - (self.rms_rad**2 - var_bar) / 2))

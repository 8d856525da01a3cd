"""Sensorless modal wavefront correction: Booth's 2N+1 parabolic and N+1 quadratic-model methods.

Both work on a metric that falls with the residual aberration. For the fringe visibility of an
induced-coherence interferometer, V = V0 |<exp(i W)>|, which for small residuals W (with unit-RMS,
orthonormal modes of coefficient a_i) is V ~ V0 exp(-sum a_i^2 / 2): the *log* metric
L = ln V = ln V0 - (1/2) sum (a_i)^2 is exactly quadratic with curvature 1/2 per rad^2 in each mode.

* 2N+1 (Booth, Opt. Express 15, 5 (2007)): per mode, L at biases -b, 0, +b; the parabola through the
  three points puts the optimum at  a_i = -b (L+ - L-) / (2 (L+ - 2 L0 + L-)).  Needs no curvature.
* N+1 (Booth, Opt. Lett. 31, 2006 model-based approach): one measurement at the current correction
  and one per mode with bias b; with the known curvature k (1/2 for the log-visibility),
  L0 - L_i = k (2 b a_i + b^2)  ->  a_i = (L0 - L_i) / (2 k b) - b / 2.

Guards: a step larger than ``max_step_factor`` x bias in any mode (noise, or a metric far outside the
quadratic region) is clipped to that size and reported, so one bad measurement cannot throw the SLM
far off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

LOG_VISIBILITY_CURVATURE = 0.5  # d^2(-ln V)/da^2 per mode, unit-RMS orthonormal modes, rad^-2


@dataclass
class ModalStep:
    """One estimate: the correction change per mode and how it was found."""

    delta_rad_rms: np.ndarray
    measurements: int
    clipped_modes: list[int] = field(default_factory=list)
    metrics: list[tuple[np.ndarray, float]] = field(default_factory=list)  # (coefficients shown, metric)


def _log_metric(value: float) -> float:
    return float(np.log(max(value, 1e-12)))


def parabolic_optimum(l_minus: float, l_zero: float, l_plus: float, bias: float) -> float | None:
    """Vertex of the parabola through (-b, L-), (0, L0), (+b, L+); None if it opens upwards (no maximum)."""
    curvature = l_plus - 2.0 * l_zero + l_minus
    if curvature >= 0:
        return None
    return -bias * (l_plus - l_minus) / (2.0 * curvature)


def _clip(delta: np.ndarray, limit: float) -> tuple[np.ndarray, list[int]]:
    clipped = [int(k) for k in np.flatnonzero(np.abs(delta) > limit)]
    return np.clip(delta, -limit, limit), clipped


def step_2n_plus_1(measure: Callable[[np.ndarray], float], current: np.ndarray, bias_rad: float, *,
                   max_step_factor: float = 2.0, log_metric: bool = True) -> ModalStep:
    """One 2N+1 cycle around ``current`` (rad RMS per mode); ``measure(coefficients) -> metric``."""
    current = np.asarray(current, np.float64)
    n = current.size
    to_l = _log_metric if log_metric else float
    step = ModalStep(np.zeros(n), 0)
    base = to_l(_record(step, measure, current))
    for k in range(n):
        offset = np.zeros(n)
        offset[k] = bias_rad
        l_plus = to_l(_record(step, measure, current + offset))
        l_minus = to_l(_record(step, measure, current - offset))
        vertex = parabolic_optimum(l_minus, base, l_plus, bias_rad)
        if vertex is None:  # no maximum seen: move towards the better side by one bias
            vertex = bias_rad if l_plus > l_minus else -bias_rad
        step.delta_rad_rms[k] = vertex
    step.delta_rad_rms, step.clipped_modes = _clip(step.delta_rad_rms, max_step_factor * bias_rad)
    return step


def step_n_plus_1(measure: Callable[[np.ndarray], float], current: np.ndarray, bias_rad: float, *,
                  curvature: float | Sequence[float] = LOG_VISIBILITY_CURVATURE, max_step_factor: float = 2.0) -> ModalStep:
    """One N+1 cycle: the log metric at ``current`` and with +bias in each mode, with known curvature."""
    current = np.asarray(current, np.float64)
    n = current.size
    curvatures = np.broadcast_to(np.asarray(curvature, np.float64), (n,))  # one value, or one per mode
    step = ModalStep(np.zeros(n), 0)
    base = _log_metric(_record(step, measure, current))
    for k in range(n):
        offset = np.zeros(n)
        offset[k] = bias_rad
        l_k = _log_metric(_record(step, measure, current + offset))
        # L(a) = L_max - k (a + c)^2 with a the shown coefficient: the optimum is a = -c
        residual = (base - l_k) / (2.0 * curvatures[k] * bias_rad) - bias_rad / 2.0
        step.delta_rad_rms[k] = -residual
    step.delta_rad_rms, step.clipped_modes = _clip(step.delta_rad_rms, max_step_factor * bias_rad)
    return step


def measured_curvatures(measure: Callable[[np.ndarray], float], n_modes: int, bias_rad: float, *,
                        repeats: int = 1) -> np.ndarray:
    """N+1's model measured on the system: per mode the secant curvature of -ln(metric) at +-bias around
    the optimum, k_i = (L0 - (L+ + L-) / 2) / b^2 (L = ln metric), ``repeats`` times averaged.

    Call it where the metric is at its optimum in every mode (e.g. the bench without aberration): what
    the SLM really delivers for a bias (its LUT slope where the masks sit, crosstalk, the beam) is then in
    the model, rather than the ideal panel's prediction. Zero or negative curvatures (noise) raise."""
    if bias_rad <= 0 or repeats < 1 or n_modes < 1:
        raise ValueError("need bias_rad > 0, repeats >= 1 and at least one mode")
    zero = np.zeros(n_modes)
    sums = np.zeros(n_modes)
    for _ in range(repeats):
        for k in range(n_modes):
            offset = np.zeros(n_modes)
            offset[k] = bias_rad
            l_zero = _log_metric(measure(zero))
            sides = _log_metric(measure(offset)) + _log_metric(measure(-offset))
            sums[k] += (l_zero - sides / 2.0) / bias_rad**2
    curvatures = sums / repeats
    if np.any(curvatures <= 0):
        raise ValueError(f"no metric maximum seen in modes {np.flatnonzero(curvatures <= 0).tolist()}: is the "
                         f"metric at its optimum, and the bias large enough against the noise?")
    return curvatures


def _record(step: ModalStep, measure, coefficients: np.ndarray) -> float:
    value = float(measure(coefficients.copy()))
    step.measurements += 1
    step.metrics.append((coefficients.copy(), value))
    return value


@dataclass
class ModalResult:
    """Where the optimisation ended: the correction, every step, and the measurements used."""

    correction_rad_rms: np.ndarray
    steps: list[ModalStep]

    @property
    def measurements(self) -> int:
        return sum(s.measurements for s in self.steps)


def optimise(measure: Callable[[np.ndarray], float], n_modes: int, *, method: str = "2n+1", bias_rad: float = 0.5,
             cycles: int = 2, start: Sequence[float] | None = None, max_step_factor: float = 2.0,
             curvature: float | Sequence[float] = LOG_VISIBILITY_CURVATURE,
             on_step: Callable[[int, ModalStep, np.ndarray], None] | None = None) -> ModalResult:
    """Run ``cycles`` cycles of the chosen method from ``start`` (zeros by default).

    ``curvature`` (N+1 only): d^2(-ln metric)/da^2 in the units of the coefficients, one value or one per
    mode; a mask that acts p times (double pass) has p^2 times the single-pass value.
    """
    if method not in ("2n+1", "n+1"):
        raise ValueError(f"method must be '2n+1' or 'n+1', not {method!r}")
    if bias_rad <= 0 or cycles < 1 or n_modes < 1:
        raise ValueError("need bias_rad > 0, cycles >= 1 and at least one mode")
    current = np.zeros(n_modes) if start is None else np.asarray(start, np.float64).copy()
    steps = []
    for cycle in range(cycles):
        if method == "2n+1":
            step = step_2n_plus_1(measure, current, bias_rad, max_step_factor=max_step_factor)
        else:
            step = step_n_plus_1(measure, current, bias_rad, curvature=curvature, max_step_factor=max_step_factor)
        current = current + step.delta_rad_rms
        steps.append(step)
        if on_step is not None:
            on_step(cycle, step, current.copy())
    return ModalResult(current, steps)

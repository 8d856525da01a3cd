"""Results from step sums, stage by stage, through the pipeline (the engine only decides what and when).

Where a pipeline function has not landed yet (``complex_field``, ``depth_from_delay_scan``) a thin
local fallback with the same call stands in; see decision 0033.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.engine.plan import Plan, Stage
from app.pipeline import FringeMaps, StepAccumulator, demodulate, normalise_by_reference


def complex_field(step_means: np.ndarray, step_phases_rad) -> np.ndarray:
    """Complex fringe field (2/N) sum a_k exp(-i theta_k): |.| = fringe amplitude, angle = phase."""
    try:
        from app.pipeline.depth import complex_field as pipeline_complex_field
    except ImportError:
        theta = np.asarray(step_phases_rad, float)
        return (2.0 / len(theta)) * np.tensordot(np.exp(-1j * theta), step_means, axes=1)
    return pipeline_complex_field(step_means, np.asarray(step_phases_rad, float))


def depth_from_delay_scan(fields: np.ndarray, delays_um: np.ndarray):
    """(depth_um, reflectivity, volume) from complex fields (Z, h, w) at ``delays_um``."""
    try:
        from app.pipeline.depth import depth_from_delay_scan as pipeline_depth
    except ImportError:
        return _fallback_depth(fields, np.asarray(delays_um, float))
    maps = pipeline_depth(fields, np.asarray(delays_um, float))
    envelope = getattr(maps, "envelope", None)
    return maps.depth_um, maps.reflectivity, np.abs(fields) if envelope is None else envelope


def _fallback_depth(fields: np.ndarray, delays_um: np.ndarray):
    envelope = np.abs(fields)
    k = np.clip(np.argmax(envelope, axis=0), 1, len(delays_um) - 2)
    rows, cols = np.indices(k.shape)
    y0, y1, y2 = envelope[k - 1, rows, cols], envelope[k, rows, cols], envelope[k + 1, rows, cols]
    denom = y0 - 2 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    step = np.gradient(delays_um)[k]
    return delays_um[k] + np.clip(shift, -0.5, 0.5) * step, y1 - 0.25 * (y0 - y2) * shift, envelope


def fringe_period(piezo: np.ndarray, means: np.ndarray, nominal_period: float) -> float:
    """Piezo travel per fringe from a sweep: the frequency maximising the summed per-pixel periodogram."""
    d = means.reshape(len(piezo), -1)
    d = d - d.mean(axis=0)
    keep = np.argsort(d.var(axis=0))[-4000:]  # the best-modulated pixels
    d = d[:, keep]
    span = piezo[-1] - piezo[0]
    nyquist = 0.5 / np.median(np.diff(piezo))

    def power(freqs):
        e = np.exp(-2j * np.pi * np.outer(freqs, piezo - piezo[0]))
        return (np.abs(e @ d) ** 2).sum(axis=1)

    freqs = np.linspace(1.2 / span, min(nyquist, 4.0 / nominal_period), 1500)
    best = freqs[np.argmax(power(freqs))]
    df = freqs[1] - freqs[0]
    fine = np.linspace(best - df, best + df, 401)
    return float(1.0 / fine[np.argmax(power(fine))])


@dataclass
class Analysis:
    """Turns each finished stage into results; holds what later stages need (dark, reference)."""

    plan: Plan
    min_reference_visibility: float = 0.05
    dark: np.ndarray | float = 0.0
    reference: FringeMaps | None = None
    fields: dict[int, np.ndarray] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def stage_done(self, stage: Stage, acc: StepAccumulator) -> dict:
        """Results of a finished stage as {name: (array, index or None)}."""
        if stage.kind == "dark":
            self.dark = acc.sums[0] / float(acc.counts[0])
            return {"dark": (self.dark.astype(np.float32), None)}
        means = acc.mean_frames(self.dark)
        if stage.kind == "reference":
            self.reference = demodulate(means, np.array(stage.step_phases_rad))
            return {"reference_visibility": (self.reference.visibility.astype(np.float32), None),
                    "reference_phase": (self.reference.phase_rad.astype(np.float32), None)}
        if stage.kind == "sample":
            return self._object(stage, means)
        if stage.kind == "delay":
            z = stage.index
            self.fields[z] = complex_field(means, stage.step_phases_rad)
            return {"field_amplitude": (np.abs(self.fields[z]).astype(np.float32), z),
                    "field_phase": (np.angle(self.fields[z]).astype(np.float32), z)}
        if stage.kind == "sweep":
            piezo = np.array(stage.piezo_v)
            nominal = 2 * np.pi * (piezo[1] - piezo[0]) / (stage.step_phases_rad[1] - stage.step_phases_rad[0])
            period = fringe_period(piezo, means, nominal)
            self.extra["piezo_per_2pi"] = period
            return {"piezo_per_2pi": (period, None), "sweep_piezo": (piezo, None)}
        return {}

    def _object(self, stage: Stage, means: np.ndarray) -> dict:
        sample = demodulate(means, np.array(stage.step_phases_rad))
        index = stage.index if self.plan.sequence == "time-series" else None
        out = {"visibility": (sample.visibility.astype(np.float32), index)}
        if self.reference is not None:
            maps = normalise_by_reference(sample, self.reference, min_reference_visibility=self.min_reference_visibility)
            out.update(amplitude=(maps.amplitude.astype(np.float32), index), phase=(maps.phase_rad.astype(np.float32), index),
                       mask=(maps.mask.astype(np.uint8), index))
        else:
            out.update(phase=(sample.phase_rad.astype(np.float32), index))
        return out

    def run_done(self) -> dict:
        """Results that need every stage (the depth map of a delay scan)."""
        if self.plan.sequence != "delay-scan":
            return {}
        delays = np.array([s.delay_um for s in self.plan.stages if s.kind == "delay"])
        fields = np.stack([self.fields[z] for z in range(len(delays))])
        depth, reflectivity, volume = depth_from_delay_scan(fields, delays)
        return {"delays_um": (delays, None), "depth_um": (np.asarray(depth, np.float32), None),
                "reflectivity": (np.asarray(reflectivity, np.float32), None),
                "volume": (np.asarray(volume, np.float32), None)}

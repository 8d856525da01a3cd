"""Results from step sums, stage by stage, through the pipeline (the engine only decides what and when)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.engine.plan import Plan, PlanStage
from app.pipeline import FringeMaps, complex_field, demodulate
from app.pipeline.depth import depth_from_delay_scan
from app.pipeline.reconstruct import RunSums, reconstruct


def fringe_period(piezo: np.ndarray, means: np.ndarray, nominal_period: float) -> float:
    """Piezo travel per fringe from a sweep (J points, (J, h, w) means).

    For each trial frequency, every pixel's signal is least-squares fitted with offset + cos + sin; the
    frequency explaining the most variance over the best-modulated pixels wins (unbiased for a sweep
    that is not a whole number of fringes, unlike a plain periodogram).
    """
    d = means.reshape(len(piezo), -1)
    d = d - d.mean(axis=0)
    d = d[:, np.argsort(d.var(axis=0))[-1000:]]
    x = piezo - piezo[0]

    def explained(freqs):
        out = np.empty(len(freqs))
        for i, f in enumerate(freqs):
            design = np.stack([np.ones_like(x), np.cos(2 * np.pi * f * x), np.sin(2 * np.pi * f * x)], axis=1)
            q, _ = np.linalg.qr(design)
            out[i] = np.sum((q.T @ d) ** 2)
        return out

    span = x[-1]
    nyquist = 0.5 / np.median(np.diff(x))
    freqs = np.linspace(1.2 / span, min(nyquist, 4.0 / nominal_period), 400)
    best = freqs[np.argmax(explained(freqs))]
    df = freqs[1] - freqs[0]
    fine = np.linspace(best - df, best + df, 201)
    return float(1.0 / fine[np.argmax(explained(fine))])


@dataclass
class Analysis:
    """Turns each finished stage into results; holds what later stages need (dark, reference)."""

    plan: Plan
    min_reference_visibility: float = 0.05
    gain_e_per_adu: float | None = None  # camera data; without it the sigma maps are NaN
    read_noise_e: float | None = None
    dark: np.ndarray | float = 0.0
    dark_sums: RunSums | None = None
    reference: FringeMaps | None = None
    reference_sums: RunSums | None = None
    fields: dict[int, np.ndarray] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def stage_done(self, stage: PlanStage, acc) -> dict:
        """Results of a finished stage as {name: (array, index or None)}."""
        if stage.kind == "dark":
            self.dark = acc.sums[0] / float(acc.counts[0])
            self.dark_sums = RunSums(np.array(acc.sums), np.array(acc.counts))
            return {"dark": (self.dark.astype(np.float32), None)}
        means = acc.mean_frames(self.dark)
        if stage.kind == "reference":
            self.reference = demodulate(means, np.array(stage.step_phases_rad))
            self.reference_sums = RunSums(np.array(acc.sums), np.array(acc.counts), np.array(acc.saturated))
            return {"reference_visibility": (self.reference.visibility.astype(np.float32), None),
                    "reference_phase": (self.reference.phase_rad.astype(np.float32), None)}
        if stage.kind == "sample":
            return self._object(stage, acc)
        if stage.kind == "delay":
            z = stage.index
            self.fields[z] = complex_field(means, stage.step_phases_rad)
            return {"volume": (np.abs(self.fields[z]).astype(np.float32), z),
                    "field_phase": (np.angle(self.fields[z]).astype(np.float32), z)}
        if stage.kind == "sweep":
            piezo = np.array(stage.piezo_setpoints)
            nominal = 2 * np.pi * (piezo[1] - piezo[0]) / (stage.step_phases_rad[1] - stage.step_phases_rad[0])
            period = fringe_period(piezo, means, nominal)
            self.extra["piezo_per_2pi"] = period
            return {"piezo_per_2pi": (period, None), "sweep_piezo": (piezo, None)}
        return {}

    def _object(self, stage: PlanStage, acc) -> dict:
        """The same reconstruction ``qiup reprocess`` makes from the file's sums (one code path)."""
        known_noise = self.gain_e_per_adu is not None
        recon = reconstruct(
            RunSums(acc.sums, acc.counts, acc.saturated), reference=self.reference_sums,
            dark=self.dark_sums if self.dark_sums is not None else None,
            step_phases_rad=np.array(stage.step_phases_rad),
            gain_e_per_adu=self.gain_e_per_adu if known_noise else 1.0,
            read_noise_e=self.read_noise_e or 0.0, min_reference_visibility=self.min_reference_visibility)
        index = stage.index if self.plan.sequence == "time-series" else None
        maps = {"visibility": recon.visibility, "amplitude": recon.amplitude, "phase": recon.phase_rad,
                "phase_unwrapped": recon.phase_unwrapped_rad, "sigma_phase": recon.sigma_phase_rad,
                "sigma_visibility": recon.sigma_visibility, "sigma_amplitude": recon.sigma_amplitude}
        if not known_noise:
            for name in ("sigma_phase", "sigma_visibility", "sigma_amplitude"):
                maps[name] = np.full(recon.visibility.shape, np.nan)
        out = {name: (data.astype(np.float32), index) for name, data in maps.items()}
        for name, flags in (("mask", recon.mask), ("hot_pixels", recon.hot_pixels), ("saturated", recon.saturated)):
            out[name] = (flags.astype(np.uint8), index)
        return out

    def run_done(self) -> dict:
        """Results that need every stage (the depth map of a delay scan)."""
        if self.plan.sequence != "delay-scan":
            return {}
        delays = np.array([s.delay_um for s in self.plan.stages if s.kind == "delay"])
        fields = np.stack([self.fields[z] for z in range(len(delays))])
        maps = depth_from_delay_scan(fields, delays)
        return {"delays_um": (delays, None), "depth_um": (maps.depth_um.astype(np.float32), None),
                "reflectivity": (maps.reflectivity.astype(np.float32), None),
                "volume": (maps.envelope.astype(np.float32), None)}

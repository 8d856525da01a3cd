"""Suspenders: conditions that pause a run while they hold ([suspenders] in the config).

Each check returns None when all is well, or a sentence saying what is wrong. The runner discards the
cycle in which a suspender tripped, waits until every check passes again, then repeats that cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.config.schema import SuspenderConfig
from app.pipeline import demodulate


@dataclass
class Suspenders:
    config: SuspenderConfig
    saturation_adu: int

    def check_laser(self, setpoint_w: float, measured_w: float) -> str | None:
        cfg = self.config
        if not cfg.laser_power or setpoint_w <= 0:
            return None
        error = abs(measured_w - setpoint_w) / setpoint_w
        if error > cfg.laser_power_tolerance:
            return (f"laser power {measured_w * 1e3:.1f} mW is {100 * error:.0f} % off the setpoint "
                    f"{setpoint_w * 1e3:.1f} mW (tolerance {100 * cfg.laser_power_tolerance:.0f} %)")
        return None

    def check_saturation(self, frame: np.ndarray) -> str | None:
        cfg = self.config
        if not cfg.saturation:
            return None
        fraction = np.count_nonzero(frame >= self.saturation_adu) / frame.size
        if fraction > cfg.max_saturated_fraction:
            return (f"{100 * fraction:.2f} % of pixels saturated (allowed {100 * cfg.max_saturated_fraction:.2f} %); "
                    "lower the exposure or the pump power")
        return None

    def check_visibility(self, step_means: np.ndarray, step_phases_rad) -> str | None:
        """Median visibility in the region over one cycle's dark-subtracted step means (N, h, w)."""
        cfg = self.config
        if not cfg.visibility:
            return None
        v = self.region_visibility(step_means, step_phases_rad)
        if v < cfg.min_visibility:
            return f"reference-region visibility {v:.3f} below {cfg.min_visibility:.3f} (misalignment?)"
        return None

    def region_visibility(self, step_means: np.ndarray, step_phases_rad) -> float:
        r = self.config.visibility_region
        region = step_means if r is None else step_means[:, r.y:r.y + r.height, r.x:r.x + r.width]
        maps = demodulate(region, np.asarray(step_phases_rad))
        bright = maps.mean > 0.5 * np.percentile(maps.mean, 99)
        return float(np.median(maps.visibility[bright])) if bright.any() else 0.0

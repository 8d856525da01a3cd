"""A run file written through the one writer from given step sums (for tests that start from sums, not frames)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.engine.plan import Plan, PlanStage, plan_to_json
from app.storage import RunWriter


def write_run_file(path: Path, runs: dict, *, config_text: str, parameters: dict | None = None,
                   step_phases_rad=None) -> Path:
    """``runs``: {label: RunSums} for dark/reference/sample; each step committed once with its whole sum."""
    shape = next(iter(runs.values())).sums.shape[1:]
    stages = []
    for label, r in runs.items():
        n = r.sums.shape[0]
        phases = tuple(float(p) for p in (step_phases_rad if step_phases_rad is not None and n > 1
                                          else 2 * np.pi * np.arange(n) / n))
        stages.append(PlanStage(label=label, kind=label, piezo_setpoints=tuple(0.0 for _ in range(n)), step_phases_rad=phases,
                            frames_per_step=int(max(r.counts)), laser_on=label != "dark"))
    plan = Plan(sequence="phase-stepping", stages=tuple(stages), results=(), frame_shape=tuple(shape),
                laser_power_w=0.1, exposure_s=None, frame_timeout_s=1.0)
    writer = RunWriter.create(path, plan=plan, plan_json=plan_to_json(plan), config_text=config_text,
                              config_path="test", identities={}, parameters=parameters or {})
    blocks = frames = 0
    for label, r in runs.items():
        saturated = np.zeros(shape, bool) if r.saturated is None else r.saturated
        for k in range(r.sums.shape[0]):
            blocks, frames = blocks + 1, frames + int(r.counts[k])
            writer.commit_block(label, k, r.sums[k], int(r.counts[k]), saturated, blocks_done=blocks,
                                frames_done=frames)
    writer.finish("complete")
    return path

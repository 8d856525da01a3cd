"""A sequence expanded into plain data: stages (what the bench is set to) and blocks (what is taken).

A *stage* is one accumulation with its own step sums (``/runs/<label>``): dark, reference, sample, one
delay of a scan, one point of a sweep. A *block* is one visit of one step of a stage in one cycle; it is
the unit that is flushed to disk and the point from which a crashed run resumes. Frames of a step are
spread over cycles (step 0..N-1, then again) so that slow drift averages out over every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

StageKind = Literal["dark", "reference", "sample", "delay", "sweep"]


@dataclass(frozen=True)
class Stage:
    """One accumulation: the bench settings it needs and how its frames are spread over cycles."""

    label: str  # group name under /runs
    kind: StageKind
    piezo_v: tuple[float, ...]  # piezo setpoint of each step (stage unit of the phase piezo)
    step_phases_rad: tuple[float, ...]  # nominal interferometer phase of each step
    frames_per_step: int
    cycles: int = 1
    laser_on: bool = True
    sample_in: bool | None = None  # None: leave the sample stage alone
    delay_um: float | None = None  # None: leave the delay stage alone
    phase_lock: bool = False
    start_after_s: float = 0.0  # time-series: earliest start, from the start of the run
    index: int = 0  # position in the plan (time-series repeat, delay index, ...)

    @property
    def n_steps(self) -> int:
        return len(self.piezo_v)

    def frames_in_cycle(self, cycle: int) -> int:
        """Frames per step visit in ``cycle``; the remainder of F / cycles goes to the first cycles."""
        base, extra = divmod(self.frames_per_step, self.cycles)
        return base + (1 if cycle < extra else 0)


@dataclass(frozen=True)
class Block:
    """One visit of one step: ``frames`` frames at ``stages[stage].piezo_v[step]``."""

    stage: int
    cycle: int
    step: int
    frames: int


@dataclass(frozen=True)
class ResultSpec:
    """A result dataset pre-created in the run file (filled with NaN until it is computed)."""

    name: str
    shape: tuple[int, ...]
    unit: str
    dtype: str = "float32"
    description: str = ""


@dataclass(frozen=True)
class Plan:
    """Everything a run will do, derived only from parameters, calibration and device limits."""

    sequence: str
    stages: tuple[Stage, ...]
    results: tuple[ResultSpec, ...]
    frame_shape: tuple[int, int]
    laser_power_w: float
    exposure_s: float | None
    frame_timeout_s: float
    blocks: tuple[Block, ...] = field(default=())

    def __post_init__(self):
        if not self.blocks:
            object.__setattr__(self, "blocks", tuple(_expand(self.stages)))

    def total_frames(self) -> int:
        return sum(b.frames for b in self.blocks)

    def frames_before(self, block_index: int) -> int:
        return sum(b.frames for b in self.blocks[:block_index])

    def stage_by_label(self, label: str) -> Stage:
        return next(s for s in self.stages if s.label == label)


def _expand(stages: tuple[Stage, ...]):
    for i, stage in enumerate(stages):
        for cycle in range(stage.cycles):
            n = stage.frames_in_cycle(cycle)
            if n == 0:
                continue
            for step in range(stage.n_steps):
                yield Block(stage=i, cycle=cycle, step=step, frames=n)


def equal_steps(n_steps: int, start_v: float, volts_per_2pi: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Piezo setpoints and nominal phases of N equal steps over one fringe."""
    phases = 2.0 * np.pi * np.arange(n_steps) / n_steps
    volts = start_v + volts_per_2pi * phases / (2.0 * np.pi)
    return tuple(float(v) for v in volts), tuple(float(p) for p in phases)


def plan_to_json(plan: Plan) -> str:
    """The plan as JSON (stored in the run file so that resume repeats exactly the same plan)."""
    import dataclasses
    import json

    data = dataclasses.asdict(plan)
    data.pop("blocks")
    return json.dumps(data)


def plan_from_json(text: str) -> Plan:
    import json

    data = json.loads(text)
    stages = tuple(Stage(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()}) for s in data.pop("stages"))
    results = tuple(ResultSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in r.items()})
                    for r in data.pop("results"))
    return Plan(stages=stages, results=results, frame_shape=tuple(data.pop("frame_shape")), **data)

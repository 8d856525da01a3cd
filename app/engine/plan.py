"""A sequence expanded into plain data: stages (what the bench is set to) and blocks (what is taken).

A *stage* is one accumulation with its own step sums (``/runs/<label>``): dark, reference, sample, one
delay of a scan, one point of a sweep. A *block* is one visit of one step of a stage in one cycle; it is
the unit that is flushed to disk and the point from which a crashed run resumes. Frames of a step are
spread over cycles (step 0..N-1, then again) so that slow drift averages out over every step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.engine.params import ParameterError

MAX_BLOCKS = 1_000_000  # a larger plan is refused (its block list alone would be ~100 MB)
MEMORY_FRACTION = 0.5  # of physical memory a run may plan to hold (sums, results, delay-scan fields)


class PlanTooLarge(ParameterError):
    """A plan that would exhaust memory or exceed the block limit; the message says what to reduce."""

StageKind = Literal["dark", "reference", "sample", "delay", "sweep"]


@dataclass(frozen=True)
class PlanStage:
    """One accumulation: the bench settings it needs and how its frames are spread over cycles."""

    label: str  # group name under /runs
    kind: StageKind
    piezo_setpoints: tuple[float, ...]  # phase-piezo setpoint of each step, in the piezo's unit (V or um)
    step_phases_rad: tuple[float, ...]  # nominal interferometer phase of each step
    frames_per_step: int
    cycles: int = 1
    laser_on: bool = True
    sample_in: bool | None = None  # None: leave the sample stage alone
    delay_um: float | None = None  # None: leave the delay stage alone
    phase_lock: bool = False
    start_after_s: float = 0.0  # time-series: earliest start, from the start of the run
    index: int = 0  # position in the plan (time-series repeat, delay index, ...)
    slm_steps_rad: tuple[float, ...] | None = None  # SLM phase stepping: uniform SLM phase of each step (None: piezo)

    @property
    def n_steps(self) -> int:
        return len(self.piezo_setpoints)

    def frames_in_cycle(self, cycle: int) -> int:
        """Frames per step visit in ``cycle``; the remainder of F / cycles goes to the first cycles."""
        base, extra = divmod(self.frames_per_step, self.cycles)
        return base + (1 if cycle < extra else 0)


@dataclass(frozen=True)
class Block:
    """One visit of one step: ``frames`` frames at ``stages[stage].piezo_setpoints[step]``."""

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
    stages: tuple[PlanStage, ...]
    results: tuple[ResultSpec, ...]
    frame_shape: tuple[int, int]
    laser_power_w: float
    exposure_s: float | None
    frame_timeout_s: float
    slm_correction_json: str | None = None  # a Correction shown on the SLM for the whole run (None: leave the SLM)
    blocks: tuple[Block, ...] = field(default=())

    def __post_init__(self):
        if not self.blocks:
            n_blocks = sum(stage.n_steps * min(stage.cycles, stage.frames_per_step) for stage in self.stages)
            if n_blocks > MAX_BLOCKS:
                raise PlanTooLarge(f"{self.sequence}: the plan has {n_blocks:,} blocks (steps x cycles per stage); "
                                   f"at most {MAX_BLOCKS:,} are allowed: use fewer cycles, steps or repeats")
            object.__setattr__(self, "blocks", tuple(_expand(self.stages)))
        # frames before each block, precomputed: progress and resume cost O(1) per frame
        cumulative = np.zeros(len(self.blocks) + 1, np.int64)
        np.cumsum([b.frames for b in self.blocks], out=cumulative[1:])
        object.__setattr__(self, "_frames_before", cumulative)

    def total_frames(self) -> int:
        return int(self._frames_before[-1])

    def frames_before(self, block_index: int) -> int:
        return int(self._frames_before[min(block_index, len(self.blocks))])

    def stage_by_label(self, label: str) -> PlanStage:
        return next(s for s in self.stages if s.label == label)


def _expand(stages: tuple[PlanStage, ...]):
    for i, stage in enumerate(stages):
        for cycle in range(stage.cycles):
            n = stage.frames_in_cycle(cycle)
            if n == 0:
                continue
            for step in range(stage.n_steps):
                yield Block(stage=i, cycle=cycle, step=step, frames=n)


def equal_steps(n_steps: int, start: float, travel_per_2pi: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Piezo setpoints (the piezo's unit) and nominal phases of N equal steps over one fringe."""
    phases = 2.0 * np.pi * np.arange(n_steps) / n_steps
    setpoints = start + travel_per_2pi * phases / (2.0 * np.pi)
    return tuple(float(v) for v in setpoints), tuple(float(p) for p in phases)


def plan_memory_bytes(plan: Plan, *, results_in_memory: bool) -> int:
    """What a run of ``plan`` holds in memory at most: one stage's sums (x2 for the cycle and a uint64
    spill), the dark and reference sums, results kept in memory, and a delay scan's complex fields."""
    pixels = int(np.prod(plan.frame_shape))
    steps = max((s.n_steps for s in plan.stages), default=1)
    total = steps * pixels * (4 + 4 + 8) + 2 * steps * pixels * 8
    for spec in plan.results:
        if results_in_memory or len(spec.shape) < 3:
            total += int(np.prod(spec.shape, dtype=np.int64)) * np.dtype(spec.dtype).itemsize
    total += sum(1 for s in plan.stages if s.kind == "delay") * pixels * 16
    return total


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(plan: Plan, *, results_in_memory: bool, limit_bytes: int | None = None) -> None:
    """PlanTooLarge if the run would hold more than ``limit_bytes`` (default: half the physical memory)."""
    if limit_bytes is None:
        physical = physical_memory_bytes()
        if physical is None:
            return
        limit_bytes = int(MEMORY_FRACTION * physical)
    need = plan_memory_bytes(plan, results_in_memory=results_in_memory)
    if need > limit_bytes:
        where = "" if not results_in_memory else " (a run without a file keeps every result in memory)"
        raise PlanTooLarge(f"{plan.sequence}: the run would hold {need / 2**30:.1f} GiB in memory{where}, "
                           f"more than the {limit_bytes / 2**30:.1f} GiB allowed: use a smaller ROI or fewer "
                           "repeats/delays")


def plan_to_json(plan: Plan) -> str:
    """The plan as JSON (stored in the run file so that resume repeats exactly the same plan)."""
    import dataclasses
    import json

    data = dataclasses.asdict(plan)
    data.pop("blocks")
    return json.dumps(data)


_OLD_STAGE_KEYS = {"piezo_v": "piezo_setpoints"}  # run files written before the rename


def plan_from_json(text: str) -> Plan:
    import json

    data = json.loads(text)
    stages = tuple(PlanStage(**{_OLD_STAGE_KEYS.get(k, k): tuple(v) if isinstance(v, list) else v for k, v in s.items()})
                   for s in data.pop("stages"))
    results = tuple(ResultSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in r.items()})
                    for r in data.pop("results"))
    return Plan(stages=stages, results=results, frame_shape=tuple(data.pop("frame_shape")), **data)

"""The whole bench configuration: simulation world, devices, calibration (one TOML file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.config.bench_section import BenchSection
from app.config.devices import (
    CameraConfig,
    DelayStageConfig,
    LaserConfig,
    PiezoConfig,
    RoiConfig,
    SampleStageConfig,
    Section,
    SlmConfig,
)

from app.config.simulation import SampleName, SimulationConfig  # noqa: E402  (re-exported)


RENAMED_CALIBRATION_KEYS = {"piezo_volts_per_2pi": "piezo_travel_per_2pi", "piezo_start_v": "piezo_start"}


def renamed_key_message(old: str) -> str | None:
    """The one line for a calibration key that was renamed, or None."""
    new = RENAMED_CALIBRATION_KEYS.get(old)
    return None if new is None else f"[calibration] {old} was renamed to {new}"


class CalibrationConfig(Section):
    """Numbers the sequences need to turn physics into device setpoints."""

    piezo_travel_per_2pi: float = Field(7.75, gt=0.0, le=150.0,
                                        description="phase-piezo travel for one fringe, in the piezo's unit (V or um)")
    piezo_start: float = Field(10.0, ge=0.0, le=150.0, description="phase-piezo setpoint of step 0 (V or um)")
    zero_path_delay_um: float | None = Field(
        None, allow_inf_nan=False,
        description="delay-stage position of zero path difference (from a delay scan); stepped sequences "
        "go there first (None: leave the delay stage where it is)")
    sample_in_position_um: float = Field(0.0, allow_inf_nan=False)
    sample_out_position_um: float = Field(25_000.0, allow_inf_nan=False)
    laser_power_w: float = Field(0.1, gt=0.0, le=10.0, description="pump power during acquisition")
    laser_settle_fraction: float = Field(0.01, gt=0.0, le=0.5,
                                         description="frames are taken once the power is this close to the setpoint")
    laser_settle_timeout_s: float = Field(30.0, gt=0.0, le=600.0, description="longest wait for the power to settle")
    reference_method: Literal["sample_stage", "bench_as_is"] = Field(
        "sample_stage",
        description="how a reference run takes the sample out: move the sample stage to sample_out_position_um, "
        "or take the bench as it is (e.g. [simulation] sample = 'empty', or the sample removed by hand)",
    )
    file: str | None = Field(
        None,
        description="calibration TOML written by the fringe-calibration sequence and read by later runs "
        "(its keys override the ones here); relative paths are relative to this config file",
    )


class SuspenderConfig(Section):
    """Conditions that pause a run until they clear (the cycle they hit is discarded and repeated)."""

    laser_power: bool = Field(True, description="suspend while measured pump power is outside tolerance")
    laser_power_tolerance: float = Field(0.1, gt=0.0, le=1.0, description="relative to the setpoint")
    visibility: bool = Field(False, description="suspend while the reference-region visibility is too low")
    min_visibility: float = Field(0.2, gt=0.0, lt=1.0, description="median fringe visibility in the region")
    visibility_region: RoiConfig | None = Field(None, description="frame pixels; the whole frame if unset")
    saturation: bool = Field(True, description="suspend while too many pixels are saturated")
    max_saturated_fraction: float = Field(0.01, gt=0.0, le=1.0)
    recheck_interval_s: float = Field(1.0, ge=0.0, le=3600.0, description="how often a suspended run re-checks")
    max_suspended_s: float = Field(1800.0, gt=0.0, description="a run suspended longer than this fails")


class BenchConfig(Section):
    """Top level of a bench config file."""

    name: str = "bench"
    simulation: SimulationConfig = SimulationConfig()
    laser: LaserConfig
    phase_piezo: PiezoConfig
    delay_stage: DelayStageConfig
    sample_stage: SampleStageConfig | None = None
    slm: SlmConfig
    camera: CameraConfig
    calibration: CalibrationConfig = CalibrationConfig()
    suspenders: SuspenderConfig = SuspenderConfig()
    bench: BenchSection = BenchSection()

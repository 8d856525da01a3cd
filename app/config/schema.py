"""The whole bench configuration: simulation world, devices, calibration (one TOML file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

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

SampleName = Literal["horse", "empty", "phase-bump"]


class SimulationConfig(Section):
    """The simulated optical bench (DESIGN.md section 4); used by every ``backend = "sim"`` device."""

    seed: int = Field(20261124, ge=0)
    sample: SampleName = "horse"
    pump_wavelength_nm: float = Field(532.0, gt=100.0, lt=2000.0)
    signal_wavelength_nm: float = Field(810.0, gt=100.0, lt=5000.0)
    idler_wavelength_nm: float = Field(1550.0, gt=100.0, lt=20_000.0)
    piezo_arm: Literal["pump", "signal", "idler"] = Field("idler", description="arm whose mirror the piezo moves")
    max_visibility: float = Field(0.6, gt=0.0, le=1.0, description="V0, visibility with an empty sample")
    signal_rate_e_per_px_s: float = Field(
        25_000.0, gt=0.0, le=1e9, description="photon rate per pixel at the field centre at reference_power_w"
    )
    reference_power_w: float = Field(0.1, gt=0.0, le=10.0)
    field_sigma_px: float = Field(160.0, gt=1.0, le=1e5, description="Gaussian field envelope on the camera")
    sample_out_threshold_um: float = Field(
        10_000.0, gt=0.0, description="sample-stage travel beyond which the sample is out of the beam"
    )

    @model_validator(mode="after")
    def _energy_conservation(self):
        expected = 1.0 / (1.0 / self.signal_wavelength_nm + 1.0 / self.idler_wavelength_nm)
        if abs(expected - self.pump_wavelength_nm) > 0.01 * self.pump_wavelength_nm:
            raise ValueError(
                f"pump_wavelength_nm must satisfy 1/pump = 1/signal + 1/idler "
                f"(expected about {expected:.1f} nm, got {self.pump_wavelength_nm:g} nm)"
            )
        return self


class CalibrationConfig(Section):
    """Numbers the sequences need to turn physics into device setpoints."""

    piezo_volts_per_2pi: float = Field(7.75, gt=0.0, le=150.0, description="piezo voltage for one fringe")
    piezo_start_v: float = Field(10.0, ge=0.0, le=150.0, description="piezo voltage of step 0")
    sample_in_position_um: float = Field(0.0)
    sample_out_position_um: float = Field(25_000.0)
    laser_power_w: float = Field(0.1, gt=0.0, le=10.0, description="pump power during acquisition")
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

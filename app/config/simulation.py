"""``[simulation]``: the simulated optical bench's physics (DESIGN.md section 4, docs/decisions/0010).

Every ``backend = "sim"`` device shares one world built from this table. Lengths carry their unit in
the name; the defaults describe a 532 -> 810 + 1550 nm momentum-configuration bench (Lemos et al. 2014).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from app.config.devices import Section

SampleName = Literal["horse", "empty", "usaf", "phase-step", "phase-bump", "three-layer"]


class SimulationConfig(Section):
    """The simulated optical bench; used by every ``backend = "sim"`` device."""

    seed: int = Field(20261124, ge=0)
    sample: SampleName = "horse"
    realtime: bool = Field(False, description="pace frames and moves in wall-clock time (demo); off: as fast as possible")
    # -- sources and interference
    pump_wavelength_nm: float = Field(532.0, gt=100.0, lt=2000.0)
    signal_wavelength_nm: float = Field(810.0, gt=100.0, lt=5000.0)
    idler_wavelength_nm: float = Field(1550.0, gt=100.0, lt=20_000.0)
    idler_bandwidth_nm: float = Field(50.0, gt=0.0, le=5000.0, description="FWHM; sets the axial resolution l_c")
    piezo_arm: Literal["pump", "signal", "idler"] = Field("idler", description="arm whose mirror the piezo moves")
    max_visibility: float = Field(0.6, ge=0.0, le=1.0, description="V0, visibility with an empty sample (0: idler blocked)")
    source_rate_ratio: float = Field(1.0, gt=0.0, le=1e4, description="R2/R1, second crystal's rate over the first's")
    signal_rate_e_per_px_s: float = Field(
        25_000.0, gt=0.0, le=1e9, description="photon rate per pixel at the field centre at reference_power_w"
    )
    reference_power_w: float = Field(0.1, gt=0.0, le=10.0)
    field_sigma_px: float = Field(160.0, gt=1.0, le=1e5, description="Gaussian field envelope on the camera")
    # -- imaging (momentum configuration)
    signal_focal_length_mm: float = Field(150.0, gt=0.0, le=1e4, description="crystal -> camera Fourier lens")
    idler_focal_length_mm: float = Field(100.0, gt=0.0, le=1e4, description="crystal -> object Fourier lens")
    pump_waist_um: float = Field(1500.0, gt=0.0, le=1e5, description="pump field 1/e radius at the crystals")
    psf: bool = Field(True, description="blur the object by the coherent PSF (off: ideal imaging)")
    aberration_zernike_rad: dict[int, float] = Field(
        default_factory=dict, description="Noll index -> coefficient (rad RMS) of the idler aberration in the pupil"
    )
    zernike_radius_mm: float = Field(1.5, gt=0.0, le=1e3, description="unit radius of the Zernike disc in the pupil")
    slm_to_pupil_magnification: float = Field(1.0, gt=0.0, le=100.0, description="SLM plane imaged onto the pupil")
    # -- interferometer background and drift
    background_tilt_rad: float = Field(0.8, ge=-1e3, le=1e3, description="phase tilt across one field sigma")
    background_curvature_rad: float = Field(0.25, ge=-1e3, le=1e3, description="phase curvature at one field sigma")
    phase_drift_rad_per_s: float = Field(0.0, ge=-100.0, le=100.0, description="linear drift (0: off)")
    phase_drift_rad_per_sqrt_s: float = Field(0.0, ge=0.0, le=100.0, description="random-walk drift (0: off)")
    # -- samples
    sample_out_threshold_um: float = Field(
        10_000.0, gt=0.0, description="sample-stage travel beyond which the sample is out of the beam"
    )
    layer_depths_um: tuple[float, float, float] = Field((20.0, 50.0, 80.0), description="three-layer sample depths")
    layer_reflectivities: tuple[float, float, float] = Field((0.35, 0.5, 0.8), description="amplitude reflectivities")

    @model_validator(mode="after")
    def _energy_conservation(self):
        expected = 1.0 / (1.0 / self.signal_wavelength_nm + 1.0 / self.idler_wavelength_nm)
        if abs(expected - self.pump_wavelength_nm) > 0.01 * self.pump_wavelength_nm:
            raise ValueError(
                f"pump_wavelength_nm must satisfy 1/pump = 1/signal + 1/idler "
                f"(expected about {expected:.1f} nm, got {self.pump_wavelength_nm:g} nm)"
            )
        for r in self.layer_reflectivities:
            if not 0.0 <= r <= 1.0:
                raise ValueError(f"layer_reflectivities must lie in [0, 1] (got {r:g})")
        return self

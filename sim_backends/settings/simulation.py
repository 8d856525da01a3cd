"""``[simulation]``: the simulated optical bench's physics (DESIGN.md section 4, docs/decisions/0010).

Every ``backend = "sim"`` device shares one world built from this table. Lengths carry their unit in
the name; the defaults describe a 532 -> 810 + 1550 nm momentum-configuration bench (Lemos et al. 2014)
in a Michelson-like (double-pass) geometry.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim_backends.settings.base import Section

SampleName = Literal["horse", "empty", "usaf", "phase-step", "phase-bump", "three-layer"]
RENAMED_KEYS = {"signal_rate_e_per_px_s": "signal_rate_photons_per_px_s"}  # old name -> honest name


class SimulationConfig(Section):
    """The simulated optical bench; used by every ``backend = "sim"`` device."""

    seed: int = Field(20261124, ge=0)
    sample: SampleName = "horse"
    realtime: bool = Field(False, description="pace frames and moves in wall-clock time (demo); off: as fast as possible")
    # -- geometry: pass counts of the piezo mirror, the SLM, thin samples and the delay stage
    geometry: Literal["michelson", "mach-zehnder"] = Field(
        "michelson", description="michelson: idler, piezo and delay double pass (SLM correction -W/2, thin sample "
        "t^2); mach-zehnder: single pass")
    zero_path_delay_um: float = Field(
        41.3, ge=-1e5, le=1e5, description="delay-stage position where the arm path lengths match (thin samples)")
    # -- sources and interference
    pump_wavelength_nm: float = Field(532.0, gt=100.0, lt=2000.0)
    signal_wavelength_nm: float = Field(810.0, gt=100.0, lt=5000.0)
    idler_wavelength_nm: float = Field(1550.0, gt=100.0, lt=20_000.0)
    idler_bandwidth_nm: float = Field(50.0, gt=0.0, le=5000.0, description="FWHM of the (Gaussian) SPDC idler spectrum")
    signal_filter_nm: float | None = Field(None, gt=100.0, lt=5000.0, description="centre of a Gaussian band-pass "
                                           "filter in front of the camera (None: no filter)")
    signal_filter_bandwidth_nm: float = Field(10.0, gt=0.0, le=5000.0, description="FWHM of that filter")
    spectral_samples: int = Field(5, ge=1, le=15, description="wavelengths (Gauss-Hermite nodes) the image is "
                                  "averaged over (1: monochromatic)")
    piezo_arm: Literal["pump", "signal", "idler", "pump-signal"] = Field(
        "idler", description="arm whose mirror the piezo moves; pump-signal: one mirror shared by pump and signal")
    max_visibility: float = Field(0.6, ge=0.0, le=1.0, description="V0, visibility with an empty sample (0: idler blocked)")
    source_rate_ratio: float = Field(1.0, gt=0.0, le=1e4, description="R2/R1, second crystal's rate over the first's")
    signal_rate_photons_per_px_s: float = Field(
        25_000.0, gt=0.0, le=1e9, description="signal photons per pixel and second at the field centre at "
        "reference_power_w (photoelectrons: times the camera's quantum efficiency)")
    reference_power_w: float = Field(0.1, gt=0.0, le=10.0)
    field_sigma_px: float = Field(160.0, gt=1.0, le=1e5, description="Gaussian field envelope on the camera")
    # -- pump power: ramp shape after emission on (its time is the laser's power_ramp_time_s) and slow drift
    pump_ramp_shape: Literal["exponential", "linear"] = Field(
        "exponential", description="exponential: 1/e time power_ramp_time_s (diode); linear: full power after "
        "power_ramp_time_s (slow DPSS warm-up)")
    pump_power_drift_rms: float = Field(0.0, ge=0.0, le=0.5, description="slow relative power drift, RMS (0: off)")
    pump_power_drift_time_s: float = Field(300.0, gt=0.0, le=1e6, description="correlation time of that drift")
    # -- imaging (momentum configuration)
    signal_focal_length_mm: float = Field(150.0, gt=0.0, le=1e4, description="crystal -> camera Fourier lens")
    idler_focal_length_mm: float = Field(100.0, gt=0.0, le=1e4, description="crystal -> object Fourier lens")
    pump_waist_um: float = Field(1500.0, gt=0.0, le=1e5, description="pump field 1/e radius at the crystals")
    psf: bool = Field(True, description="blur the object by the coherent PSF (off: ideal imaging)")
    aberration_zernike_rad: dict[int, float] = Field(
        default_factory=dict, description="Noll index -> coefficient (rad RMS) of the idler aberration in the pupil "
        "(all passes together)")
    zernike_radius_mm: float = Field(1.5, gt=0.0, le=1e3, description="unit radius of the Zernike disc in the pupil")
    slm_to_pupil_magnification: float = Field(1.0, gt=0.0, le=100.0, description="SLM plane imaged onto the pupil "
                                              "(design value: sets the default [slm] pupil_radius_px)")
    slm_pupil_offset_px: tuple[float, float] = Field(
        (5.0, -3.5), description="true pump-beam centre on the SLM minus the configured [slm] pupil_centre_px, "
        "(dx, dy) = (columns, rows) in SLM pixels: the misalignment pupil registration must find")
    slm_pupil_radius_scale: float = Field(
        1.04, gt=0.5, le=2.0, description="true pump radius on the SLM over the configured [slm] pupil_radius_px "
        "(relay magnification error)")
    # -- interferometer background, drift and vibration
    background_tilt_rad: float = Field(0.8, ge=-1e3, le=1e3, description="phase tilt across one field sigma")
    background_curvature_rad: float = Field(0.25, ge=-1e3, le=1e3, description="phase curvature at one field sigma")
    phase_drift_rad_per_s: float = Field(0.0, ge=-100.0, le=100.0, description="linear drift (0: off)")
    phase_drift_rad_per_sqrt_s: float = Field(0.0, ge=0.0, le=100.0, description="random-walk drift (0: off)")
    vibration_rms_rad: float = Field(0.0, ge=0.0, le=10.0, description="fast phase jitter (vibration), RMS (0: off)")
    vibration_bandwidth_hz: float = Field(200.0, gt=0.0, le=1e6, description="its -3 dB bandwidth (Lorentzian)")
    # -- samples (object-plane sizes; rendered on the camera through the magnification)
    sample_out_threshold_um: float = Field(
        10_000.0, gt=0.0, description="sample-stage travel beyond which the sample is out of the beam"
    )
    sample_scale_um: float = Field(1330.0, gt=0.0, le=1e6, description="object-plane size of one unit of the "
                                   "horse, phase and layer samples (the horse is 2.9 units long)")
    layer_depths_um: tuple[float, float, float] = Field(
        (20.0, 50.0, 80.0), description="three-layer sample: delay-stage positions of zero path for each layer")
    layer_reflectivities: tuple[float, float, float] = Field((0.35, 0.5, 0.8), description="amplitude reflectivities")

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data):
        """Accept the old name of a renamed key (same meaning); both at once is an error."""
        if isinstance(data, dict):
            for old, new in RENAMED_KEYS.items():
                if old in data:
                    if new in data:
                        raise ValueError(f"give {new} only ({old} is its old name)")
                    data = {**data, new: data[old]}
                    del data[old]
        return data

    @field_validator("aberration_zernike_rad")
    @classmethod
    def _noll_indices_start_at_1(cls, value: dict[int, float]) -> dict[int, float]:
        bad = sorted(j for j in value if j < 1)
        if bad:
            raise ValueError(f"Noll indices start at 1 (1 piston, 2-3 tilt, 4 defocus ...); got {bad[0]}")
        return value

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

    @property
    def pass_count(self) -> int:
        """How often the idler (and the piezo mirror's arm) is traversed: 2 (michelson) or 1 (mach-zehnder)."""
        return 2 if self.geometry == "michelson" else 1

"""Forward model of the induced-coherence interferometer (DESIGN.md section 4).

mu(x) = QE * tau * R(x) * [1 + V0 * Re(exp(i (phi + phi0(x))) * t(x))] + D * tau,
R(x) = R0 * (P / P_ref) * exp(-|x|^2 / (2 sigma_fov^2)),   phi = 4 pi d_piezo / lambda_arm.
The object enters only the interference term; the mean intensity does not depend on t
(Lemos et al., Nature 512, 409 (2014)).
"""

from __future__ import annotations

import numpy as np

from sim_backends.world import SimulatedBench


def arm_wavelength_nm(bench: SimulatedBench) -> float:
    sim = bench.sim
    return {
        "pump": sim.pump_wavelength_nm,
        "signal": sim.signal_wavelength_nm,
        "idler": sim.idler_wavelength_nm,
    }[sim.piezo_arm]


def piezo_phase_rad(bench: SimulatedBench) -> float:
    """Interferometer phase from the piezo mirror: double pass, phi = 4 pi d / lambda_arm."""
    state = bench.state
    displacement_nm = state.piezo_v * state.piezo_displacement_um_per_v * 1e3
    return 4.0 * np.pi * displacement_nm / arm_wavelength_nm(bench)


def expected_electrons(bench: SimulatedBench, roi_slices, exposure_s: float) -> np.ndarray:
    """Mean photoelectrons per pixel in one frame (float32), for the current world state."""
    cam, sim, state = bench.camera, bench.sim, bench.state
    dark_e = np.float32(cam.dark_current_e_per_s * exposure_s)
    power_w = state.laser_power_w if state.laser_emission else 0.0
    if power_w <= 0.0:
        return np.full(bench.field_envelope[roi_slices].shape, dark_e, np.float32)
    scale = np.float32(cam.quantum_efficiency * exposure_s * sim.signal_rate_e_per_px_s * power_w / sim.reference_power_w)
    t = bench.transmission_truth(roi_slices)
    phase = bench.background_phase_rad[roi_slices] + np.float32(piezo_phase_rad(bench))
    interference = t.real * np.cos(phase) - t.imag * np.sin(phase)  # Re(exp(i phase) * t)
    mean = scale * bench.field_envelope[roi_slices] * (1.0 + np.float32(sim.max_visibility) * interference)
    return (mean + dark_e).astype(np.float32, copy=False)

"""Parameters mean what their names and docs say: hysteresis half-width, the piezo's arm (including a mirror
shared by pump and signal), the signal photon rate, full well versus ADC, fixed-pattern noise, Noll indices."""

import numpy as np
import pytest

from app.config import ConfigError, parse_config_text
from sim_backends.quick import quick_bench
from sim_backends.settings import SimulationConfig
from tests.helpers import sim_config_text
from tests.test_sim_coherence import fringe


def test_hysteresis_v_is_the_half_width_of_the_loop():
    bench = quick_bench()
    world = bench.world
    world.piezo.hysteresis_v = 2.0
    um_per_v = world.state.piezo_displacement_um_per_v
    for v in (0.0, 30.0, 20.0):  # up to 30 V, then down to 20 V: the down branch leads by hysteresis_v
        bench.phase_piezo.move_to(v)
    down = world.piezo_displacement_um()
    for v in (0.0, 20.0):  # from 0 V up to 20 V: the up branch lags by hysteresis_v
        bench.phase_piezo.move_to(v)
    up = world.piezo_displacement_um()
    assert down / um_per_v == pytest.approx(20.0 + 2.0, rel=1e-9)
    assert up / um_per_v == pytest.approx(20.0 - 2.0, rel=1e-9)
    assert (down - up) / 2 / um_per_v == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize("arm", ["idler", "signal", "pump", "pump-signal"])
def test_piezo_phase_per_volt_follows_its_arm_and_the_geometry(arm):
    # double pass: d phi / dV = 2 * 2 pi a / lambda_arm; a mirror shared by pump and signal changes k_p - k_s,
    # i.e. it acts at 1 / (1/532 - 1/810) nm = 1549.5 nm (energy conservation), like an idler mirror
    lam_nm = {"idler": 1550.0, "signal": 810.0, "pump": 532.0, "pump-signal": 1 / (1 / 532 - 1 / 810)}[arm]
    bench = quick_bench(sample="empty", piezo_arm=arm, roi=(1008, 1008, 32, 32), laser={"rin_rms": 0.0},
                        slm={"flicker_rad_rms": 0.0})  # 2 % of a 0.2 pi shift is 0.013 rad: below the SLM's flicker
    bench.laser.set_emission(True)
    volts_per_2pi = lam_nm / 2 / (0.1 * 1e3)  # lambda / (2 a)
    dv = 0.1 * volts_per_2pi  # a tenth of a fringe: 0.2 pi
    z0, _ = fringe(bench, volts_per_2pi)
    steps = []
    for k in range(4):
        bench.phase_piezo.move_to(10.0 + dv + volts_per_2pi * k / 4)
        steps.append(bench.camera.read_frame().data.astype(np.float64) - 100.0)
    z1 = np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), np.array(steps), axes=1)
    z1 = np.median(z1.real) + 1j * np.median(z1.imag)
    shift = np.angle(z0 / z1)  # the fringe sum rotates by -dphi when every step is offset by dphi
    assert abs(shift) == pytest.approx(2 * 2 * np.pi * 0.1 * dv * 1e3 / lam_nm, rel=0.02)


def test_signal_rate_is_a_photon_rate_and_its_old_name_still_reads():
    old = SimulationConfig(signal_rate_e_per_px_s=1234.0)
    assert old.signal_rate_photons_per_px_s == 1234.0
    bench = quick_bench(sample="empty", max_visibility=0.0, field_sigma_px=1e5, roi=(1008, 1008, 32, 32),
                        signal_rate_photons_per_px_s=10_000.0, camera={"quantum_efficiency": 0.5},
                        laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    frames = [bench.camera.read_frame().data.astype(np.float64).mean() - 100.0 for _ in range(4)]
    electrons = np.mean(frames) * bench.world.camera.gain_e_per_adu
    assert electrons == pytest.approx(0.5 * 10_000.0 * 0.1 + 0.1 * 0.1, rel=0.02)  # QE x photons x tau + dark
    text = sim_config_text(**{"signal_rate_photons_per_px_s = 25000.0":
                              "signal_rate_photons_per_px_s = 25000.0\nsignal_rate_e_per_px_s = 100.0"})
    with pytest.raises(ConfigError) as err:
        parse_config_text(text, source="bench.toml")
    assert "signal_rate_photons_per_px_s only" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("index", ["0", "-3"])
def test_noll_index_below_one_is_refused_in_one_line(index):
    text = sim_config_text(**{"aberration_zernike_rad = {}": f"aberration_zernike_rad = {{ {index} = 0.5 }}"})
    with pytest.raises(ConfigError) as err:
        parse_config_text(text, source="bench.toml")
    msg = str(err.value)
    assert "\n" not in msg and "aberration_zernike_rad" in msg and "Noll indices start at 1" in msg


def test_photo_response_non_uniformity_has_its_rms():
    prnu = 0.02
    bench = quick_bench(sample="empty", max_visibility=0.0, field_sigma_px=1e5, roi=(992, 992, 64, 64),
                        camera={"prnu_rms": prnu}, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    n = 16
    mean = np.mean([bench.camera.read_frame().data.astype(np.float64) - 100.0 for _ in range(n)], axis=0)
    electrons = mean * bench.world.camera.gain_e_per_adu
    # pixel-to-pixel spread of the 16-frame mean: PRNU and shot noise (2000 e- per frame) add in quadrature
    expected = np.sqrt(prnu**2 + 1 / (n * 2000.0))
    # 4096 pixels: the sample RMS is known to 1.1 %; 4 % allows 3.5 sigma
    assert electrons.std() / electrons.mean() == pytest.approx(expected, rel=0.04)


def test_offset_fixed_pattern_map_has_its_rms():
    bench = quick_bench(camera={"offset_fpn_rms_adu": 3.0})
    offsets = bench.world.offset_map_adu((slice(0, 2048), slice(0, 2048)))
    assert offsets.std() == pytest.approx(3.0, rel=0.01)  # 4 M pixels: 0.035 % statistical error
    assert quick_bench().world.offset_map_adu((slice(0, 8), slice(0, 8))) is None  # off by default

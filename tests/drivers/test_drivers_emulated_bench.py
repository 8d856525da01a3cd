"""configs/emulated.toml: the phase-stepping run with the REAL laser, piezo and delay-stage drivers
talking to protocol emulators wired to the simulated physics images the horse as well as the pure
simulation does."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli.run_cmd import run_sequence
from app.config import load_config
from drivers.mdt693b import Mdt693bPiezo
from drivers.obis_laser import ObisLaser
from drivers.pi_gcs import PiGcsStage
from sim_backends.world import SimulatedBench

ROOT = Path(__file__).resolve().parents[2]
EMULATED = ROOT / "configs" / "emulated.toml"
SIMULATION = ROOT / "configs" / "simulation.toml"


def horse_truth(config: Path):
    """|t| of the simulated sample and the illuminated field, on the camera ROI of ``config``."""
    settings = load_config(config).settings
    world = SimulatedBench(sim=settings.simulation, camera=settings.camera)
    roi = settings.camera.roi
    slices = slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width)
    return np.abs(world.sample_transmission[slices]), world.illuminated_mask(slices)


def amplitude_correlation(config: Path, out: Path) -> float:
    path = run_sequence(config, "phase-stepping", [], out)
    with h5py.File(path, "r") as h5:
        assert h5.attrs["status"] == "complete"
        amplitude = h5["results/amplitude"][()]
    horse, field = horse_truth(config)
    assert 0.2 < horse[field].mean() < 0.8, "the test object must have both horse and background"
    return float(np.corrcoef(amplitude[field], horse[field])[0, 1])


@pytest.fixture(scope="module")
def correlations(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return amplitude_correlation(EMULATED, out / "emulated"), amplitude_correlation(SIMULATION, out / "simulated")


def test_emulated_run_images_as_well_as_the_simulation(correlations):
    r_emulated, r_simulated = correlations
    assert r_emulated >= 0.95
    assert r_emulated == pytest.approx(r_simulated, abs=0.01)


def test_emulated_bench_uses_the_real_drivers_and_ends_with_the_laser_off():
    with open_bench(load_config(EMULATED)) as bench:
        assert (type(bench.laser), type(bench.phase_piezo), type(bench.delay_stage)) == (
            ObisLaser, Mdt693bPiezo, PiGcsStage)
        identities = bench.identities()
        assert identities["laser"]["vendor"] == "Coherent"
        assert identities["phase_piezo"]["model"] == "MDT693B"
        assert identities["delay_stage"]["vendor"] == "Physik Instrumente"
        bench.laser.set_power_w(0.1)
        bench.laser.set_emission(True)
        bench.phase_piezo.move_to(12.5)
        bench.delay_stage.move_to(30.0)
        state = bench.world.state  # what the emulators pushed into the simulated physics
        assert (state.laser_emission, state.laser_power_w) == (True, pytest.approx(0.1))
        assert state.piezo_v == pytest.approx(12.5) and state.delay_um == pytest.approx(30.0)
    assert bench.world.state.laser_emission is False

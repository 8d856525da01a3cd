"""Rules that live once in the contracts, so simulated and real devices cannot drift (issue 9 item 3):
the SLM rounding rule, the laser limit message, the stage readback fields, stop/is_moving."""

import dataclasses

import numpy as np
import pytest

from app.config.devices import SimCameraConfig
from app.config.schema import SimulationConfig
from drivers.contracts import StageReadback
from drivers.errors import LimitError
from drivers.mdt693b import Mdt693bPiezo
from drivers.obis_laser import ObisLaser
from drivers.pi_gcs import PiGcsStage
from drivers.slm_lut import TWO_PI
from drivers.slm_screen import ScreenSlm
from sim_backends.devices import SimDelayStage, SimLaser, SimPiezo, SimSampleStage, SimSlm
from sim_backends.emulators.mdt693b import Mdt693bEmulator
from sim_backends.emulators.obis import ObisEmulator
from sim_backends.emulators.pi_gcs import PiGcsEmulator
from sim_backends.world import SimulatedBench


@pytest.fixture(scope="module")
def world():
    return SimulatedBench(sim=SimulationConfig(), camera=SimCameraConfig(backend="sim"))


def test_slm_rounding_rule_floors_levels():
    """4.6 levels of phase is gray 4 (floor), -0.4 levels wraps to 255.6 -> 255, 2 pi wraps to 0."""
    from drivers.slm_lut import linear_lut, phase_to_gray

    level = TWO_PI / 256
    phase = np.array([[4.6 * level, -0.4 * level, TWO_PI, 255.99 * level]])
    assert phase_to_gray(phase, linear_lut()).tolist() == [[4, 255, 0, 255]]


def test_sim_and_screen_slm_show_the_same_gray_image_for_the_same_phase(qapp, world):
    screen = ScreenSlm(screen=0, settle_time_s=0.0)
    screen.connect()
    try:
        h, w = screen.shape
        sim = SimSlm(world, width=w, height=h)
        sim.connect()
        yy, xx = np.mgrid[0:h, 0:w]
        phase = TWO_PI * (xx / 37.3 + yy / 53.1) - 3.0 + 4.6 * TWO_PI / 256  # many wraps, fractional levels
        sim.show(phase, dither="off")
        screen.show(phase, dither="off")
        assert np.array_equal(sim.gray_levels, screen.current_gray())
        assert np.array_equal(sim.current_phase_rad(), screen.current_phase_rad())
        expected = np.floor(np.mod(phase, TWO_PI) * 256 / TWO_PI).astype(np.uint8)  # the rule, by hand
        assert np.array_equal(screen.current_gray(), expected)
        assert sim.read_state().mask_id == screen.read_state().mask_id == 1
        sim.show(phase)  # the default: the linear LUT read between entries, dithered on 4 x 4 Bayer tiles
        screen.show(phase)
        assert np.array_equal(sim.gray_levels, screen.current_gray())
        assert np.array_equal(sim.current_phase_rad(), screen.current_phase_rad())
        level = np.mod(phase, TWO_PI).astype(np.float32).astype(np.float64) * 256 / TWO_PI  # float32-wrapped phase
        gray = np.minimum(level, 255.0)  # linear LUT: gray = level; 2 pi would be gray 256, past the panel's 255
        bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
        threshold = (bayer[yy % 4, xx % 4] + 0.5) / 16
        assert np.mean(screen.current_gray() != np.floor(gray + threshold)) < 1e-4  # at most a last-bit tie
        assert sim.read_state().dither == screen.read_state().dither == "bayer4"
    finally:
        screen.close()


def test_sim_and_obis_lasers_word_the_power_limit_the_same(serve, world):
    sim = SimLaser(world, max_power_w=0.1)
    sim.connect()
    with ObisLaser(port=serve(ObisEmulator()).url, max_power_w=0.1) as obis:
        messages = []
        for laser in (sim, obis):
            with pytest.raises(LimitError) as info:
                laser.set_power_w(0.25)
            messages.append(str(info.value))
    assert messages[0] == messages[1] == "laser: power 250 mW is outside the allowed range [0, 100] mW"


def test_every_stage_backend_has_the_same_readback_fields(serve, world):
    mdt = Mdt693bPiezo(port=serve(Mdt693bEmulator()).url, min_v=0.0, max_v=75.0)
    pi = PiGcsStage(port=serve(PiGcsEmulator(move_time_s=0.0)).url, min_um=0.0, max_um=100.0)
    stages = [SimPiezo(world), SimDelayStage(world, "delay_stage", min_position=0, max_position=100),
              SimSampleStage(world, "sample_stage", min_position=0, max_position=1000), mdt, pi]
    fields = {f.name for f in dataclasses.fields(StageReadback)}
    assert fields == {"time_s", "connected", "position", "unit", "target", "moving", "limits"}
    for stage in stages:
        with stage:
            low, high = stage.limits()
            stage.move_to(low + 0.2 * (high - low))
            record = stage.read_state()
            assert stage.cached_state is record
            assert type(record) is StageReadback
            assert set(stage.status()) == fields
            assert record.position == pytest.approx(low + 0.2 * (high - low), abs=0.05)
            assert record.target == pytest.approx(low + 0.2 * (high - low))
            assert record.moving is False and record.connected is True and record.limits == (low, high)


def test_stop_ends_a_move_where_it_is(serve, world):
    emulator = PiGcsEmulator(move_time_s=0.5)
    with PiGcsStage(port=serve(emulator).url, min_um=0.0, max_um=100.0) as pi:
        pi.move_to(100.0, wait=False)
        assert pi.is_moving() is True
        pi.stop()
        assert pi.is_moving() is False
        assert 0.0 < pi.position() < 100.0 == 100.0
        assert pi.capabilities().has_stop is True
    sim = SimDelayStage(world, "delay_stage", min_position=0, max_position=100, velocity=100.0)
    with sim:
        sim.move_to(0.0)
        sim.move_to(100.0, wait=False)
        world.advance(0.25)  # a quarter of the 1 s travel
        assert sim.is_moving() is True
        sim.stop()
        assert sim.position() == pytest.approx(25.0) and sim.is_moving() is False
        assert world.state.delay_um == pytest.approx(25.0)  # the optics see where it stopped
    with SimPiezo(world) as piezo, Mdt693bPiezo(port=serve(Mdt693bEmulator()).url, min_v=0, max_v=75) as mdt:
        for open_loop in (piezo, mdt):
            caps = open_loop.capabilities()
            assert (caps.has_stop, caps.closed_loop, caps.unit) == (False, False, "V")
            open_loop.move_to(10.0)
            open_loop.stop()  # nothing to stop: a no-op
            assert open_loop.position() == pytest.approx(10.0, abs=0.05)

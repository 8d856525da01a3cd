"""open_bench gives every device the bench's one BenchOwnership, so a run's claim covers the whole
bench; capability records are there without I/O; the old import path keeps working."""

import threading

import pytest

from app.bench import open_bench
from app.config import load_config
from drivers.contracts import CameraCapabilities, LaserCapabilities, SlmCapabilities, StageCapabilities
from drivers.ownership import BenchBusy
from tests.helpers import SIM_CONFIG


def test_one_claim_covers_every_device_and_laser_off_from_outside_aborts_the_run():
    with open_bench(load_config(SIM_CONFIG), poll=False) as bench:
        assert all(dev.ownership is bench.ownership for dev in bench.devices().values())
        aborts, claimed, done = [], threading.Event(), threading.Event()

        def run():
            with bench.ownership.claim("run 'demo'", on_emergency_stop=aborts.append):
                bench.laser.set_emission(True)
                claimed.set()
                done.wait(5)

        worker = threading.Thread(target=run)
        worker.start()
        claimed.wait(5)
        try:
            for action in (lambda: bench.phase_piezo.move_to(5.0), lambda: bench.delay_stage.move_to(5.0),
                           lambda: bench.laser.set_power_w(0.05), lambda: bench.camera.start(),
                           lambda: bench.slm.show(bench.slm.current_phase_rad())):
                with pytest.raises(BenchBusy, match="in use by run 'demo'"):
                    action()
            assert bench.world.state.piezo_v == 0.0 and bench.world.state.delay_um == 0.0  # nothing moved
            bench.laser.set_emission(False)
        finally:
            done.set()
            worker.join(5)
        assert bench.world.state.laser_emission is False and len(aborts) == 1


def test_capabilities_are_typed_and_need_no_io():
    with open_bench(load_config(SIM_CONFIG), poll=False) as bench:
        calls_before = {name: dev.faults.calls for name, dev in bench.devices().items()}
        caps = bench.capabilities()
        assert {name: dev.faults.calls for name, dev in bench.devices().items()} == calls_before
    assert caps["laser"] == LaserCapabilities(power_range_w=(0.0, 0.2), has_interlock_readout=True,
                                              has_fault_readout=False, power_ramp_time_s=0.3,
                                              power_ramp_shape="exponential")  # [laser] power_ramp_time_s
    assert type(caps["delay_stage"]) is StageCapabilities and caps["delay_stage"].closed_loop
    # the simulated delay stage's defaults (velocity_um_per_s, settle_time_s): timing for duration estimates
    assert (caps["delay_stage"].velocity_per_s, caps["delay_stage"].settle_time_s) == (1000.0, 0.01)
    assert caps["phase_piezo"].unit == "V" and not caps["phase_piezo"].has_stop
    assert type(caps["camera"]) is CameraCapabilities and caps["camera"].binning_values == (1, 2, 4)
    assert type(caps["slm"]) is SlmCapabilities and caps["slm"].levels == 256


def test_the_old_factory_module_still_exports_the_bench():
    from app import bench_factory

    assert bench_factory.open_bench is open_bench

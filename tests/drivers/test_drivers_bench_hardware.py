"""Opt-in tests against a real bench: ``pytest --bench-config my-bench.toml`` (skipped otherwise).

They connect each configured real device, read its identity and status, and exercise it gently:
the laser is never switched on; stages make one small move and return; the camera grabs one frame.
"""

import pytest

from app.bench_factory import BUILDERS, BuildContext
from app.config import load_config
from drivers.interfaces import Camera, Laser, Stage

pytestmark = pytest.mark.bench_hardware


@pytest.fixture(scope="module")
def bench_config(request):
    path = request.config.getoption("--bench-config")
    if not path:
        pytest.skip("needs a real bench: pytest --bench-config path.toml")
    return load_config(path)


def _device(bench_config, role):
    section = getattr(bench_config.settings, role)
    if section is None or section.backend == "sim":
        pytest.skip(f"[{role}] is simulated in this config")
    device = BUILDERS[type(section)](section, BuildContext(bench_config))
    device.name = role
    return device


@pytest.mark.parametrize("role", ["laser", "phase_piezo", "delay_stage", "slm", "camera"])
def test_device_connects_and_identifies(bench_config, role):
    with _device(bench_config, role) as device:
        assert device.identity().model
        assert isinstance(device.status(), dict)


def test_laser_stays_off_and_limits_are_sane(bench_config):
    with _device(bench_config, "laser") as laser:
        assert isinstance(laser, Laser)
        laser.set_emission(False)
        assert laser.emission_on() is False
        low, high = laser.power_limits_w()
        assert 0 <= low < high


@pytest.mark.parametrize("role", ["phase_piezo", "delay_stage"])
def test_stage_small_move_and_back(bench_config, role):
    with _device(bench_config, role) as stage:
        assert isinstance(stage, Stage)
        start = stage.position()
        low, high = stage.limits()
        target = min(max(start + 0.01 * (high - low), low), high)
        stage.move_to(target)
        assert stage.position() == pytest.approx(target, abs=0.01 * (high - low))
        stage.move_to(start)


def test_camera_grabs_one_frame(bench_config):
    with _device(bench_config, "camera") as camera:
        assert isinstance(camera, Camera)
        camera.start()
        frame = camera.read_frame(timeout_s=10.0)
        camera.stop()
        assert frame.data.shape == camera.frame_shape()

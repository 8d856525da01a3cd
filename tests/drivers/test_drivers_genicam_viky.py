"""The GenTL camera driver against a real producer: viky.cti from the genicam wheel, via harvesters."""

import os
import signal
import time

import numpy as np
import pytest

from drivers.genicam_camera import GenicamCamera, viky_producer_path
from drivers.interfaces import DeviceNotConnected, DeviceTimeout, FeatureNotSupported, Roi


@pytest.fixture
def camera():
    cam = GenicamCamera(producer_path=viky_producer_path(), serial_number="0", pixel_format="Mono8")
    cam.connect()
    yield cam
    cam.close()


def test_opening_the_camera_keeps_ctrl_c_working(ctrl_c_raises):
    """harvesters replaces the SIGINT handler with one that swallows Ctrl-C; the driver restores ours."""
    before = signal.getsignal(signal.SIGINT)
    cam = GenicamCamera(producer_path=viky_producer_path(), serial_number="0", pixel_format="Mono8")
    cam.connect()
    try:
        assert signal.getsignal(signal.SIGINT) is before
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the handler runs at the next bytecode; never reached
    finally:
        cam.close()


def test_opens_by_serial_and_reports_identity(camera):
    ident = camera.identity()
    assert ident.model == "Viky" and ident.serial == "0"
    assert camera.sensor_shape() == (800, 800)
    assert camera.bit_depth() == 8


def _stream(camera, n: int):
    camera.start()
    start = time.monotonic()
    frames = [camera.read_frame(timeout_s=1.0) for _ in range(n)]
    elapsed = time.monotonic() - start
    camera.stop()
    return frames, elapsed


def test_streams_200_frames_without_loss_at_the_set_rate(camera):
    camera.set_roi(Roi(x=0, y=0, width=256, height=128))
    camera.set_frame_rate_hz(100.0)
    # The producer holds 3 buffers (30 ms at 100 fps): a scheduler stall of this process longer than
    # that drops a frame however the driver reads. A driver that loses frames loses them in every
    # stream; one stall does not repeat three times, so one lossless stream of three is required.
    for _ in range(3):
        frames, elapsed = _stream(camera, 200)
        ids = np.array([f.frame_id for f in frames])
        if np.all(np.diff(ids) == 1):
            break
    assert np.all(np.diff(ids) == 1), "frame ids must be consecutive (no frame lost)"
    assert elapsed == pytest.approx(199 / 100.0, rel=0.2)  # paced by the camera at 100 Hz
    assert all(f.data.shape == (128, 256) and f.data.dtype == np.uint16 for f in frames)
    # each frame is our own copy: later buffers did not overwrite earlier frames
    assert any(not np.array_equal(frames[0].data, f.data) for f in frames[1:10])


def test_missing_nodes_give_clear_feature_errors(camera):
    with pytest.raises(FeatureNotSupported, match="'ExposureTime'"):
        camera.set_exposure_s(0.01)
    assert camera.capabilities().trigger_modes == ("free_run",)  # no TriggerSoftware node
    with pytest.raises(FeatureNotSupported, match="trigger mode 'software' is not available"):
        camera.set_trigger_mode("software")
    with pytest.raises(FeatureNotSupported, match="'TriggerSoftware'"):
        camera.software_trigger()
    with pytest.raises(FeatureNotSupported, match="'OffsetX'"):
        camera.set_roi(Roi(x=16, y=16, width=128, height=128))
    with pytest.raises(FeatureNotSupported, match="Mono16"):
        camera.set_pixel_format("Mono16")
    assert camera.temperature_c() is None
    camera.set_trigger_mode("free_run")  # no trigger node: free run is what it does anyway


def test_read_timeout_is_a_device_timeout(camera):
    camera.set_frame_rate_hz(1.0)
    camera.start()
    camera.read_frame(timeout_s=2.0)
    with pytest.raises(DeviceTimeout):
        camera.read_frame(timeout_s=0.05)


def test_close_releases_so_it_reopens_in_the_same_process():
    for _ in range(2):
        cam = GenicamCamera(producer_path=viky_producer_path(), index=0, pixel_format="Mono8")
        cam.connect()
        cam.start()
        assert cam.read_frame(timeout_s=2.0).data.size > 0
        cam.close()
        cam.close()
        assert not cam.connected


def test_bad_producer_or_serial_is_a_clear_error(tmp_path):
    with pytest.raises(DeviceNotConnected, match="not found"):
        GenicamCamera(producer_path=tmp_path / "missing.cti").connect()
    with pytest.raises(DeviceNotConnected, match="cannot open camera"):
        GenicamCamera(producer_path=viky_producer_path(), serial_number="no-such-serial").connect()


def test_free_run_queues_stale_frames_and_discard_drops_them(camera):
    """Frames exposed before a move wait in the queue; after discard_stale_frames the next frame
    was exposed after the call (at 100 Hz, a 0.3 s pause produces ~30 frames)."""
    camera.set_roi(Roi(x=0, y=0, width=128, height=128))
    camera.set_frame_rate_hz(100.0)
    camera.start()
    first = camera.read_frame(timeout_s=1.0).frame_id
    time.sleep(0.3)  # the piezo moves here
    stale = camera.read_frame(timeout_s=1.0).frame_id
    assert stale - first <= 5, "without discarding, the next frame is one exposed before the move"
    time.sleep(0.3)
    called = camera.discard_stale_frames()
    fresh = camera.read_frame(timeout_s=1.0).frame_id
    camera.stop()
    assert called >= 1
    assert fresh - stale >= 25, "after discarding, the next frame was exposed after the move"

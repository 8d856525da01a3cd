"""Thorlabs MDT693B: echo switched off, bracketed values, configurable prompt, and limits checked by
the driver because the controller clamps silently."""

import pytest

from drivers.interfaces import DeviceError, LimitError
from drivers.mdt693b import Mdt693bPiezo
from sim_backends.emulators.mdt693b import Mdt693bEmulator


def test_emulator_echoes_until_told_not_to_and_clamps_silently():
    emulator = Mdt693bEmulator(vlimit_v=75.0)
    assert emulator.handle("xvoltage?") == b"xvoltage?\r[   0.0]\r>"
    emulator.handle("echo=0")
    assert emulator.handle("xvoltage=200") == b">"
    assert emulator.voltage_v["x"] == 75.0


@pytest.mark.parametrize("prompt", [">", "*"])
def test_connect_reads_identity_and_device_limits(serve, transport, prompt):
    emulator = Mdt693bEmulator(vlimit_v=75.0, prompt=prompt)
    emulator.max_v["y"] = 60.0
    server = serve(emulator, transport)
    piezo = Mdt693bPiezo(port=server.url, min_v=0.0, max_v=100.0, channel="y", prompt=prompt, timeout_s=0.5)
    with piezo:
        assert emulator.echo is False
        assert piezo.identity().model == "MDT693B" and piezo.identity().serial == "EMU-MDT-0001"
        assert piezo.limits() == (0.0, 60.0)  # config 100 V, vlimit 75 V, channel max 60 V
        piezo.move_to(23.45)
        assert emulator.voltage_v["y"] == pytest.approx(23.45)
        assert piezo.position() == pytest.approx(23.45, abs=0.06)  # the controller reports 0.1 V steps


def test_out_of_limits_setpoint_is_refused_and_nothing_sent(serve):
    emulator = Mdt693bEmulator(vlimit_v=75.0)
    server = serve(emulator)
    with Mdt693bPiezo(port=server.url, min_v=5.0, max_v=70.0, timeout_s=0.5) as piezo:
        sent_before = len(server.received)
        with pytest.raises(LimitError, match="outside the limits"):
            piezo.move_to(72.0)
        assert len(server.received) == sent_before


def test_clamping_by_the_device_is_caught_by_readback(serve):
    emulator = Mdt693bEmulator(vlimit_v=75.0)
    server = serve(emulator)
    with Mdt693bPiezo(port=server.url, min_v=0.0, max_v=75.0, timeout_s=0.5) as piezo:
        emulator.vlimit_v = 30.0  # someone turned the front-panel limit switch
        with pytest.raises(DeviceError, match="reads back 30.000 V"):
            piezo.move_to(50.0)


def test_wrong_prompt_is_a_timeout_not_a_hang(serve):
    server = serve(Mdt693bEmulator(prompt="*"))
    piezo = Mdt693bPiezo(port=server.url, min_v=0.0, max_v=75.0, prompt=">", timeout_s=0.3)
    with pytest.raises(DeviceError, match="no complete reply"):
        piezo.connect()
    assert not piezo.connected

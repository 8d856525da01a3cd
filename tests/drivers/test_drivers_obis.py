"""Coherent OBIS: the pymeasure instrument speaks the manual's SCPI table; the Laser driver on top
keeps watts, limits, interlock and emission-off semantics."""

import pytest
from pymeasure.test import expected_protocol

from drivers.interfaces import InterlockError, LimitError
from drivers.obis_laser import ObisLaser
from drivers.obis_protocol import Obis, ObisError
from sim_backends.emulators.obis import ObisEmulator


def test_protocol_replay_power_and_emission():
    with expected_protocol(
        Obis,
        [
            ("SOUR:POW:LEV:IMM:AMPL 0.05000", "OK"),
            ("SOUR:POW:LEV?", "0.04998"), (None, "OK"),
            ("SOUR:AM:STAT ON", "OK"),
            ("SOUR:AM:STAT?", "ON"), (None, "OK"),
            ("SOUR:AM:INT CWP", "OK"),
            ("SYST:FAUL?", "0x00000200"), (None, "OK"),
        ],
    ) as obis:
        obis.power_setpoint_w = 0.05
        assert obis.power_w == pytest.approx(0.04998)
        obis.emission = True
        assert obis.emission is True
        obis.operating_mode = "CWP"
        assert obis.fault_code == 0x200


def test_protocol_replay_error_code_carries_its_meaning():
    with expected_protocol(Obis, [("SOUR:POW:LEV:IMM:AMPL 9.00000", "ERR-220")]) as obis:
        with pytest.raises(ObisError, match="ERR-220.*invalid parameter") as info:
            obis.power_setpoint_w = 9.0
        assert info.value.code == -220


@pytest.fixture
def obis(serve, transport):
    emulator = ObisEmulator(max_power_w=0.15)
    server = serve(emulator, transport)
    laser = ObisLaser(port=server.url, max_power_w=0.1, timeout_s=0.5)
    laser.connect()
    yield laser, emulator
    laser.close()


def test_identity_limits_and_power_round_trip(obis):
    laser, emulator = obis
    ident = laser.identity()
    assert (ident.vendor, ident.serial) == ("Coherent", "EMU-OBIS-0001") and "OBIS" in ident.model
    assert laser.power_limits_w() == (0.0, 0.1)  # the config's cap is below the head's 150 mW
    laser.set_power_w(0.042)
    assert laser.power_setpoint_w() == pytest.approx(0.042)
    assert laser.measured_power_w() == 0.0  # emission still off
    laser.set_emission(True)
    assert emulator.emission and laser.emission_on()
    assert laser.measured_power_w() == pytest.approx(0.042)
    assert emulator.mode == "CWP"
    assert laser.status()["emission"] is True and laser.status()["measured_w"] == pytest.approx(0.042)


def test_power_outside_limits_is_refused_before_sending(obis):
    laser, emulator = obis
    with pytest.raises(LimitError, match="120 mW"):
        laser.set_power_w(0.12)
    assert emulator.setpoint_w == 0.0


def test_open_interlock_refuses_emission(obis):
    laser, emulator = obis
    emulator.open_interlock()
    assert laser.interlock_closed() is False
    with pytest.raises(InterlockError):
        laser.set_emission(True)
    assert not emulator.emission


def test_device_refusal_becomes_obis_error_with_meaning(obis):
    laser, emulator = obis
    emulator.max_power_w = 0.01  # the head now allows less than the driver read at connect
    with pytest.raises(ObisError, match="invalid parameter"):
        laser.set_power_w(0.05)


def test_close_turns_emission_off_and_is_idempotent(obis):
    laser, emulator = obis
    laser.set_power_w(0.05)
    laser.set_emission(True)
    laser.close()
    assert emulator.emission is False
    laser.close()
    assert not laser.connected

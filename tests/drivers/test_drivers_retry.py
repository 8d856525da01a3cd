"""A single corrupted serial reply is retried once and the call succeeds with the right value; two in
a row fail the call with a DeviceError (issue 10). The emulator flips the letters and digits of the
next replies to non-ASCII bytes, leaving the line structure intact, as line noise would."""

import pytest

from drivers.errors import CorruptReply, DeviceError
from drivers.ibeam_smart_laser import IBeamSmartLaser
from drivers.mdt693b import Mdt693bPiezo
from drivers.obis_laser import ObisLaser
from drivers.pi_gcs import PiGcsStage
from sim_backends.emulators.core import garble
from sim_backends.emulators.ibeam_smart import IBeamSmartEmulator
from sim_backends.emulators.mdt693b import Mdt693bEmulator
from sim_backends.emulators.obis import ObisEmulator
from sim_backends.emulators.pi_gcs import PiGcsEmulator


def test_garble_keeps_line_structure():
    assert garble(b"1=10.5 \n") == b"\xfe=\xfe\xfe.\xfe \n"
    assert garble(b"[ 12.0]\r>") == b"[ \xfe\xfe.\xfe]\r>"


def obis_setup(url):
    laser = ObisLaser(port=url, max_power_w=0.1, timeout_s=1.0)
    laser.connect()
    laser.set_power_w(0.042)
    return laser, lambda: laser.power_setpoint_w(), 0.042


def ibeam_setup(url):
    laser = IBeamSmartLaser(port=url, max_power_w=0.1, timeout_s=1.0)
    laser.connect()
    return laser, lambda: laser.emission_on(), False


def mdt_setup(url):
    piezo = Mdt693bPiezo(port=url, min_v=0.0, max_v=75.0, timeout_s=1.0)
    piezo.connect()
    piezo.move_to(12.5)
    return piezo, lambda: piezo.position(), 12.5


def pi_setup(url):
    stage = PiGcsStage(port=url, min_um=0.0, max_um=100.0, timeout_s=1.0)
    stage.connect()
    stage.move_to(42.0)
    return stage, lambda: stage.position(), 42.0


CASES = {
    "obis": (ObisEmulator, obis_setup),
    "ibeam-smart": (IBeamSmartEmulator, ibeam_setup),
    "mdt693b": (Mdt693bEmulator, mdt_setup),
    "pi-gcs": (lambda: PiGcsEmulator(move_time_s=0.0), pi_setup),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_one_corrupted_reply_is_retried_and_two_fail(serve, kind):
    make_emulator, setup = CASES[kind]
    server = serve(make_emulator())
    device, query, truth = setup(server.url)
    try:
        server.garble_next(1)
        assert query() == pytest.approx(truth)
        assert query() == pytest.approx(truth)  # the line is clean afterwards
        server.garble_next(2)
        with pytest.raises(DeviceError, match="corrupted reply twice") as info:
            query()
        assert isinstance(info.value, CorruptReply)
        assert query() == pytest.approx(truth)  # and the link recovers
    finally:
        try:
            device.close()
        except DeviceError:
            pass


def test_gcs_command_is_repeated_with_its_err_query_when_the_err_reply_is_garbled(serve):
    """ERR? clears the error, so a garbled ERR? reply re-sends MOV + ERR?, never ERR? alone."""
    emulator = PiGcsEmulator(move_time_s=0.0)
    server = serve(emulator)
    with PiGcsStage(port=server.url, min_um=0.0, max_um=100.0, timeout_s=1.0) as stage:
        before = len(server.received)
        server.garble_next(1)  # the MOV is silent: the first reply is ERR?'s
        stage.move_to(30.0, wait=False)
        assert server.received[before:] == ["MOV 1 30.000000", "ERR?", "MOV 1 30.000000", "ERR?"]
        assert emulator.target_um == 30.0

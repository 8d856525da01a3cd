"""Subscribers isolated from each other, latest-value slots, and bench ownership (decision 0040)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from psygnal import SignalGroup

from app.signals import LatestValue, isolated_signal
from drivers.ownership import BenchBusy, BenchOwnership


class _Events(SignalGroup):
    ping = isolated_signal(int)


def test_a_raising_subscriber_does_not_stop_the_ones_after_it():
    events, seen, failures = _Events(), [], []
    events.ping.failure_sink = lambda name, exc: failures.append((name, type(exc)))
    events.ping.connect(lambda v: seen.append(("first", v)))
    events.ping.connect(lambda v: 1 / 0)
    events.ping.connect(lambda v: seen.append(("third", v)))
    events.ping.emit(1)
    events.ping.emit(2)
    assert seen == [("first", 1), ("third", 1), ("first", 2), ("third", 2)]
    assert failures == [("ping", ZeroDivisionError)]  # reported once, not per emission


def test_latest_value_keeps_only_the_newest_item_with_its_sequence_number():
    slot = LatestValue()
    assert slot.get() is None
    for k in range(1000):
        slot.publish(np.full(4, k, np.uint16))
    latest = slot.get()
    assert latest.seq == 1000 and latest.value[0] == 999
    assert slot.get_newer(1000) is None and slot.get_newer(999).seq == 1000


def test_a_published_array_cannot_be_overwritten():
    slot = LatestValue()
    frame = np.zeros((2, 2), np.uint16)
    slot.publish(frame)
    with pytest.raises(ValueError):
        slot.get().value[0, 0] = 1


def test_a_claimed_bench_refuses_other_threads_and_names_the_run():
    ownership = BenchOwnership()
    claim = ownership.claim("run 'phase-stepping' -> runs/a.h5")
    ownership.check("delay_stage", "move")  # the claiming thread may act
    errors = []

    def jog():
        try:
            ownership.check("delay_stage", "move to 5 um")
        except BenchBusy as exc:
            errors.append(str(exc))

    t = threading.Thread(target=jog)
    t.start()
    t.join()
    assert errors == ["delay_stage: move to 5 um refused: the bench is in use by run 'phase-stepping' -> runs/a.h5"]
    with pytest.raises(BenchBusy, match="in use by run 'phase-stepping'"):
        ownership.claim("another run")
    claim.release()
    assert ownership.holder is None
    t = threading.Thread(target=jog)
    t.start()
    t.join()
    assert len(errors) == 1  # after release anyone may act


def test_emergency_stop_from_outside_the_run_calls_the_runs_abort():
    ownership, reasons = BenchOwnership(), []
    ownership.claim("run 'x'", on_emergency_stop=reasons.append)
    ownership.emergency_stop("from the claiming thread")  # the run itself switching off is not an emergency
    t = threading.Thread(target=ownership.emergency_stop, args=("laser off by the GUI",))
    t.start()
    t.join()
    assert reasons == ["laser off by the GUI"]

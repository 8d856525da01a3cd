"""SLM.set_lut: the contract's one rule for changing the LUT at run time (the GUI's SLM panel uses it)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from app.wavefront.lut_fit import fit_lut, write_lut_file
from drivers.errors import DeviceError
from drivers.slm_lut import load_lut, lut_sha256, phase_to_gray
from sim_backends.quick import quick_bench


def test_a_10_bit_lut_file_loads_and_its_hash_is_the_files(tmp_path):
    bench = quick_bench(roi=(992, 992, 64, 64), sample="empty", slm={"bits": 10})
    slm = bench.slm
    gray = np.arange(0, 1024, 8)
    fit = fit_lut(gray, 2 * np.pi * gray / 850.0, max_gray=1023, levels=1024)
    path = write_lut_file(tmp_path / "ten.lut", fit, wavelength_nm=1550.0)
    with pytest.raises(ValueError, match="outside 0..255"):
        load_lut(path)  # an 8-bit reader refuses gray levels a 10-bit panel needs
    lut = load_lut(path, max_gray=slm.gray_max)
    assert lut.max() > 255 and np.array_equal(lut, fit.lut)  # fractional gray levels, read back exactly
    slm.set_lut(lut, name="ten.lut")
    state = slm.read_state()
    assert state.lut_name == "ten.lut" and state.lut_sha256 == fit.lut_sha256()
    assert f"# sha256 {hashlib.sha256(lut.astype('<f8').tobytes()).hexdigest()}" in path.read_text()


def test_a_lut_the_panel_cannot_take_is_refused_and_nothing_changes():
    bench = quick_bench(roi=(992, 992, 64, 64), sample="empty")
    slm = bench.slm
    before = slm.lut.copy()
    for bad in (np.array([0, 300]), np.array([5]), np.array([0.5, np.nan]), np.array([-0.5, 1.5]),
                np.zeros((2, 2), int), np.array(["0", "1"])):
        with pytest.raises(DeviceError, match=r"LUT 'x' must be 2 or more gray levels in 0..255"):
            slm.set_lut(bad, name="x")
    assert np.array_equal(slm.lut, before) and slm.lut_name == "linear"


def test_the_mask_on_the_panel_is_shown_again_through_a_new_lut_with_the_same_levels():
    bench = quick_bench(roi=(992, 992, 64, 64), sample="empty")
    slm = bench.slm
    phase = np.linspace(0, 4 * np.pi, slm.shape[1])[None, :].repeat(slm.shape[0], axis=0)
    slm.show(phase, dither="off")
    levels = np.floor(np.mod(phase, 2 * np.pi) * 256 / (2 * np.pi)).clip(0, 255).astype(int)
    shown_before = slm.current_phase_rad()
    lut = (np.arange(256) * 212 // 256).astype(np.uint8)
    slm.set_lut(lut, name="212")
    assert np.array_equal(slm.gray_levels, lut[levels])
    assert np.array_equal(slm.current_phase_rad(), shown_before)  # the same phase levels, now mapped by the new LUT


def test_a_dithered_mask_is_shown_again_dithered_through_a_new_lut():
    bench = quick_bench(roi=(992, 992, 64, 64), sample="empty")
    slm = bench.slm
    slm.show(np.full(slm.shape, 2 * np.pi * 100.25 / 256, np.float32))  # level 100.25: a quarter of a gray up
    assert np.mean(slm.gray_levels) == pytest.approx(100.25, abs=1e-9)
    slm.set_lut(np.arange(256) * 0.5, name="half")  # fractional entries: entry 100.25 is gray 50.125
    assert slm.read_state().dither == "bayer4" and slm.read_state().lut_name == "half"
    assert np.mean(slm.gray_levels) == pytest.approx(50.125, abs=1e-9)  # 2 of each 16 pixels at 51
    assert set(np.unique(slm.gray_levels)) == {50, 51}


def test_lut_changes_racing_mask_shows_from_other_threads_leave_the_panel_consistent_with_the_last_lut():
    """A GUI thread loading LUTs while a script shows masks: every call is whole, none interleaves."""
    import threading

    bench = quick_bench(roi=(992, 992, 64, 64), sample="empty")
    slm = bench.slm
    luts = {"212": (np.arange(256) * 212 // 256).astype(np.uint8), "linear": np.arange(256, dtype=np.uint8)}
    phases = [np.full(slm.shape, k * 0.7, np.float32) for k in range(1, 6)]
    errors: list[BaseException] = []

    def load_luts():
        try:
            for i in range(200):
                name = "212" if i % 2 else "linear"
                slm.set_lut(luts[name], name=name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def show_masks():
        try:
            for i in range(200):
                slm.show(phases[i % len(phases)])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=load_luts), threading.Thread(target=show_masks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    last_lut = luts[slm.lut_name]
    # the panel shows the last LUT applied to the last phase shown (k * 0.7 rad), dithered, exactly
    shown = slm.current_phase_rad()
    assert np.ptp(shown) == 0 and any(shown[0, 0] == p[0, 0] for p in phases)
    assert np.array_equal(slm.gray_levels, phase_to_gray(shown, last_lut, dither="bayer4"))
    state = slm.read_state()
    assert state.lut_name == slm.lut_name and state.lut_sha256 == lut_sha256(last_lut)

"""The ``lut-calibration`` sequence: the SLM's phase against gray level, through the interferometer itself.

Uniform gray levels shift the interference phase by passes x phi(g), at the idler wavelength the camera
never sees (the signal photons' fringes carry it). Each level's burst is bracketed by bursts at a
reference level, and its phase is taken against the mean of the two: a linear drift cancels. The
levels are shown raw (an identity LUT for the duration, the SLM's own LUT restored or replaced after);
:func:`app.wavefront.lut_fit.fit_lut` unwraps, detects the sign and inverts; the LUT file is written in
the format the SLM drivers load, and (``apply``) loaded into the SLM for the rest of the session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.engine.params import ParameterError
from app.engine.plan import ResultSpec
from app.engine.procedures.context import ProcedureContext, burst_metric, mean_phasor, procedure_plan
from drivers.slm_lut import integral_lut


def gray_levels(p, levels: int) -> np.ndarray:
    """Every ``gray_step``-th level from 0, and the last one; once per repeat."""
    grays = np.arange(0, levels, p.gray_step)
    if grays[-1] != levels - 1:
        grays = np.append(grays, levels - 1)
    return np.tile(grays, p.repeats)


def plan(p, facts):
    levels = facts.slm_levels
    if p.reference_gray >= levels:
        raise ParameterError(f"lut-calibration: parameter reference_gray={p.reference_gray}: the SLM has gray "
                             f"levels 0..{levels - 1}")
    n = gray_levels(p, levels).size
    if n // p.repeats < 8:
        raise ParameterError(f"lut-calibration: parameter gray_step={p.gray_step} leaves {n // p.repeats} gray "
                             "levels; the fit needs at least 8")
    results = [
        ResultSpec("gray_level", (n,), "1", "float64", "gray level of each measurement, in the order shown"),
        ResultSpec("interference_phase_rad", (n,), "rad", "float64", "measured phase shift of that level against "
                   "the bracketing reference bursts (wrapped; passes x the SLM's phase)"),
        ResultSpec("reference_phase_rad", (n + 1,), "rad", "float64", "interference phase of each reference burst "
                   "(its change is the drift the bracketing cancels)"),
        ResultSpec("response_rad", (levels,), "rad", "float64", "fitted SLM phase of every gray level (sign-corrected)"),
        ResultSpec("lut", (levels,), "1", "float64", "gray level (fractional) for phase 2 pi k / levels"),
        ResultSpec("gray_at_2pi", (), "1", "float64"),
        ResultSpec("phase_sign", (), "1", "float64", "+1: the phase grows with gray level; -1: it falls"),
        ResultSpec("fit_residual_rad", (), "rad", "float64"),
        ResultSpec("lut_sha256", (), "", "S64"),
    ]
    return procedure_plan("lut-calibration", p, facts, results, sample_in=False)


def lut_target(p, facts, sink_path) -> Path | None:
    if p.lut_file:
        return Path(p.lut_file)
    if facts.slm_lut_path:
        return Path(facts.slm_lut_path)
    return None if sink_path is None else Path(sink_path).with_suffix(".lut")


def measure_levels(slm, maps, grays, reference_gray: int, *, on_burst=None, on_reference=None,
                   on_level=None) -> np.ndarray:
    """Wrapped interference phase of each gray level in ``grays`` against its two bracketing reference bursts.

    The levels are shown raw (an identity LUT for the duration; the SLM's own LUT is back on every exit);
    ``maps(label=...)`` is one burst's fringe maps (:meth:`app.wavefront.loop.VisibilityMetric.maps`). The
    phase of each level is taken against the mean of the reference bursts before and after it, so a linear
    drift cancels. Callbacks: ``on_burst()`` after every burst, ``on_reference(k, phase_rad)`` for reference
    burst k (0 = the first), ``on_level(i, gray, phase_rad)`` for level i. Used by the ``lut-calibration``
    sequence and by ``qiup bench ao`` (one measurement rule).
    """
    shape, own_lut, own_name = tuple(slm.shape), slm.lut, slm.lut_name
    levels = len(own_lut)

    def measure(gray: int) -> complex:
        slm.show(np.full(shape, 2.0 * np.pi * (gray + 0.5) / levels, np.float32), wait=True, label=f"gray {gray}",
                 dither="off")  # exactly gray g on every pixel (dithered, g + 0.5 would mix g and g + 1)
        phasor = mean_phasor(maps(label="lut-calibration"))
        if on_burst is not None:
            on_burst()
        return phasor / abs(phasor) if abs(phasor) > 0 else 0j

    phases = np.empty(len(grays))
    try:
        slm.lut = np.arange(levels, dtype=own_lut.dtype)  # gray g shown for phase 2 pi (g + 0.5) / levels
        reference = measure(reference_gray)
        if on_reference is not None:
            on_reference(0, float(np.angle(reference)))
        for i, gray in enumerate(grays):
            level = measure(int(gray))
            after = measure(reference_gray)
            between = reference + after  # the reference phase halfway in time (linear drift cancels)
            phases[i] = float(np.angle(level * np.conj(between)))
            if on_level is not None:
                on_level(i, int(gray), phases[i])
            if on_reference is not None:
                on_reference(i + 1, float(np.angle(after)))
            reference = after
    finally:
        slm.lut, slm.lut_name = own_lut, own_name
    return phases


def run(ctx: ProcedureContext) -> None:
    from app.engine.sequences import bench_facts
    from app.wavefront.lut_fit import fit_lut, write_lut_file

    p, bench = ctx.params, ctx.bench
    slm = bench.slm
    own_lut = slm.lut
    levels = len(own_lut)
    grays = gray_levels(p, levels)
    total = 2 * grays.size + 1
    ctx.set_up(sample_in=False)
    metric = burst_metric(ctx, roi_px=p.roi_px, steps=p.steps, frames_per_step=p.frames_per_step,
                          dark_frames=p.dark_frames)
    count = [0]

    def on_burst() -> None:
        count[0] += 1
        ctx.progress(count[0], total, "lut-calibration")

    def on_level(i: int, gray: int, phase_rad: float) -> None:
        ctx.record("gray_level", float(gray), i)
        ctx.record("interference_phase_rad", phase_rad, i)

    def on_reference(k: int, phase_rad: float) -> None:
        ctx.record("reference_phase_rad", phase_rad, k)
        if k > 0:
            ctx.record("measurements_done", count[0])

    try:
        measured = measure_levels(slm, metric.maps, grays, p.reference_gray, on_burst=on_burst,
                                  on_reference=on_reference, on_level=on_level)
        fitted = fit_lut(grays.astype(np.float64), measured, max_gray=levels - 1, levels=levels, passes=p.slm_passes)
    finally:
        metric.close()
    ctx.record("response_rad", fitted.response_rad)
    ctx.record("lut", fitted.lut)
    ctx.record("gray_at_2pi", fitted.gray_at_2pi)
    ctx.record("phase_sign", float(fitted.sign))
    ctx.record("fit_residual_rad", fitted.residual_rms_rad)
    ctx.record("lut_sha256", np.bytes_(fitted.lut_sha256().encode()))
    message = (f"SLM LUT: 2 pi at gray {fitted.gray_at_2pi:.2f}, sign {fitted.sign:+d}, fit residual "
               f"{fitted.residual_rms_rad:.4f} rad RMS")
    target = lut_target(p, bench_facts(bench), ctx.sink.path)
    if target is not None:
        write_lut_file(target, fitted, wavelength_nm=p.wavelength_nm, source=str(ctx.sink.path or "script"))
        ctx.notes["lut_file"] = target
        message += f"; written to {target}"
    if p.apply:
        slm.lut = integral_lut(fitted.lut, levels - 1)
        slm.lut_name = target.name if target is not None else "calibrated"
        message += "; loaded into the SLM"
    ctx.log(message)

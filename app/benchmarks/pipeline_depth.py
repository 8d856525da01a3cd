"""Three-layer depth accuracy: a phase-stepped delay scan of the simulator's three-layer sample.

The simulated bench renders every frame (DESIGN.md section 4: coherence envelope with FWHM
l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i, carrier exp(i 2 k_i dz), PSF, shot and read noise, 16-bit
ADC); the pipeline accumulates, demodulates and finds each envelope peak. The layers overlap (a
partial reflector, a disc and a back mirror behind them), so each layer is gated, as in OCT, by a
window around its true depth (+-l_c, or half the distance to the next layer if that is less, so that
a stronger neighbour's envelope is not inside it), and the pipeline's sub-step peak inside the window
is compared with that depth wherever the layer reflects.
"""

from __future__ import annotations

import numpy as np

from app.pipeline.accumulate import StepAccumulator
from app.pipeline.demodulate import complex_field, equal_step_phases_rad
from app.pipeline.depth import envelope_peak

ROI = (832, 960, 384, 128)  # x, y, width, height: the partial reflector, the disc and bare back mirror
MIN_REFLECTIVITY = 0.1  # a layer counts at a pixel where its amplitude reflectivity is at least this


def three_layer_scan(*, steps: int = 4, frames_per_step: int = 2, seed: int = 4):
    """(complex fields (Z, h, w), delays_um, layers [(reflectivity map, depth_um)], l_c) from the simulator."""
    from sim_backends.quick import quick_bench

    bench = quick_bench(sample="three-layer", roi=ROI, seed=seed)
    world = bench.world
    l_c = float(world.coherence_length_um)
    volts_per_2pi = 7.75  # idler arm 1550 nm, double pass, 0.1 um/V (the quick bench's piezo)
    volts = 10.0 + volts_per_2pi * equal_step_phases_rad(steps) / (2 * np.pi)
    x, y, w, h = ROI
    roi_slices = (slice(y, y + h), slice(x, x + w))

    dark_acc = StepAccumulator(1, (h, w))
    for _ in range(steps * frames_per_step):  # laser off (quick_bench leaves emission off)
        dark_acc.add(0, bench.camera.read_frame().data)
    dark = dark_acc.mean_frames()[0]

    bench.laser.set_emission(True)
    delays = np.arange(0.0, 100.0 + 1e-9, l_c / 4)
    fields = []
    for z in delays:
        bench.delay_stage.move_to(float(z))
        bench.delay_stage.wait_settled()
        acc = StepAccumulator(steps, (h, w))
        for k, v in enumerate(volts):
            bench.phase_piezo.move_to(float(v))
            for _ in range(frames_per_step):
                acc.add(k, bench.camera.read_frame().data)
        fields.append(complex_field(acc.mean_frames(dark)))
    bench.laser.set_emission(False)
    return np.array(fields), delays, world.layers_truth(roi_slices), l_c


def three_layer_depth_error() -> tuple[float, str]:
    """(depth RMS error over every (pixel, layer) / l_c, description of the data source)."""
    fields, delays, layers, l_c = three_layer_scan()
    envelope = np.abs(fields)
    errors = []
    depths = np.array([depth for _, depth in layers])
    for reflectivity, depth_um in layers:
        others = np.abs(depths - depth_um)[np.abs(depths - depth_um) > 0]
        half_width = min(l_c, 0.5 * others.min()) if others.size else l_c
        gate = np.abs(delays - depth_um) <= half_width
        found, _ = envelope_peak(envelope[gate], delays[gate], envelope_fwhm_um=l_c)
        errors.append((found - depth_um)[reflectivity >= MIN_REFLECTIVITY])
    errors = np.concatenate(errors)
    rms = float(np.sqrt(np.mean(errors**2)))
    return rms / l_c, f"simulator, {len(layers)} layers, {errors.size} pixel-layers, l_c = {l_c:.1f} um, steps l_c/4"

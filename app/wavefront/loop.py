"""The sensorless adaptive-optics measurement loop on a connected bench (issue 12, item 5).

:class:`VisibilityMetric` shows a mask on the SLM (the contract wraps, quantises and maps it through the
LUT; ``show(wait=True)`` waits the SLM's settle time), takes a short phase-stepping burst with the piezo
through the engine's one acquisition path, demodulates it (dark subtracted) and returns the ROI-mean
fringe visibility. :func:`run_modal_correction` drives Booth's 2N+1 / N+1 estimators
(:mod:`app.wavefront.modal`) with it. Call it on a bench that no run owns, or from the run's own thread
(decision 0040); the pump is switched off on every exit path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.engine.acquire_step import StepAcquirer, switch_pump
from app.engine.plan import equal_steps
from app.pipeline.demodulate import FringeMaps, demodulate
from app.wavefront.beam_modes import BeamModes
from app.wavefront.masks import Correction, compose_mask
from app.wavefront.modal import LOG_VISIBILITY_CURVATURE, ModalStep, optimise
from app.wavefront.zernike import ZernikeBasis


def centred_roi(frame_shape: tuple[int, int], size_px: int) -> tuple[slice, slice]:
    """A ``size_px`` square (clipped to the frame) around the frame's centre: the illuminated field centre."""
    h, w = frame_shape
    sh, sw = min(int(size_px), h), min(int(size_px), w)
    r0, c0 = (h - sh) // 2, (w - sw) // 2
    return slice(r0, r0 + sh), slice(c0, c0 + sw)


METRICS = ("visibility", "sharpness")


def sharpness(visibility_map: np.ndarray) -> float:
    """Image sharpness of a visibility map: mean squared gradient over the squared mean (scale-free)."""
    v = np.asarray(visibility_map, np.float64)
    gy, gx = np.gradient(v)
    mean = float(np.mean(v))
    return float(np.mean(gx**2 + gy**2) / mean**2) if mean > 0 else 0.0


class VisibilityMetric:
    """ROI-mean fringe visibility of a mask: show it, N piezo steps x F frames, demodulate, average.

    ``prepare()`` (called by the first measurement) takes the dark once with the pump off, then switches
    the pump on at ``power_w`` and waits until it has settled. ``close()`` switches it off. ``frames(setpoint,
    n, laser_on=..., label=..., step=...)`` and ``pump(on)`` replace the bench calls (a run's procedure passes
    its own, which publish frames and honour pause/abort); ``metric="sharpness"`` returns the sharpness of
    the visibility map instead of its mean. ``carrier_rad`` is added to every mask shown: a uniform phase
    moves only the global fringe phase, but with pi a small mask no longer wraps at each sign change
    (on a real panel a wrap is a fringing-field line that scatters light; the simulated one costs ~3 %
    of the visibility for a mask near zero, and biased the search).
    """

    def __init__(self, bench, *, piezo_start: float = 10.0, piezo_travel_per_2pi: float = 7.75, n_steps: int = 4,
                 frames_per_step: int = 2, dark_frames: int = 4, power_w: float = 0.1, roi_px: int = 64,
                 roi: tuple[slice, slice] | None = None, frame_timeout_s: float = 5.0,
                 checkpoint: Callable[[], None] | None = None, frames: Callable | None = None,
                 pump: Callable[[bool], None] | None = None, metric: str = "visibility",
                 carrier_rad: float = np.pi):
        if n_steps < 3 or frames_per_step < 1 or dark_frames < 1:
            raise ValueError("the visibility metric needs n_steps >= 3, frames_per_step >= 1 and dark_frames >= 1")
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)} (got {metric!r})")
        self.bench = bench
        self.setpoints, self.step_phases_rad = equal_steps(n_steps, piezo_start, piezo_travel_per_2pi)
        self.frames_per_step, self.dark_frames, self.power_w = int(frames_per_step), int(dark_frames), float(power_w)
        self.roi, self.roi_px = roi, int(roi_px)
        self.checkpoint = checkpoint
        self.metric = metric
        self.carrier_rad = float(carrier_rad)
        self.acquirer = StepAcquirer(bench, frame_timeout_s=frame_timeout_s, checkpoint=checkpoint)
        self._frames = frames or self._bench_frames
        self._pump = pump or self._bench_pump
        self.dark_adu: np.ndarray | None = None
        self.last_visibility_map: np.ndarray | None = None
        self.last_maps: FringeMaps | None = None
        self.measurements = 0

    def _bench_frames(self, setpoint: float, n: int, *, laser_on: bool, label: str = "", step: int = 0):
        return self.acquirer.take(setpoint, n, laser_on=laser_on)[1]

    def _bench_pump(self, on: bool) -> None:
        switch_pump(self.bench, on=on, power_w=self.power_w, checkpoint=self.checkpoint)
        self.acquirer.resync()

    def prepare(self) -> None:
        """Dark once (pump off), then the pump on and settled."""
        self._pump(False)
        frames = self._frames(self.setpoints[0], self.dark_frames, laser_on=False, label="dark")
        self.dark_adu = np.mean([f.data.astype(np.float64) for f in frames], axis=0)
        if self.roi is None:
            self.roi = centred_roi(self.dark_adu.shape, self.roi_px)
        self._pump(True)

    def close(self) -> None:
        self._pump(False)

    def maps(self, label: str = "ao") -> FringeMaps:
        """The ROI's visibility, phase and mean from one burst with whatever the SLM shows now."""
        if self.dark_adu is None:
            self.prepare()
        rows, cols = self.roi
        means = []
        for k, setpoint in enumerate(self.setpoints):
            frames = self._frames(setpoint, self.frames_per_step, laser_on=True, label=label, step=k)
            means.append(np.mean([f.data[rows, cols].astype(np.float64) for f in frames], axis=0))
        step_means = np.asarray(means) - self.dark_adu[rows, cols]
        self.measurements += 1
        self.last_maps = demodulate(step_means, np.asarray(self.step_phases_rad))
        self.last_visibility_map = self.last_maps.visibility
        return self.last_maps

    def visibility_map(self) -> np.ndarray:
        """The ROI's visibility map from one burst with whatever the SLM shows now."""
        return self.maps().visibility

    def value(self) -> float:
        """The metric of what the SLM shows now: ROI-mean visibility, or the map's sharpness."""
        v = self.visibility_map()
        return float(np.mean(v)) if self.metric == "visibility" else sharpness(v)

    def __call__(self, mask_rad: np.ndarray) -> float:
        """Show ``mask_rad`` plus the uniform carrier (waiting the settle time), then the metric."""
        shown = (np.asarray(mask_rad, np.float64) + self.carrier_rad).astype(np.float32)
        self.bench.slm.show(shown, wait=True, label="ao")
        return self.value()


def gaussian_beam_amplitude(shape: tuple[int, int], centre_yx_px, radius_px: float) -> np.ndarray:
    """Field amplitude exp(-r^2 / R^2) of a Gaussian beam of 1/e^2 intensity radius R on the SLM."""
    y = np.arange(shape[0])[:, None] - centre_yx_px[0]
    x = np.arange(shape[1])[None, :] - centre_yx_px[1]
    return np.exp(-(x**2 + y**2) / radius_px**2)


def log_visibility_curvatures(mode_phases_rad, intensity: np.ndarray, pass_count: int) -> np.ndarray:
    """d^2(-ln V)/dc^2 per mode for V = |<exp(i p c Z)>| over the pump ``intensity`` (whole SLM), each mode
    Z given as the full SLM phase it shows per unit coefficient: p^2 / 2 times its weighted variance."""
    w = np.asarray(intensity, np.float64)
    w = w / w.sum()
    out = []
    for z in mode_phases_rad:
        mean = float(np.sum(w * z))
        out.append(float(np.sum(w * (z - mean) ** 2)))
    return LOG_VISIBILITY_CURVATURE * pass_count**2 * np.asarray(out)


@dataclass
class ModalRun:
    """What a modal correction found: the correction, every (coefficients shown, metric), before/after."""

    correction: Correction
    measurements: list[tuple[np.ndarray, float]]
    visibility_before: float
    visibility_after: float
    steps: list[ModalStep] = field(default_factory=list)

    @property
    def n_measurements(self) -> int:
        return len(self.measurements)


def _correction(basis: ZernikeBasis, coefficients, shape, wavelength_nm: float, lut_sha256: str,
                metadata: dict, extent_radii: float) -> Correction:
    return Correction(noll_indices=basis.noll_indices, coefficients_rad_rms=tuple(float(c) for c in coefficients),
                      pupil=basis.pupil, slm_shape=tuple(shape), wavelength_nm=float(wavelength_nm),
                      normalisation="orthonormal" if basis.orthonormalised else "unit-rms", lut_sha256=lut_sha256,
                      metadata=dict(metadata), extent_radii=float(extent_radii))


def run_modal_correction(bench, basis: ZernikeBasis, method: str = "2n+1", bias_rad: float = 0.35, cycles: int = 2,
                         *, metric: VisibilityMetric | None = None, pass_count: int = 2, wavelength_nm: float = 0.0,
                         lut_sha256: str = "", user_masks_rad: Sequence[np.ndarray] = (),
                         start: Sequence[float] | None = None, max_step_factor: float = 2.0,
                         beam_amplitude: np.ndarray | None = None, extent_radii: float = 1.0,
                         on_measurement: Callable[[np.ndarray, float], None] | None = None,
                         on_step: Callable[[int, ModalStep, np.ndarray], None] | None = None,
                         search_modes: BeamModes | None = None,
                         mask_transform: Callable[[np.ndarray], np.ndarray] | None = None,
                         **metric_options) -> ModalRun:
    """Modal optimisation of the ROI visibility over ``basis`` (coefficients: rad RMS of SLM phase).

    ``basis`` must be built without a measured amplitude (a ``Correction`` re-creates it from its pupil and
    normalisation alone). ``pass_count`` is how often the SLM phase acts (2 for the michelson geometry):
    the N+1 method's known curvature is p^2 times the single-pass 1/2. ``metric_options`` build the
    :class:`VisibilityMetric` when none is given. The pump is off when this returns or raises.

    With ``beam_amplitude`` (the pump's field amplitude on the SLM, e.g. from pupil registration) the
    search runs in the same modes orthonormalised over the pump intensity inside the pupil, so they
    couple less in the metric, and N+1 uses each mode's curvature under the pump (pupil part); the result
    is converted back to ``basis`` (same span, exact) for the saved correction. ``start`` is in the search
    coordinates. (N+1 with ``extent_radii`` > 1 is not reliable yet: the tail breaks its curvature model.)
    ``extent_radii`` > 1 continues the (unit-RMS) modes beyond the pupil (``Correction.extent_radii``).
    ``on_measurement(coefficients of basis, metric)`` follows every measurement (before, search, after);
    ``on_step(cycle, step, current)`` every optimiser cycle (search coordinates).

    ``search_modes`` (instead of ``beam_amplitude``): modes orthonormal over the beam on the whole SLM, built
    for this ``extent_radii`` (:func:`app.wavefront.beam_modes.beam_search_modes`); N+1 then uses their one
    curvature p^2 / 2. ``mask_transform`` is applied to every mask before it is shown (e.g.
    :func:`app.wavefront.beam_modes.centre_piston`, which keeps the SLM's wraps off the beam's centre; the
    metric's uniform pi carrier is then 0 unless given).
    """
    slm = bench.slm
    shape = tuple(slm.shape)
    if tuple(basis.shape) != shape:
        raise ValueError(f"the basis was sampled for an SLM of {basis.shape}, this one is {shape}")
    curvature = LOG_VISIBILITY_CURVATURE * pass_count**2
    to_basis = np.eye(basis.n_modes)  # search coefficients -> coefficients of ``basis``
    if beam_amplitude is not None:
        search = ZernikeBasis(basis.noll_indices, basis.pupil, shape, amplitude=beam_amplitude, orthonormalise=True)
        to_basis = np.stack([basis.project(search.wavefront_rad(e)) for e in np.eye(basis.n_modes)], axis=1)
        inside = (search.wavefront_rad(e) for e in np.eye(basis.n_modes))  # the pupil part: the quadratic region
        curvature = log_visibility_curvatures(inside, np.asarray(beam_amplitude, np.float64) ** 2, pass_count)
    if search_modes is not None:
        if beam_amplitude is not None or search_modes.extent_radii != extent_radii:
            raise ValueError("search_modes replace beam_amplitude and must be built for the same extent_radii")
        to_basis, curvature = search_modes.to_basis, search_modes.curvature
    show = mask_transform or (lambda mask: mask)
    if mask_transform is not None:  # the transform places the piston; the metric's own pi carrier would undo it
        metric_options.setdefault("carrier_rad", 0.0)
        if metric is not None and metric.carrier_rad != 0.0:
            raise ValueError("with a mask_transform the metric's carrier_rad must be 0 (the transform places the piston)")
    metric = metric or VisibilityMetric(bench, **metric_options)
    records: list[tuple[np.ndarray, float]] = []

    def measure(coefficients: np.ndarray) -> float:
        phase = basis.continued_wavefront_rad(to_basis @ coefficients, extent_radii)
        mask = compose_mask(shape, user_masks_rad=[phase, *user_masks_rad])
        value = metric(show(mask))
        records.append((np.asarray(coefficients, np.float64).copy(), value))
        if on_measurement is not None:
            on_measurement(to_basis @ records[-1][0], value)
        return value

    try:
        start_coefficients = np.zeros(basis.n_modes) if start is None else np.asarray(start, np.float64)
        before = measure(start_coefficients)
        result = optimise(measure, basis.n_modes, method=method, bias_rad=bias_rad, cycles=cycles, start=start,
                          max_step_factor=max_step_factor, curvature=curvature, on_step=on_step)
        found = to_basis @ result.correction_rad_rms
        metadata = {"method": method, "bias_rad": float(bias_rad), "cycles": int(cycles), "pass_count": int(pass_count),
                    "basis": "zernike-noll", "coefficient_unit": "rad RMS of SLM phase over the pupil",
                    "optimiser_measurements": result.measurements,
                    "search_basis": ("as saved" if beam_amplitude is None and search_modes is None
                                     else "orthonormal over the pump intensity")}
        correction = _correction(basis, found, shape, wavelength_nm, lut_sha256, metadata, extent_radii)
        after = metric(show(compose_mask(shape, correction=correction, user_masks_rad=user_masks_rad)))
        records.append((np.asarray(result.correction_rad_rms, np.float64).copy(), after))  # search basis
        if on_measurement is not None:
            on_measurement(found, after)
    finally:
        metric.close()
    return ModalRun(correction, records, before, after, result.steps)

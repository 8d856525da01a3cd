"""From the integer sums of dark, reference and sample runs to every result map with uncertainties.

One function used by ``qiup reprocess`` (TIFF stacks or run files) and available to the engine, so a
live run and a reprocessing of the same frames give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.pipeline.accumulate import mean_frame
from app.pipeline.demodulate import FringeMaps, demodulate_sums, normalise_by_reference, step_means
from app.pipeline.masks import hot_pixel_mask, unwrap_in_mask
from app.pipeline.uncertainty import object_sigmas, sigma_maps


@dataclass(frozen=True)
class RunSums:
    """Integer sums (N, h, w) and frame counts (N,) of one phase-stepped (or dark) run."""

    sums: np.ndarray
    counts: np.ndarray
    saturated: np.ndarray | None = None  # (h, w) bool: any frame at the ADC maximum

    def step_means(self, dark_adu: np.ndarray | float = 0.0) -> np.ndarray:
        """(N, h, w) float64 mean frame of each step minus dark (app.pipeline.demodulate.step_means)."""
        return step_means(self.sums, self.counts, dark_adu)


@dataclass(frozen=True)
class Reconstruction:
    """All result maps (h, w); phase relative to the reference when one was given."""

    visibility: np.ndarray
    amplitude: np.ndarray
    phase_rad: np.ndarray
    phase_unwrapped_rad: np.ndarray | None  # None only from reconstruct(..., unwrap=False): see with_unwrapped
    sigma_phase_rad: np.ndarray
    sigma_visibility: np.ndarray
    sigma_amplitude: np.ndarray
    mask: np.ndarray
    mean_adu: np.ndarray
    reference_visibility: np.ndarray | None
    dark_adu: np.ndarray
    hot_pixels: np.ndarray
    saturated: np.ndarray


def reconstruct(sample: RunSums, *, reference: RunSums | None = None, dark: RunSums | np.ndarray | None = None,
                step_phases_rad: np.ndarray | None = None, gain_e_per_adu: float = 1.0,
                read_noise_e: float | np.ndarray = 0.0, min_reference_visibility: float = 0.05,
                min_mean_adu: float = 0.0, unwrap: bool = True) -> Reconstruction:
    """Dark-subtract once, demodulate, normalise by the reference, mask, unwrap, and attach sigmas.

    ``unwrap=False`` leaves ``phase_unwrapped_rad`` None, so a caller can use the other maps (e.g. start
    drawing them elsewhere) while ``with_unwrapped`` does the slowest step; the result is the same.
    Each run's sums are let go of once their step means are taken: a caller that passes the only
    reference (e.g. ``reconstruct(runs.pop("sample"), ...)``) lets them be freed early (2048^2 x 8
    steps: 128 MiB per run).
    """
    shape = sample.sums.shape[1:]
    if reference is not None and reference.sums.shape != sample.sums.shape:
        raise ValueError(f"reference sums {reference.sums.shape} do not match sample sums {sample.sums.shape}")
    if isinstance(dark, RunSums):
        dark_adu = mean_frame(dark.sums, dark.counts)
        hot = hot_pixel_mask(dark_adu)
    elif dark is not None:
        dark_adu = np.asarray(dark, np.float64)
        hot = hot_pixel_mask(dark_adu)
    else:
        dark_adu, hot = np.zeros(shape), np.zeros(shape, bool)
    if dark_adu.shape != shape:
        raise ValueError(f"dark frame {dark_adu.shape} does not match frames {shape}")
    saturated = np.zeros(shape, bool)
    for flags in (run.saturated for run in (sample, reference) if run is not None and run.saturated is not None):
        saturated |= flags  # (no loop variable left holding a run: see the docstring)
    exclude = hot | saturated

    sample_frames, reference_frames = int(np.sum(sample.counts)), None
    fringes = demodulate_sums(sample.sums, sample.counts, dark_adu, step_phases_rad)
    sample = None  # noqa: F841 - see the docstring: the sums may be freed from here on
    if reference is not None:
        reference_frames = int(np.sum(reference.counts))
        ref = demodulate_sums(reference.sums, reference.counts, dark_adu, step_phases_rad)
        reference = None  # noqa: F841
    sig = sigma_maps(fringes.mean, fringes.visibility, sample_frames,
                     gain_e_per_adu=gain_e_per_adu, read_noise_e=read_noise_e)
    if reference_frames is None:
        obj = normalise_by_reference(fringes, _flat_reference(fringes), min_reference_visibility=min_reference_visibility,
                                     min_reference_mean_adu=min_mean_adu, exclude=exclude)
        amplitude, phase = fringes.visibility * obj.mask, obj.phase_rad
        sigma_phase, sigma_amplitude, ref_vis = sig.sigma_phase_rad, sig.sigma_visibility, None
    else:
        ref_sig = sigma_maps(ref.mean, ref.visibility, reference_frames,
                             gain_e_per_adu=gain_e_per_adu, read_noise_e=read_noise_e)
        obj = normalise_by_reference(fringes, ref, min_reference_visibility=min_reference_visibility,
                                     min_reference_mean_adu=min_mean_adu, exclude=exclude)
        amplitude, phase, ref_vis = obj.amplitude, obj.phase_rad, ref.visibility
        sigma_phase, sigma_amplitude = object_sigmas(sig, ref_sig, fringes.visibility, ref.visibility)
    return Reconstruction(
        visibility=fringes.visibility, amplitude=amplitude, phase_rad=phase,
        phase_unwrapped_rad=unwrap_in_mask(phase, obj.mask) if unwrap else None, sigma_phase_rad=sigma_phase,
        sigma_visibility=sig.sigma_visibility, sigma_amplitude=sigma_amplitude, mask=obj.mask,
        mean_adu=fringes.mean, reference_visibility=ref_vis, dark_adu=dark_adu, hot_pixels=hot, saturated=saturated,
    )


def with_unwrapped(recon: Reconstruction) -> Reconstruction:
    """``recon`` with its phase unwrapped inside its mask (a no-op if that was done already)."""
    if recon.phase_unwrapped_rad is not None:
        return recon
    return replace(recon, phase_unwrapped_rad=unwrap_in_mask(recon.phase_rad, recon.mask))


def _flat_reference(fringes: FringeMaps) -> FringeMaps:
    """A stand-in reference (its own visibility, zero phase) so masking rules are the same without one."""
    return FringeMaps(visibility=fringes.visibility, phase_rad=np.zeros_like(fringes.phase_rad), mean=fringes.mean)

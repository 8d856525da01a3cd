"""sCMOS noise chain (DESIGN.md section 4): e- ~ Poisson(mu) (incl. dark), + Normal(0, sigma_read(x)^2);
ADU = clip(round(e / gain) + offset, 0, 65535), with photoelectrons capped at the full well.

Shot noise is sampled in three exact-or-faithful tiers (docs/decisions/0010):

* mu < 1 e-: exact, by scattering: the total count N ~ Poisson(sum mu) is spread over the pixels with
  probabilities mu_i / sum mu (superposition of Poisson processes, so the pixel counts are independent
  Poisson(mu_i)), with thinning against a cached upper bound (TierPlan); cost ~ number of events.
* 1 <= mu < GAUSSIAN_MIN_E: exact, numpy's Poisson sampler.
* mu >= GAUSSIAN_MIN_E: shot and read noise together as one skew-corrected Gaussian (first-order
  Cornish-Fisher): x = mu + s z + c (z^2 - 1), c = mu / (6 (mu + sigma_r^2)), s^2 = mu + sigma_r^2 - 2 c^2.
  Its mean, variance and third cumulant equal those of Poisson(mu) + Normal(0, sigma_r^2) (to O(1/mu));
  the fourth cumulant differs by about mu, a relative error ~1/(24 mu) in the density, and the integer
  lattice of electrons is invisible after read noise (its Fourier weight is exp(-2 pi^2 sigma_r^2)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

ADC_MAX = 65535
SCATTER_MAX_E = 1.0
GAUSSIAN_MIN_E = 20.0


_NORMAL_TABLE = ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)


def standard_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    """n standard normals (float32) by a 16-bit inverse-CDF table, with exact tails.

    A random 16-bit index k picks the normal quantile at probability (k + 1/2) / 65536 (bins of 1.5e-5
    probability, i.e. < 1e-3 sigma wide in the bulk, far below one ADU of read noise); the two end bins
    (|z| > 4.3) are redrawn exactly from the Gaussian tail by inversion. Twice as fast as numpy's
    ziggurat; variance matches 1 to the 1e-4 of the bin width (checked in tests/test_sim_noise.py).
    """
    k = rng.bit_generator.random_raw((n + 3) // 4).view(np.uint16)[:n]
    z = _NORMAL_TABLE[k]
    tails = np.flatnonzero((k == 0) | (k == 65535))
    if tails.size:
        p = rng.random(tails.size) / 65536
        z[tails] = np.where(k[tails] == 0, ndtri(p), -ndtri(p))
    return z


class TierPlan:
    """Which pixels use which sampler, fixed while the bounds mu_lo <= mu <= mu_hi hold (cached per scene).

    Tiers are chosen from bounds, never from the random outcome, so the choice cannot bias a pixel.
    The tiny tier is sampled by thinning: candidate events ~ Poisson(sum mu_hi) are scattered with the
    cached CDF of mu_hi and each is kept with probability mu / mu_hi (Lewis & Shedler 1979), exact
    Poisson(mu) for every pixel at a cost proportional to the number of events.
    """

    def __init__(self, mu_lo: np.ndarray, mu_hi: np.ndarray):
        lo, hi = mu_lo.ravel(), mu_hi.ravel()
        self.size = lo.size
        self.bright = np.flatnonzero(lo >= GAUSSIAN_MIN_E)
        tiny = hi < SCATTER_MAX_E
        self.tiny = np.flatnonzero(tiny)
        self.mid = np.flatnonzero(~tiny & (lo < GAUSSIAN_MIN_E))
        self.tiny_hi = hi[self.tiny].astype(np.float64)
        self.tiny_cdf = np.cumsum(self.tiny_hi)
        self.mu_hi = hi

    def sample(self, rng: np.random.Generator, mu: np.ndarray, read: np.ndarray, out: np.ndarray) -> None:
        z = standard_normal(rng, self.size)
        z_bright = z[self.bright]
        np.multiply(z, read, out=out)  # read noise everywhere; the bright tier is overwritten below
        if self.mid.size:
            out[self.mid] += rng.poisson(mu[self.mid]).astype(np.float32)
        if self.tiny.size and self.tiny_cdf[-1] > 0:
            total = float(self.tiny_cdf[-1])
            n = rng.poisson(total)
            gaps = rng.standard_exponential(n + 1)  # sorted uniforms from exponential spacings (Renyi)
            positions = np.cumsum(gaps[:-1]) * (total / gaps.sum())
            hits = np.minimum(np.searchsorted(self.tiny_cdf, positions, side="right"), self.tiny.size - 1)
            pixels = self.tiny[hits]
            keep = rng.random(n) * self.tiny_hi[hits] < mu[pixels]
            np.add.at(out, pixels[keep], np.float32(1.0))
        if self.bright.size:
            tmp = np.empty(self.bright.size, np.float32)
            _skewed_gaussian(z_bright, mu[self.bright], read[self.bright], tmp)
            out[self.bright] = tmp


def noisy_electrons(rng: np.random.Generator, mean_e: np.ndarray, read_noise_e: np.ndarray, *,
                    full_well_e: float, exact: bool = False, plan: TierPlan | None = None) -> np.ndarray:
    """Electrons (float32, read noise included) of one frame.

    ``plan`` (from bounds on mean_e, see TierPlan) selects the tiered sampler; without one the plan is
    built from mean_e itself; ``exact`` uses numpy's Poisson sampler on every pixel (the reference).
    """
    mu = np.ascontiguousarray(mean_e, np.float32).ravel()
    read = np.ascontiguousarray(read_noise_e, np.float32).ravel()
    out = np.empty(mu.size, np.float32)
    if exact:
        out[:] = rng.poisson(mu)
        np.minimum(out, np.float32(full_well_e), out=out)
        out += read * rng.standard_normal(mu.size, dtype=np.float32)
        return out.reshape(mean_e.shape)
    if plan is None or plan.size != mu.size or np.any(mu[plan.tiny] > plan.tiny_hi):
        plan = TierPlan(mu, mu)
    plan.sample(rng, mu, read, out)
    np.minimum(out, np.float32(full_well_e), out=out)  # saturated pixels: read noise is negligible
    return out.reshape(mean_e.shape)


def _skewed_gaussian(z, mu, read, out) -> None:
    """Poisson(mu) + Normal(0, read^2) for large mu from standard normals z: Cornish-Fisher (see module)."""
    var = mu + read * read
    c = mu / (6.0 * var)
    s = np.sqrt(var - 2.0 * c * c)
    np.multiply(z, z, out=out)
    out -= 1.0
    out *= c
    out += s * z
    out += mu


def electrons_to_adu(electrons: np.ndarray, *, gain_e_per_adu: float, offset_adu: float) -> np.ndarray:
    """The 16-bit ADC: round(e / gain) + offset, clipped to [0, 65535] (modifies ``electrons``)."""
    electrons *= np.float32(1.0 / gain_e_per_adu)
    electrons += np.float32(offset_adu)
    np.rint(electrons, out=electrons)
    np.clip(electrons, 0, ADC_MAX, out=electrons)
    return electrons.astype(np.uint16)


def read_noise_map(rng: np.random.Generator, shape, median_e: float, tail_fraction: float = 0.02) -> np.ndarray:
    """Per-pixel read noise: log-normal around the median, plus a long RTS-like tail (sCMOS data sheets)."""
    sigma = median_e * np.exp(0.2 * rng.standard_normal(shape))
    tail = rng.random(shape) < tail_fraction
    sigma[tail] *= 1.0 + rng.exponential(1.5, int(tail.sum()))
    return sigma.astype(np.float32)


def dark_current_map(rng: np.random.Generator, shape, median_e_per_s: float, hot_fraction: float,
                     hot_e_per_s: float) -> np.ndarray:
    """Per-pixel dark current: +-10 % pixel-to-pixel spread and a few hot pixels (exponential tail)."""
    dark = median_e_per_s * np.exp(0.1 * rng.standard_normal(shape))
    hot = rng.random(shape) < hot_fraction
    dark[hot] = hot_e_per_s * (0.5 + rng.exponential(1.0, int(hot.sum())))
    return dark.astype(np.float32)

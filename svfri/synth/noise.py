"""Procedural noise for the synthetic skin generator: value noise, fractal sums, sparse impulses, strokes.

All functions are vectorised numpy (plus OpenCV filters), draw every random number from the generator they are
given (so a sample is reproducible from its seed), and return ``float32`` images ``[H, W]`` in image
layout (row 0 at the top). None of them is tileable (not needed: the UV face disc has no wrap-around).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "value_noise", "fractal_noise", "sparse_impulses", "gaussian_blur", "line_kernel", "splat_strokes",
    "smoothstep",
]

#: Stroke densities below this are FFT round-off, set to zero.
_FFT_RIPPLE_FLOOR = 1e-3
#: Gaussian kernels are truncated at this many standard deviations.
_GAUSSIAN_TRUNCATE_SIGMAS = 3.0


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step ``3u^2 - 2u^3`` with ``u = clip((x - edge0) / (edge1 - edge0), 0, 1)``; shape as ``x``."""
    u = np.clip((np.asarray(x) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _quintic(f: np.ndarray) -> np.ndarray:
    """Perlin's fade curve ``6f^5 - 15f^4 + 10f^3`` (C2-continuous interpolation weight)."""
    return f * f * f * (f * (f * 6.0 - 15.0) + 10.0)


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: float) -> np.ndarray:
    """Value noise: random lattice values in ``[-1, 1]`` interpolated with the quintic fade (separably).

    The lattice has ``cells`` cells across the image width (and as many per unit length vertically), so the
    feature size is ``width / cells`` pixels whatever the resolution.

    Args:
      rng: random generator.
      shape: ``(height, width)``.
      cells: lattice frequency, > 0 (cells across the width; fractional allowed).

    Returns:
      ``[height, width]`` float32 in ``[-1, 1]``, zero mean in expectation, not normalised per image.
    """
    height, width = shape
    step = cells / width                                  # lattice units per pixel
    nx = int(math.ceil(width * step)) + 2
    ny = int(math.ceil(height * step)) + 2
    lattice = rng.uniform(-1.0, 1.0, size=(ny, nx)).astype(np.float32)
    x = (np.arange(width, dtype=np.float32) + 0.5) * step
    y = (np.arange(height, dtype=np.float32) + 0.5) * step
    ix, iy = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = _quintic(x - ix), _quintic(y - iy)
    rows = lattice[:, ix] * (1.0 - fx) + lattice[:, ix + 1] * fx            # [ny, width]
    return (rows[iy] * (1.0 - fy)[:, None] + rows[iy + 1] * fy[:, None]).astype(np.float32)


def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], *, base_cells: float, octaves: int = 4,
                  persistence: float = 0.5, lacunarity: float = 2.0) -> np.ndarray:
    """Fractal (fBm) sum of value-noise octaves ``sum_k p^k noise(base_cells * lacunarity^k)``, divided by
    ``sum_k p^k``.

    Args:
      rng: random generator.
      shape: ``(height, width)``.
      base_cells: lattice frequency of the first octave (cells across the width).
      octaves: number of octaves (>= 1); octaves finer than 2 pixels per cell are skipped.
      persistence: amplitude ratio between octaves.
      lacunarity: frequency ratio between octaves.

    Returns:
      ``[height, width]`` float32 within ``[-1, 1]`` (typical standard deviation 0.2-0.3).
    """
    width = shape[1]
    total = np.zeros(shape, dtype=np.float32)
    norm = 0.0
    amplitude, cells = 1.0, float(base_cells)
    for _ in range(octaves):
        if cells > width / 2.0:
            break
        total += amplitude * value_noise(rng, shape, cells)
        norm += amplitude
        amplitude *= persistence
        cells *= lacunarity
    return total / max(norm, 1e-12)


def sparse_impulses(rng: np.random.Generator, probability: np.ndarray, *,
                    amplitude_range: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Independent per-pixel impulses: pixel ``p`` fires with probability ``probability[p]``.

    Args:
      rng: random generator.
      probability: ``[H, W]`` firing probability in ``[0, 1]``.
      amplitude_range: impulses have amplitudes uniform in this range.

    Returns:
      ``[H, W]`` float32, zero where nothing fired.
    """
    probability = np.asarray(probability, dtype=np.float32)
    fired = rng.random(probability.shape, dtype=np.float32) < probability
    amplitude = rng.uniform(*amplitude_range, size=probability.shape).astype(np.float32)
    return np.where(fired, amplitude, np.float32(0.0))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``[H, W]`` or ``[H, W, C]`` float32 with standard deviation ``sigma`` pixels (OpenCV,
    reflected borders). ``sigma <= 0`` returns the input unchanged."""
    if sigma <= 0.0:
        return image
    radius = max(1, int(math.ceil(_GAUSSIAN_TRUNCATE_SIGMAS * sigma)))
    return cv2.GaussianBlur(np.ascontiguousarray(image, dtype=np.float32), (2 * radius + 1, 2 * radius + 1),
                            sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def line_kernel(length: float, angle_radians: float, *, width: float = 1.0) -> np.ndarray:
    """Normalised-to-peak-1 kernel of an anti-aliased line segment starting at the kernel centre.

    The segment runs from the centre a distance ``length`` pixels in image direction
    ``(column, row) = (cos a, -sin a)`` (angle counter-clockwise from the ``+s`` axis, ``+t`` up, matching
    UV); brightness falls from 1 at the root to 0.5 at the tip, as a hair's visible density does.

    Args:
      length: segment length in pixels (>= 0; 0 gives a single dot).
      angle_radians: direction in UV orientation.
      width: line full width in pixels.

    Returns:
      ``[K, K]`` float32 kernel, ``K`` odd.
    """
    radius = int(math.ceil(length + width)) + 1
    coords = np.arange(-radius, radius + 1, dtype=np.float32)
    col, row = np.meshgrid(coords, coords)
    direction = np.array([math.cos(angle_radians), -math.sin(angle_radians)], dtype=np.float32)
    along = col * direction[0] + row * direction[1]
    across = -col * direction[1] + row * direction[0]
    clamped = np.clip(along, 0.0, max(length, 0.0))
    distance = np.hypot(along - clamped, across)
    kernel = np.clip(0.5 * width + 0.5 - distance, 0.0, 1.0)
    fade = 1.0 - 0.5 * clamped / max(length, 1e-6)
    return (kernel * fade).astype(np.float32)


def splat_strokes(impulses: np.ndarray, length: float, angle_radians: float, *, width: float = 1.0) -> np.ndarray:
    """Draws a stroke (see :func:`line_kernel`) at every impulse, scaled by its amplitude, summed.

    Args:
      impulses: ``[H, W]`` float32 from :func:`sparse_impulses`.
      length, angle_radians, width: stroke shape.

    Returns:
      ``[H, W]`` float32 stroke density (overlaps add up).
    """
    kernel = line_kernel(length, angle_radians, width=width)
    # filter2D correlates; flip the kernel so that strokes start at the impulse and run along the direction.
    strokes = cv2.filter2D(np.ascontiguousarray(impulses, dtype=np.float32), -1, kernel[::-1, ::-1].copy(),
                           borderType=cv2.BORDER_CONSTANT)
    # Large kernels are applied by FFT in OpenCV: remove its round-off ripple (|ripple| << one stroke).
    return np.where(strokes > _FFT_RIPPLE_FLOOR, strokes, np.float32(0.0))

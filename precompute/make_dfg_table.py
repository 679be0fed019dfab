"""Precomputes the split-sum DFG table for GGX / height-correlated Smith / Schlick and writes ``models/``.

Split sum (Karis 2013, "Real shading in Unreal Engine 4"; Lagarde & de Rousiers 2014, "Moving Frostbite to
PBR", section 4.9.2): with Schlick's ``F = F0 (1 - Fc) + Fc``, ``Fc = (1 - v.h)^5``, the specular
directional albedo splits into a scale on ``F0`` and a bias::

    DFG1(n.v, r) = int D V (1 - Fc) (n.l) dl      DFG2(n.v, r) = int D V Fc (n.l) dl

``D`` GGX, ``V`` height-correlated Smith (:mod:`svfri.math.brdf`), ``alpha = r^2``. Estimated by GGX
importance sampling of the half vector (pdf ``D (n.h) / (4 v.h)`` over ``l``), so each sample contributes
``V (n.l) 4 (v.h) / (n.h)`` times ``(1 - Fc)`` or ``Fc``. Samples: the Hammersley set (deterministic: no
random seed). The table is checked against an independent brute-force quadrature over the hemisphere of
half vectors (Gauss-Legendre in ``n.h`` x uniform azimuth, no importance sampling; :func:`dfg_reference_np`)
and the result is written to ``models/dfg_table.md``.

Layout of ``models/dfg_table.npz``:
  ``dfg``: ``[N, N, 2]`` float32, axis 0 ``n.v``, axis 1 perceptual roughness, channels ``(DFG1, DFG2)``;
  ``n_dot_v``, ``roughness``: ``[N]`` float32 node positions, uniform from 0 to 1 (the ``n.v = 0`` node is
  evaluated at ``n.v = 1e-4``, where the integrals are continuous); ``sample_count``: int.

Usage (repository root)::

    python -m precompute.make_dfg_table [--size 64] [--samples 16384] [--out models]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import svfri
from svfri.math.brdf import ggx_ndf, roughness_to_alpha, smith_ggx_correlated_visibility
from svfri.math.sampling import (hammersley_2d_np, hemisphere_quadrature_np,
                                 sample_ggx_half_vector_np)

__all__ = ["DEFAULT_TABLE_SIZE", "DEFAULT_SAMPLE_COUNT", "MIN_N_DOT_V", "dfg_importance_sampled_np",
           "dfg_reference_np", "compute_dfg_table", "main"]

#: Nodes per axis.
DEFAULT_TABLE_SIZE = 64
#: Hammersley samples per table entry.
DEFAULT_SAMPLE_COUNT = 16384
#: ``n.v`` at which the ``n.v = 0`` node is evaluated (the integrand's 1/(n.v) factors cancel only in the limit).
MIN_N_DOT_V = 1e-4
#: Schlick exponent.
_SCHLICK_EXPONENT = 5
#: Reference quadrature: Gauss-Legendre nodes in cos(theta_l) and azimuths.
REFERENCE_POLAR_NODES = 1024
REFERENCE_AZIMUTH_NODES = 1024
#: Smallest roughness at which the brute-force reference resolves the lobe (to ~2e-4).
REFERENCE_MIN_ROUGHNESS = 0.1
#: Below this n.v (about 84 degrees) the sampled estimate converges slowest; errors are reported apart.
GRAZING_N_DOT_V = 0.1


def _view_vector(n_dot_v: float) -> np.ndarray:
    """View direction in the x-z plane with the given cosine to the normal +Z."""
    return np.array([np.sqrt(max(1.0 - n_dot_v * n_dot_v, 0.0)), 0.0, n_dot_v])


def dfg_importance_sampled_np(n_dot_v: float, roughness: np.ndarray, sample_count: int) -> np.ndarray:
    """``(DFG1, DFG2)`` at one ``n.v`` for a vector of roughness values, by GGX importance sampling.

    Args:
      n_dot_v: cosine of the view angle, ``(0, 1]``.
      roughness: ``[R]`` perceptual roughness in ``[0, 1]``.
      sample_count: Hammersley points per value.

    Returns:
      ``[R, 2]`` float64.
    """
    roughness = np.asarray(roughness, dtype=np.float64)
    alpha = roughness_to_alpha(roughness)[:, None]                              # [R, 1]
    view = _view_vector(n_dot_v)
    half = sample_ggx_half_vector_np(hammersley_2d_np(sample_count)[None, :, :], alpha)  # [R, K, 3]
    v_dot_h = half @ view
    light = 2.0 * v_dot_h[..., None] * half - view
    n_dot_l = light[..., 2]
    n_dot_h = half[..., 2]
    valid = n_dot_l > 0.0
    safe_n_dot_l = np.where(valid, n_dot_l, 1.0)
    visibility = smith_ggx_correlated_visibility(n_dot_v, safe_n_dot_l, alpha)
    weight = np.where(valid, visibility * safe_n_dot_l * 4.0 * v_dot_h / n_dot_h, 0.0)
    fresnel_weight = (1.0 - np.clip(v_dot_h, 0.0, 1.0)) ** _SCHLICK_EXPONENT
    return np.stack([np.mean(weight * (1.0 - fresnel_weight), axis=1), np.mean(weight * fresnel_weight, axis=1)],
                    axis=-1)


def dfg_reference_np(n_dot_v: float, roughness: float, *, polar_nodes: int = REFERENCE_POLAR_NODES,
                     azimuth_nodes: int = REFERENCE_AZIMUTH_NODES) -> np.ndarray:
    """``(DFG1, DFG2)`` by brute-force product quadrature over the hemisphere of half vectors.

    Independent of the sampler: a fixed Gauss-Legendre (in ``n.h``) x uniform (azimuth) grid over ``h``,
    ``l = 2 (v.h) h - v``, integrand ``D V (n.l) 4 (v.h)`` (the Jacobian ``dl = 4 (v.h) dh``) times ``1 - Fc`` or
    ``Fc``, zero where ``n.l <= 0``. The grid is over ``h`` rather than ``l`` because near grazing view the
    map ``l -> h`` sweeps all of ``h`` within an ``n.v``-sized patch of ``l`` around ``-v``, which no
    practical ``l`` grid resolves. Converged to ~2e-4 for roughness >= :data:`REFERENCE_MIN_ROUGHNESS`.

    Returns:
      ``[2]`` float64.
    """
    alpha = roughness_to_alpha(roughness)
    half, weights = hemisphere_quadrature_np(polar_nodes, azimuth_nodes)
    view = _view_vector(n_dot_v)
    v_dot_h = half @ view
    light = 2.0 * v_dot_h[:, None] * half - view
    valid = (light[:, 2] > 0.0) & (v_dot_h > 0.0)
    n_dot_l = np.where(valid, light[:, 2], 1.0)
    integrand = np.where(valid, ggx_ndf(half[:, 2], alpha) * smith_ggx_correlated_visibility(n_dot_v, n_dot_l, alpha)
                         * n_dot_l * 4.0 * v_dot_h * weights, 0.0)
    fresnel_weight = (1.0 - np.clip(v_dot_h, 0.0, 1.0)) ** _SCHLICK_EXPONENT
    return np.array([np.sum(integrand * (1.0 - fresnel_weight)), np.sum(integrand * fresnel_weight)])


def compute_dfg_table(*, size: int = DEFAULT_TABLE_SIZE, sample_count: int = DEFAULT_SAMPLE_COUNT):
    """The full table.

    Returns:
      ``(n_dot_v [size], roughness [size], dfg [size, size, 2])`` float64.
    """
    n_dot_v = np.linspace(0.0, 1.0, size)
    roughness = np.linspace(0.0, 1.0, size)
    table = np.stack([dfg_importance_sampled_np(max(value, MIN_N_DOT_V), roughness, sample_count)
                      for value in n_dot_v])
    return n_dot_v, roughness, table


def _check_points(n_dot_v: np.ndarray, roughness: np.ndarray) -> list[tuple[int, int]]:
    """Table nodes checked against the reference: a spread of n.v and roughness >= REFERENCE_MIN_ROUGHNESS."""
    nov_index = np.unique(np.linspace(0, n_dot_v.size - 1, 8).round().astype(int))
    rough_index = np.unique(np.linspace(np.searchsorted(roughness, REFERENCE_MIN_ROUGHNESS), roughness.size - 1,
                                        6).round().astype(int))
    return [(int(i), int(j)) for i in nov_index for j in rough_index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=DEFAULT_TABLE_SIZE)
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLE_COUNT)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    n_dot_v, roughness, table = compute_dfg_table(size=args.size, sample_count=args.samples)
    stored = table.astype(np.float32)
    build_seconds = time.perf_counter() - start

    errors = []
    for i, j in _check_points(n_dot_v, roughness):
        reference = dfg_reference_np(max(n_dot_v[i], MIN_N_DOT_V), roughness[j])
        errors.append((np.abs(stored[i, j].astype(np.float64) - reference).max(), n_dot_v[i], roughness[j]))
    worst = max(errors)
    worst_away_from_grazing = max(e for e in errors if e[1] >= GRAZING_N_DOT_V)
    limit = (stored[-1, 0], stored[:, :, 0].min(), (stored[..., 0] + stored[..., 1]).max())

    args.out.mkdir(parents=True, exist_ok=True)
    npz_path = args.out / "dfg_table.npz"
    temporary = args.out / "dfg_table.tmp.npz"
    np.savez_compressed(temporary, dfg=stored, n_dot_v=n_dot_v.astype(np.float32),
                        roughness=roughness.astype(np.float32), sample_count=np.int64(args.samples))
    temporary.replace(npz_path)
    command = "python -m precompute.make_dfg_table" + "".join(
        f" --{name} {value}" for name, value in (("size", args.size), ("samples", args.samples))
        if value != {"size": DEFAULT_TABLE_SIZE, "samples": DEFAULT_SAMPLE_COUNT}[name])
    (args.out / "dfg_table.md").write_text(
        f"""# dfg_table.npz — split-sum DFG table (GGX, height-correlated Smith, Schlick)

Generated by `{command}` (svfri {svfri.__version__}), run from the repository root, in {build_seconds:.1f} s.

* Layout: `dfg` `[{args.size}, {args.size}, 2]` float32; axis 0 = n·v, axis 1 = perceptual roughness
  (α = roughness²), both at nodes uniform on [0, 1] (`n_dot_v`, `roughness` arrays; the n·v = 0 row is
  evaluated at n·v = {MIN_N_DOT_V:g}); channel 0 = DFG1 (scale on F0), channel 1 = DFG2 (bias):
  specular albedo ≈ F0·DFG1 + DFG2 (Karis 2013; Lagarde & de Rousiers 2014).
* Method: GGX importance sampling of the half vector with the {args.samples}-point Hammersley set per entry.
  Seed: none — the Hammersley set is deterministic, so reruns reproduce the table.
* Check: brute-force Gauss-Legendre × uniform quadrature over the hemisphere of half vectors
  ({REFERENCE_POLAR_NODES}×{REFERENCE_AZIMUTH_NODES} nodes, no importance sampling) at {len(errors)} nodes
  (8 n·v values × 6 roughness values in [{REFERENCE_MIN_ROUGHNESS}, 1]): max abs error
  **{worst[0]:.2e}** (at n·v = {worst[1]:.3f}, roughness = {worst[2]:.3f}); for n·v ≥ {GRAZING_N_DOT_V}:
  {worst_away_from_grazing[0]:.2e}. (`tests/test_dfg.py` repeats this check at a few points.)
* Limits: DFG1 at n·v = 1, roughness = 0: {limit[0][0]:.6f} (DFG2 {limit[0][1]:.2e}); min DFG1
  {limit[1]:.4f}; max DFG1 + DFG2 = {limit[2]:.6f} (≤ 1: single scattering loses energy; = 1 only for the
  mirror, roughness 0).
""", encoding="utf-8")
    print(f"wrote {npz_path} ({args.size}x{args.size}, {args.samples} samples, {build_seconds:.1f} s); "
          f"max abs error vs reference {worst[0]:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

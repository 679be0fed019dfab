"""The differentiable shader: maps + SH lighting + G-buffer -> linear radiance per covered pixel.

Per pixel (Geng et al. 2021, eq. 5), in linear RGB::

    I = t_a * (1 - E_s) * L_d  +  L_s,        E_s = F0 * DFG1(n.v, r) + DFG2(n.v, r)

* ``t_a``: albedo, the sRGB-encoded albedo map decoded to linear (IEC 61966-2-1) **before** filtering (as GPUs
  filter sRGB textures), then sampled bilinearly at the pixel's UV.
* ``F0 = SKIN_F0 * t_s`` (:data:`svfri.math.brdf.SKIN_F0`), ``t_s`` the sampled linear specular map.
* Eq. 5's ``(1 - t_s)`` weights the diffuse by the energy not reflected specularly. svfri's specular map is a
  scale on skin's ``F0``, not a reflectance, so that weight is ``1 - E_s`` with ``E_s`` the split-sum
  specular directional albedo (the energy split of Filament's image-based lighting, ``Fd * (1 - E)``;
  Filament PBR document, section 5.3). Then albedo 1 under constant radiance 1 with no occlusion reflects
  exactly 1 for any specular map, roughness and view (white furnace), and energy is never created.
* **Shading normal**: the tangent-space normal map (OpenGL ``+Y``, stored ``0.5 n + 0.5``) decoded to
  ``n_t = 2 c - 1`` and taken to world space on the G-buffer's frame ``T``, ``B = w cross(N, T)``, ``N``:
  ``n = normalize(n_t.x T + n_t.y B + n_t.z N)``. A flat map ``(0.5, 0.5, 1)`` leaves ``N`` unchanged.
* **Diffuse** ``L_d`` (albedo-1 outgoing radiance): :func:`svfri.math.sh.occluded_diffuse_radiance` of the
  light and the baked visibility SH at the shading normal: ``(1/pi) sum A_l w_lm Y_lm(n)``, ``w`` the
  order-2-truncated SH product of light and visibility (Snyder 2006; Ramamoorthi & Hanrahan 2001).
* **Specular** (split sum; Karis 2013, Lagarde & de Rousiers 2014)::

      L_s = (F0 * DFG1(n.v, r) + DFG2(n.v, r)) * L_pre(R, r) * SO

  with the view ``v = +Z`` (orthographic camera), ``R = 2 (n.v) n - v``, ``DFG`` from the shipped table
  (:mod:`svfri.render.dfg`), ``L_pre`` the GGX-prefiltered SH radiance
  (:func:`svfri.math.sh.ggx_prefiltered_sh_radiance`, exact lobe attenuation per band), and ``r`` the
  perceptual roughness (``alpha = r^2``).
* **Specular occlusion** ``SO`` from the **bent normal** (Jimenez et al. 2016, "Practical Real-Time Strategies
  for Accurate Indirect Occlusion", section 5, cone/cone specular occlusion; the form of Filament's
  ``SpecularAO_Cones``). The unoccluded directions are taken as a cone about the baked bent normal ``b`` whose
  cosine-weighted solid angle equals the ambient occlusion, ``cos a_v = sqrt(1 - AO)`` (a cone of half-angle
  ``a`` holds the fraction ``sin^2 a`` of the cosine-weighted hemisphere); the specular lobe as a cone about the
  reflection ``R`` with ``cos a_s = 2^(-log2(10) alpha^2)`` (Filament's fit of the GGX lobe's extent). ``SO`` is
  the part of the lobe's cone inside the visibility cone, relative to the part above the geometric horizon::

      SO = Omega(a_v, a_s, angle(b, R)) / Omega(pi / 2, a_s, angle(N, R))

  with ``Omega`` the spherical caps' intersection area in Oat & Sander's smoothstep approximation (2007,
  "Ambient Aperture Lighting", :func:`spherical_cap_intersection`). Jimenez et al. divide by the lobe's whole
  cone ``2 pi (1 - cos a_s)``; the horizon-relative form used here is 1 exactly when nothing is occluded
  (``AO = 1``, ``b = N``: both caps are the hemisphere), because the split-sum ``DFG`` term already accounts for
  the horizon; so the white furnace stays exact. ``AO`` is the cosine-weighted visibility at
  the geometric normal from the baked SH, ``(1/pi) sum A_l V_lm Y_lm(N)`` clamped to ``[0, 1]`` (exactly 1 for an
  unoccluded hemisphere, then the visibility cone is the hemisphere about ``b``). **Approximations**: the visible
  set is a cone (a nostril or an eye socket opens to one side, which the bent normal captures only as a
  direction), and the lobe a cone (its falloff is a smoothstep). The order-2 visibility SH already shadow the
  diffuse term; this is what makes the occluders' *direction* shadow the specular: a reflection towards the nose
  or into the eye socket is dimmed, one towards open sky is not. It replaced Lagarde & de Rousiers' (2014)
  direction-blind ``saturate((n.v + AO)^(2^(-16 alpha - 1)) - 1 + AO)`` (measured in README, "Bent normals").

Radiance is **not** clamped: order-2 SH lighting can ring below zero, and keeping the render linear in the
light coefficients keeps lighting estimation a linear least-squares problem. Clamp for display.

:func:`shade` is a pure function of tensors; wrap the step around it in ``tf.function`` (optionally
``jit_compile=True``). Measured on the 2-core CPU, forward + backward w.r.t. three 256^2 maps and the SH at
~206k pixels (float32): eager ~310 ms, ``tf.function`` ~190 ms, ``tf.function(jit_compile=True)`` ~115 ms.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from svfri.math.brdf import SKIN_F0, roughness_to_alpha
from svfri.math.color import srgb_to_linear
from svfri.math.sh import (CLAMPED_COSINE_COEFFICIENT_FACTORS, ggx_prefiltered_sh_radiance,
                           occluded_diffuse_radiance, sh_basis)
from svfri.render.dfg import dfg_lookup
from svfri.geometry.gbuffer import VIEW_DIRECTION, GBuffer
from svfri.render.texture import bilinear_taps, sample_bilinear, sample_bilinear_taps

__all__ = ["MIN_N_DOT_V", "gbuffer_to_tensors", "ambient_occlusion", "spherical_cap_intersection",
           "specular_occlusion", "shading_normal", "shade"]

#: Lower clamp of ``n.v`` for the DFG lookup and specular occlusion (shading normals may face away at the
#: silhouette).
MIN_N_DOT_V = 1e-4
#: ``log2(10)``: the specular cone ``cos a_s = 2^(-log2(10) alpha^2) = 10^(-alpha^2)`` (Filament's fit).
_LOG2_10 = math.log2(10.0)
#: Keeps ``acos`` and the cone divisions away from their singular points (``|cos| = 1``, a zero-width cone).
_ACOS_EPSILON = 1e-6
#: Normalisation epsilon for the shading normal.
_NORMALIZE_EPSILON = 1e-12

#: The float fields of :class:`GBuffer` that :func:`gbuffer_to_tensors` converts.
_FLOAT_FIELDS = ("position", "uv", "normal", "tangent", "visibility_sh", "bent_normal")


def gbuffer_to_tensors(gbuffer: GBuffer, dtype: tf.DType = tf.float32, *,
                       map_sizes: tuple = ()) -> dict[str, tf.Tensor]:
    """Converts a :class:`GBuffer` record to the tensors :func:`shade` reads.

    Args:
      gbuffer: the rasterised record (numpy arrays).
      dtype: float dtype of the per-pixel tensors (``tf.float32`` or ``tf.float64``).
      map_sizes: map sizes (``S`` for ``S x S``, or ``(H, W)``) whose bilinear taps at the G-buffer's UVs are
        computed here once (``tensors["taps"]["HxW"]``, :class:`~svfri.render.texture.BilinearTaps`); :func:`shade`
        then samples maps of those sizes without recomputing them (same values: the taps depend on the UVs only).

    Returns:
      dict with ``position [N, 3]``, ``uv [N, 2]``, ``normal [N, 3]``, ``tangent [N, 4]``,
      ``visibility_sh [N, 9]``, ``bent_normal [N, 3]`` in ``dtype``, ``pixel_index [N]`` int64,
      ``triangle_id [N]`` int32, and the precomputed ``ambient_occlusion [N, 1]`` (:func:`ambient_occlusion`
      at the geometric normal; it depends on the G-buffer only).
    """
    tensors = {name: tf.constant(np.asarray(getattr(gbuffer, name)), dtype=dtype) for name in _FLOAT_FIELDS}
    tensors["ambient_occlusion"] = ambient_occlusion(tensors["visibility_sh"], tensors["normal"])
    tensors["pixel_index"] = tf.constant(np.asarray(gbuffer.pixel_index), dtype=tf.int64)
    tensors["triangle_id"] = tf.constant(np.asarray(gbuffer.triangle_id), dtype=tf.int32)
    if map_sizes:
        taps = {}
        for size in map_sizes:
            height, width = (size, size) if np.ndim(size) == 0 else tuple(size)
            taps[_taps_key(int(height), int(width))] = bilinear_taps(tensors["uv"], int(height), int(width))
        tensors["taps"] = taps
    return tensors


def _taps_key(height: int, width: int) -> str:
    return f"{height}x{width}"


def ambient_occlusion(visibility_sh: tf.Tensor, normal: tf.Tensor) -> tf.Tensor:
    """Cosine-weighted visibility ``AO = (1/pi) sum_lm A_l V_lm Y_lm(n)``, clamped to ``[0, 1]``.

    Args:
      visibility_sh: ``[..., 9]`` visibility coefficients.
      normal: ``[..., 3]`` unit geometric normals (the visibility's own hemisphere).

    Returns:
      ``[..., 1]`` ambient occlusion (1 = unoccluded).
    """
    visibility_sh = tf.convert_to_tensor(visibility_sh)
    factors = tf.constant(CLAMPED_COSINE_COEFFICIENT_FACTORS, visibility_sh.dtype) / math.pi
    value = tf.reduce_sum(factors * sh_basis(tf.convert_to_tensor(normal, visibility_sh.dtype)) * visibility_sh,
                          axis=-1, keepdims=True)
    return tf.clip_by_value(value, 0.0, 1.0)


def spherical_cap_intersection(cos_a: tf.Tensor, cos_b: tf.Tensor, cos_d: tf.Tensor) -> tf.Tensor:
    """Area ``/ 2 pi`` of the intersection of two spherical caps (Oat & Sander 2007's smoothstep approximation).

    Caps of half-angles ``a, b`` whose axes are the angle ``d`` apart: ``1 - max(cos a, cos b)`` (the smaller cap)
    when one lies inside the other (``d <= |a - b|``), 0 when they are apart (``d >= a + b``), and between them
    the smaller cap's area times ``smoothstep(1 - (d - |a - b|) / (a + b - |a - b|))``. Exact in the two limiting
    cases; the smoothstep stands in for Mazonka's (2012) closed form.

    Args:
      cos_a, cos_b, cos_d: ``[...]`` cosines (broadcast), in ``[-1, 1]``.

    Returns:
      ``[...]`` intersection area divided by ``2 pi``, in ``[0, 1 - max(cos a, cos b)]``.
    """
    limit = 1.0 - _ACOS_EPSILON
    a = tf.acos(tf.clip_by_value(cos_a, -limit, limit))
    b = tf.acos(tf.clip_by_value(cos_b, -limit, limit))
    d = tf.acos(tf.clip_by_value(cos_d, -limit, limit))
    smaller_cap = 1.0 - tf.maximum(cos_a, cos_b)
    difference = tf.abs(a - b)
    x = 1.0 - tf.clip_by_value((d - difference) / tf.maximum(a + b - difference, _ACOS_EPSILON), 0.0, 1.0)
    partial = x * x * (3.0 - 2.0 * x) * smaller_cap
    return tf.where(d <= difference, smaller_cap, tf.where(d >= a + b, tf.zeros_like(partial), partial))


def specular_occlusion(reflection: tf.Tensor, bent_normal: tf.Tensor, normal: tf.Tensor, ambient: tf.Tensor,
                       alpha: tf.Tensor) -> tf.Tensor:
    """Cone/cone specular occlusion from the bent normal, relative to the horizon (module docstring).

    Args:
      reflection: ``[..., 3]`` unit reflection directions ``R``.
      bent_normal: ``[..., 3]`` unit bent normals ``b`` (mean unoccluded direction).
      normal: ``[..., 3]`` unit geometric normals ``N`` (the hemisphere the visibility was baked over).
      ambient: ``[..., 1]`` ambient occlusion ``AO`` in ``[0, 1]``.
      alpha: GGX width ``roughness^2`` (``[..., 1]`` or a scalar).

    Returns:
      ``[..., 1]`` specular occlusion ``SO`` in ``[0, 1]``: 1 when nothing is occluded or the lobe's cone lies
      inside the visibility cone, towards 0 as it points away from it.
    """
    cos_visible = tf.sqrt(tf.maximum(1.0 - ambient, 0.0))
    cos_lobe = tf.pow(tf.constant(2.0, reflection.dtype), -_LOG2_10 * tf.square(alpha)) * tf.ones_like(ambient)
    visible = spherical_cap_intersection(cos_visible, cos_lobe,
                                         tf.reduce_sum(reflection * bent_normal, axis=-1, keepdims=True))
    above_horizon = spherical_cap_intersection(tf.zeros_like(cos_lobe), cos_lobe,
                                               tf.reduce_sum(reflection * normal, axis=-1, keepdims=True))
    ratio = visible / tf.maximum(above_horizon, _ACOS_EPSILON)
    return tf.where(above_horizon > _ACOS_EPSILON, tf.clip_by_value(ratio, 0.0, 1.0), tf.ones_like(ratio))


def shading_normal(normal_texel: tf.Tensor, normal: tf.Tensor, tangent: tf.Tensor) -> tf.Tensor:
    """World-space shading normal from an encoded tangent-space normal (OpenGL ``+Y``, ``0.5 n + 0.5``).

    Args:
      normal_texel: ``[..., 3]`` sampled normal-map values in ``[0, 1]``.
      normal: ``[..., 3]`` unit geometric normals ``N``.
      tangent: ``[..., 4]`` unit tangents ``T`` and handedness ``w`` (``B = w cross(N, T)``).

    Returns:
      ``[..., 3]`` unit normals ``normalize(n_t.x T + n_t.y B + n_t.z N)``, ``n_t = 2 c - 1``.
    """
    normal_texel = tf.convert_to_tensor(normal_texel)
    normal = tf.convert_to_tensor(normal, normal_texel.dtype)
    tangent = tf.convert_to_tensor(tangent, normal_texel.dtype)
    decoded = 2.0 * normal_texel - 1.0
    tangent_xyz, handedness = tangent[..., :3], tangent[..., 3:]
    bitangent = handedness * tf.linalg.cross(normal, tangent_xyz)
    world = decoded[..., 0:1] * tangent_xyz + decoded[..., 1:2] * bitangent + decoded[..., 2:3] * normal
    return tf.math.l2_normalize(world, axis=-1, epsilon=_NORMALIZE_EPSILON)


def _sample_roughness(roughness, uv: tf.Tensor) -> tf.Tensor:
    """Roughness per pixel ``[N]`` from a scalar or an ``[Hr, Wr, 1]`` map."""
    roughness = tf.convert_to_tensor(roughness, dtype=uv.dtype)
    if roughness.shape.rank == 0:
        return roughness
    if roughness.shape.rank != 3 or roughness.shape[-1] != 1:
        raise ValueError(f"roughness must be a scalar or an [H, W, 1] map, got shape {roughness.shape}")
    return sample_bilinear(roughness, uv)[..., 0]


def _sample(texture: tf.Tensor, uv: tf.Tensor, taps: dict | None) -> tf.Tensor:
    """``sample_bilinear(texture, uv)``, with the taps of ``taps`` when they hold the texture's size."""
    known = (taps or {}).get(_taps_key(int(texture.shape[0]), int(texture.shape[1])))
    return sample_bilinear(texture, uv) if known is None else sample_bilinear_taps(texture, known)


def _sample_maps(maps: list[tf.Tensor], uv: tf.Tensor, taps: dict | None = None) -> list[tf.Tensor]:
    """Samples ``[H, W, C_k]`` maps at ``uv``; maps of equal size share one gather (faster forward and backward);
    ``taps``: precomputed taps by size (:func:`gbuffer_to_tensors`)."""
    for texture in maps:
        if texture.shape.rank != 3:
            raise ValueError(f"maps must be [H, W, C], got shape {texture.shape}")
    groups: dict[tuple, list[int]] = {}
    for index, texture in enumerate(maps):
        groups.setdefault(tuple(texture.shape[:2]), []).append(index)
    sampled: list[tf.Tensor | None] = [None] * len(maps)
    for indices in groups.values():
        if len(indices) == 1:
            sampled[indices[0]] = _sample(maps[indices[0]], uv, taps)
            continue
        channels = [int(maps[i].shape[-1]) for i in indices]
        parts = tf.split(_sample(tf.concat([maps[i] for i in indices], axis=-1), uv, taps), channels, axis=-1)
        for i, part in zip(indices, parts):
            sampled[i] = part
    return sampled


def shade(gbuffer_tensors: dict[str, tf.Tensor], *, albedo_srgb_map: tf.Tensor, specular_map: tf.Tensor,
          normal_map: tf.Tensor, light_sh: tf.Tensor, roughness,
          prefiltered_radiance=None) -> dict[str, tf.Tensor]:
    """Shades the G-buffer's ``N`` pixels (module docstring for the equations and approximations).

    Differentiable w.r.t. the three maps, ``light_sh`` and ``roughness``. All float inputs are used in the dtype
    of ``gbuffer_tensors["uv"]`` (float32 or float64).

    Args:
      gbuffer_tensors: from :func:`gbuffer_to_tensors`; reads ``uv``, ``normal``, ``tangent``,
        ``visibility_sh``, ``bent_normal`` and, when present, ``ambient_occlusion``.
      albedo_srgb_map: ``[Ha, Wa, 3]`` albedo, sRGB-encoded, values in ``[0, 1]``.
      specular_map: ``[Hs, Ws, 1]`` linear specular intensity in ``[0, 1]``, a scale on ``SKIN_F0``.
      normal_map: ``[Hn, Wn, 3]`` tangent-space normals, OpenGL convention, encoded ``0.5 n + 0.5``.
      light_sh: ``[9, 3]`` SH radiance coefficients, linear RGB, world space (:mod:`svfri.conventions`).
      roughness: perceptual roughness in ``[0, 1]``, a scalar or an ``[Hr, Wr, 1]`` map.
      prefiltered_radiance: optional ``f(reflection [N, 3], roughness [] or [N]) -> [N, 3]`` replacing the SH
        ``L_pre`` of the specular term, e.g. a GGX-prefiltered HDR map for relighting (not differentiated).

    Returns:
      dict of ``[N, 3]`` linear-RGB tensors: ``radiance = diffuse + specular``, ``diffuse``
      (``t_a (1 - E_s) L_d``), ``specular`` (``L_s``), and ``shading_normal``.
    """
    uv = gbuffer_tensors["uv"]
    dtype = uv.dtype
    geometric_normal = gbuffer_tensors["normal"]
    visibility_sh = gbuffer_tensors["visibility_sh"]
    light_sh = tf.convert_to_tensor(light_sh, dtype=dtype)
    if light_sh.shape.rank != 2 or tuple(light_sh.shape) != (9, 3):
        raise ValueError(f"light_sh must be [9, 3], got shape {light_sh.shape}")

    albedo, specular_intensity, normal_texel = _sample_maps(
        [srgb_to_linear(tf.convert_to_tensor(albedo_srgb_map, dtype)), tf.convert_to_tensor(specular_map, dtype),
         tf.convert_to_tensor(normal_map, dtype)], uv, gbuffer_tensors.get("taps"))                  # [N, 3|1|3]
    pixel_roughness = _sample_roughness(roughness, uv)                                              # [] or [N]

    normal = shading_normal(normal_texel, geometric_normal, gbuffer_tensors["tangent"])
    f0 = SKIN_F0 * specular_intensity                                                               # [N, 1]

    view = tf.constant(VIEW_DIRECTION, dtype)
    n_dot_v_signed = tf.reduce_sum(normal * view, axis=-1, keepdims=True)                           # [N, 1]
    reflection = 2.0 * n_dot_v_signed * normal - view
    n_dot_v = tf.maximum(n_dot_v_signed, MIN_N_DOT_V)
    dfg = dfg_lookup(n_dot_v[..., 0], pixel_roughness)                                              # [N, 2]
    if prefiltered_radiance is None:
        prefiltered = ggx_prefiltered_sh_radiance(light_sh, reflection, pixel_roughness)           # [N, 3]
    else:
        prefiltered = tf.convert_to_tensor(prefiltered_radiance(reflection, pixel_roughness), dtype)
    alpha = roughness_to_alpha(pixel_roughness)
    ambient = gbuffer_tensors.get("ambient_occlusion")
    if ambient is None:
        ambient = ambient_occlusion(visibility_sh, geometric_normal)
    occlusion = specular_occlusion(reflection, gbuffer_tensors["bent_normal"], geometric_normal, ambient,
                                   alpha[..., None] if alpha.shape.rank else alpha)
    specular_albedo = f0 * dfg[..., 0:1] + dfg[..., 1:2]                                            # E_s [N, 1]
    specular = specular_albedo * prefiltered * occlusion
    diffuse = albedo * (1.0 - specular_albedo) * occluded_diffuse_radiance(light_sh, visibility_sh, normal)

    return {"radiance": diffuse + specular, "diffuse": diffuse, "specular": specular, "shading_normal": normal}

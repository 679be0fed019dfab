"""Several materials in one shading call: the skin maps and the parts' materials packed side by side (an atlas).

:func:`svfri.render.shading.shade` samples one albedo, one specular and one normal map (and a roughness map) at the
G-buffer's UVs. A head with parts (skin in the face tile; eyes, teeth, sockets with their own textures or constants,
:class:`svfri.io.output_set.PartMaterial`) is shaded in one call by packing the materials into ``K`` square slots
side by side, slot 0 the skin maps, slot ``k`` the ``k``-th part: every map of the atlas is ``[S_m, K S_m, C]``
(``S_m`` that map's skin size), and a pixel of material ``k`` with UV ``(u, t)`` in its own ``[0, 1]`` square samples
the atlas at ``((k + clamp(u)) / K, t)``, ``clamp`` keeping ``u`` and ``t`` half a texel of the smallest map inside
the slot so that bilinear taps never reach a neighbour slot (:func:`atlas_gbuffer`). Constant materials fill their
slot; their normal slot is flat ``(0.5, 0.5, 1)``; each slot's roughness is the material's (skin: the fit's).
**Approximation**: a part texture of another size than the skin's is resized into its slot (bilinear,
``cv2.resize``); the half-texel clamp shifts samples within half a texel of a slot's edge.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from svfri.geometry.gbuffer import GBuffer
from svfri.io.output_set import PartMaterial

__all__ = ["MaterialAtlas", "build_atlas", "atlas_gbuffer", "FLAT_NORMAL"]

#: Encoded flat tangent-space normal.
FLAT_NORMAL = (0.5, 0.5, 1.0)


@dataclasses.dataclass(frozen=True)
class MaterialAtlas:
    """The packed maps (module docstring): ``albedo_srgb [Sa, K Sa, 3]``, ``specular [Ss, K Ss, 1]``,
    ``normal [Sn, K Sn, 3]``, ``roughness [Ss, K Ss, 1]``; ``slot_count`` ``K``; ``min_side`` the smallest slot side."""

    albedo_srgb: np.ndarray
    specular: np.ndarray
    normal: np.ndarray
    roughness: np.ndarray
    slot_count: int
    min_side: int


def _slot(image: np.ndarray, side: int) -> np.ndarray:
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[:2] != (side, side):
        resized = cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR if image.shape[0] > 1
                             else cv2.INTER_NEAREST)
        image = resized.reshape(side, side, image.shape[-1])
    return image


def build_atlas(albedo_srgb: np.ndarray, specular: np.ndarray, normal: np.ndarray, skin_roughness: float,
                parts: tuple[PartMaterial, ...]) -> MaterialAtlas:
    """Packs the skin maps (slot 0) and ``parts`` (slots 1..K-1) (module docstring)."""
    albedo_side, specular_side, normal_side = albedo_srgb.shape[0], specular.shape[0], normal.shape[0]
    albedo = [_slot(albedo_srgb, albedo_side)]
    spec = [_slot(specular, specular_side)]
    normals = [_slot(normal, normal_side)]
    rough = [np.full((specular_side, specular_side, 1), skin_roughness, np.float32)]
    for part in parts:
        albedo.append(_slot(part.albedo_srgb, albedo_side))
        spec.append(np.full((specular_side, specular_side, 1), part.specular, np.float32))
        normals.append(np.broadcast_to(np.asarray(FLAT_NORMAL, np.float32), (normal_side, normal_side, 3)))
        rough.append(np.full((specular_side, specular_side, 1), part.roughness, np.float32))
    return MaterialAtlas(albedo_srgb=np.concatenate(albedo, axis=1), specular=np.concatenate(spec, axis=1),
                         normal=np.ascontiguousarray(np.concatenate(normals, axis=1)),
                         roughness=np.concatenate(rough, axis=1), slot_count=1 + len(parts),
                         min_side=int(min(albedo_side, specular_side, normal_side)))


def atlas_gbuffer(gbuffer: GBuffer, face_material: np.ndarray, atlas: MaterialAtlas) -> GBuffer:
    """``gbuffer`` with each pixel's UV moved into its material's slot (module docstring).

    Args:
      gbuffer: rasterised with each material's own UVs in ``[0, 1]``.
      face_material: ``[F]`` material of each triangle (0 = skin), indexing the atlas's slots.
    """
    slot = np.asarray(face_material, np.int64)[gbuffer.triangle_id]
    margin = 0.5 / atlas.min_side
    local = np.clip(gbuffer.uv.astype(np.float64), margin, 1.0 - margin)
    uv = np.stack([(slot + local[:, 0]) / atlas.slot_count, local[:, 1]], axis=-1).astype(np.float32)
    return dataclasses.replace(gbuffer, uv=uv)

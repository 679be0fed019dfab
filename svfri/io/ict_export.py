"""An ICT-head output folder read back for export: the fitted head split into parts, its expression morphs, materials.

A folder whose ``fit.json`` holds an ``"ict"`` block was fitted with the ICT-FaceKit head
(:mod:`svfri.geometry.ict_head`). What the block and the folder state, and how this module reads it:

* ``ict.identity`` ``[k <= K]`` and ``ict.expression`` ``{ARKit name: weight}`` (all 53): the fitted
  coefficients; ``ict.rotation_model_to_world`` ``R`` (3x3, proper rotation): world vertices (cm) are
  ``R @ shape(identity, expression)``, no translation; ``ict.model`` / ``ict.format_version`` name the model
  file the fit used (must be svfri's own ``ict_head.npz`` of :data:`svfri.geometry.ict_head.FORMAT_VERSION`).
* The exported **base shape** is the fitted identity with the **neutral expression**, in the world frame;
  expression ``j``'s morph is ``R @ expression_modes[j]`` (cm per unit weight), so
  ``base + sum_j w_j morph_j`` with the fitted weights ``w`` is the photo's shape exactly (the model is linear).
* **Normals** are area-weighted vertex normals of the opaque triangles on the model vertices (smooth across
  UV seams, :meth:`IctHead.vertex_normals`); a morph's normal delta is ``n(base + morph_j) - n(base)``, exact at
  weight 0 and 1 of one target and the usual linear blend (then renormalised by the engine) in between.
* **Parts** (:data:`svfri.geometry.ict_head.OPAQUE_PARTS`), each its own primitive and material, in three
  families: skin (``face``, ``back_head``, the eye sockets), eyes (sclera and iris of each eye), mouth (mouth
  socket, gums and tongue, teeth). UVs are the part's own tile, ``(u - tile, t)`` (:meth:`IctHead.part_uv`).
* **Materials**. ``face``: the folder's skin maps in ICT's face tile -- ``albedo.png`` (sRGB), ``specular.png``
  (linear scale on ``material.specular_f0_scale``, default 0.028), ``normal.png`` (tangent space, OpenGL +Y, on
  :meth:`IctHead.render_tangents` frames), an optional ``roughness.png``; otherwise ``parts.face.roughness`` or
  ``material.roughness``.
  Every other part: ``fit.json`` ``parts[name]`` = ``{"texture": file in the part's own UV or null,
  "albedo_srgb": [r, g, b], "roughness": r, "specular": scale on the same F0}`` (``null`` = not set: the
  default below; ``"source"`` is kept as provenance, other keys are ignored); a part the folder does not
  describe gets a stated default (``back_head``: the face's median albedo and specular over the face mask, the
  eyes and mouth :data:`DEFAULT_PART_MATERIALS`) and a note.

Everything a user can get wrong in the folder is one :class:`~svfri.errors.InputError` line (exit code 10).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from svfri.errors import InputError
from svfri.geometry.ict_head import FORMAT_VERSION, ICT_HEAD_FILENAME, OPAQUE_PARTS, IctHead, load_ict_head
from svfri.io.output_set import DEFAULT_ROUGHNESS, PLACEHOLDER_ALBEDO_SRGB, read_map, read_skin_maps
from svfri.math.color import SKIN_F0

__all__ = ["IctExport", "IctPart", "IctMaterial", "load_ict_export", "build_ict_export", "has_ict_fit",
           "PART_FAMILIES", "DEFAULT_PART_MATERIALS", "ROTATION_TOLERANCE"]

#: Largest ``|R^T R - I|`` entry, and ``|det R - 1|``, accepted for ``rotation_model_to_world`` (JSON rounding of
#: a rotation leaves ~1e-7; anything near this bound is not a rotation).
ROTATION_TOLERANCE = 1e-4
#: Part family of each opaque part (the OBJ's groups; the glTF's materials are named ``<family>_<part>``).
PART_FAMILIES = {"face": "skin", "back_head": "skin", "eye_socket_left": "skin", "eye_socket_right": "skin",
                 "sclera_left": "eyes", "iris_left": "eyes", "sclera_right": "eyes", "iris_right": "eyes",
                 "mouth_socket": "mouth", "gums_tongue": "mouth", "teeth": "mouth"}
#: Water's F0 (0.02) as a scale on skin's 0.028: wet tissue (sclera, iris behind its tear film, gums).
_WET_SPECULAR = 0.02 / SKIN_F0
#: Materials of the parts a folder does not describe: ``(albedo sRGB, perceptual roughness, specular scale)``.
#: The colours are the path-traced benchmark's ground-truth eye and mouth materials (linear there:
#: sclera 0.62/0.58/0.55, teeth 0.62/0.57/0.47, gums 0.42/0.10/0.10, mouth 0.16/0.035/0.035), sRGB-encoded;
#: the iris a mid brown. Placeholders, said in the notes -- not measured on the photo.
DEFAULT_PART_MATERIALS = {
    "sclera": ((0.81, 0.79, 0.77), 0.12, _WET_SPECULAR),
    "iris": ((0.42, 0.30, 0.20), 0.12, _WET_SPECULAR),
    "eye_socket": ((0.44, 0.21, 0.21), 0.6, 0.5),
    "mouth_socket": ((0.44, 0.21, 0.21), 0.6, 0.5),
    "gums_tongue": ((0.69, 0.35, 0.35), 0.35, _WET_SPECULAR),
    "teeth": ((0.81, 0.78, 0.72), 0.3, 1.5),
}
#: Soft face-mask level (:attr:`IctHead.region_masks` ``"face"``) above which a texel counts for the median.
_FACE_MASK_LEVEL = 0.5
#: What a user can do about a folder whose ``fit.json`` does not fit the model.
_AGAIN = "run `svfri fit` for this photo again"


@dataclasses.dataclass(frozen=True)
class IctMaterial:
    """A dielectric PBR material. Colours sRGB-encoded in [0, 1]; maps float ``[H, W, C]`` in [0, 1].

    Attributes:
      albedo_srgb: base-colour map (the part's own UV), or ``None`` for ``albedo_factor_srgb``.
      albedo_factor_srgb: constant base colour (used when there is no map).
      roughness: perceptual roughness (``alpha = r^2``), where there is no ``roughness_map``.
      specular_scale: scale on the folder's F0, where there is no ``specular_map``.
      normal_map: tangent-space normal map (OpenGL +Y) or ``None``; specular_map / roughness_map: ``[H, W, 1]``
        linear, or ``None``.
      source: where the material came from (for the notes and the file's extras).
    """

    albedo_srgb: np.ndarray | None
    albedo_factor_srgb: tuple[float, float, float]
    roughness: float
    specular_scale: float
    normal_map: np.ndarray | None = None
    specular_map: np.ndarray | None = None
    roughness_map: np.ndarray | None = None
    source: str = ""


@dataclasses.dataclass(frozen=True)
class IctPart:
    """One opaque part of the fitted head as a compact mesh in the world frame (cm).

    Attributes:
      name / family: the ICT part (:data:`PART_FAMILIES`).
      render_ids: ``[n]`` render vertices of :class:`IctHead` this part uses (ascending).
      faces: ``[F_p, 3]`` triangles indexing ``render_ids``, counter-clockwise seen from outside.
      positions: ``[n, 3]`` base shape (fitted identity, neutral expression), world cm.
      normals: ``[n, 3]`` unit normals of the base shape, world.
      tangents: ``[n, 4]`` glTF tangents of the base shape (``B = w cross(N, T)`` along +t).
      uv: ``[n, 2]`` ``(u - tile, t)`` in the part's own texture, ``t`` up.
      position_deltas: ``[53, n, 3]`` each expression's displacement at weight 1, world cm.
      normal_deltas: ``[53, n, 3]`` each expression's normal change at weight 1 (unit-vector difference).
      fitted_positions / fitted_normals: ``[n, 3]`` the photo's shape (fitted identity and expression), world
        cm, and its unit normals (for formats without morphs).
      material: the part's :class:`IctMaterial`.
    """

    name: str
    family: str
    render_ids: np.ndarray
    faces: np.ndarray
    positions: np.ndarray
    normals: np.ndarray
    tangents: np.ndarray
    uv: np.ndarray
    position_deltas: np.ndarray
    normal_deltas: np.ndarray
    fitted_positions: np.ndarray
    fitted_normals: np.ndarray
    material: IctMaterial


@dataclasses.dataclass(frozen=True)
class IctExport:
    """The fitted ICT head ready to write: parts, expression names and fitted weights, provenance.

    Attributes:
      parts: one :class:`IctPart` per opaque part, :data:`svfri.geometry.ict_head.OPAQUE_PARTS` order.
      expression_names: ``[53]`` ARKit names (the morph targets' order).
      expression: ``[53]`` fitted weights (the default pose), same order.
      identity: ``[k]`` fitted identity weights.
      rotation: ``[3, 3]`` model-to-world rotation.
      specular_f0: the F0 that the specular scales multiply.
      notes: what was assumed (defaults for parts the folder does not describe, placeholder maps).
    """

    parts: tuple[IctPart, ...]
    expression_names: tuple[str, ...]
    expression: np.ndarray
    identity: np.ndarray
    rotation: np.ndarray
    specular_f0: float
    notes: tuple[str, ...]


# ------------------------------------------------------------------------------------------------ fit.json

def has_ict_fit(fit: dict) -> bool:
    """Whether a parsed ``fit.json`` describes an ICT-head fit (holds an ``"ict"`` block)."""
    return isinstance(fit, dict) and "ict" in fit


def _finite_vector(value, what: str, where: Path) -> np.ndarray:
    if value is None:
        raise InputError(f"{where}: {what} is missing; {_AGAIN}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {what} must be numbers; {_AGAIN}") from None
    if not np.all(np.isfinite(array)):
        raise InputError(f"{where}: {what} holds a non-finite number; {_AGAIN}")
    return array


def _ict_block(fit: dict, head: IctHead, where: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(identity [k], expression [53], rotation [3, 3])`` of ``fit["ict"]``, checked against ``head``."""
    block = fit["ict"]
    if not isinstance(block, dict):
        raise InputError(f"{where}: \"ict\" must be an object; {_AGAIN}")
    if block.get("model") != ICT_HEAD_FILENAME or block.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{where}: ict.model / format_version are {block.get('model')!r} / "
                         f"{block.get('format_version')!r}, this svfri has {ICT_HEAD_FILENAME} version "
                         f"{FORMAT_VERSION}; {_AGAIN} with this svfri")
    identity = _finite_vector(block.get("identity"), "ict.identity", where)
    if identity.ndim != 1 or not 1 <= identity.shape[0] <= head.identity_count:
        raise InputError(f"{where}: ict.identity must hold 1 to {head.identity_count} weights (the model's identity "
                         f"modes), got shape {list(identity.shape)}; {_AGAIN} with this svfri")
    weights = block.get("expression")
    if not isinstance(weights, dict) or set(weights) != set(head.expression_names):
        missing = sorted(set(head.expression_names) - set(weights or {})) if isinstance(weights, dict) else []
        unknown = sorted(set(weights or {}) - set(head.expression_names)) if isinstance(weights, dict) else []
        raise InputError(f"{where}: ict.expression must map the model's {head.expression_count} ARKit names to "
                         f"weights (missing {missing[:3]}, unknown {unknown[:3]}); {_AGAIN}")
    expression = _finite_vector([weights[name] for name in head.expression_names], "ict.expression", where)
    rotation = _finite_vector(block.get("rotation_model_to_world"), "ict.rotation_model_to_world", where)
    if rotation.shape != (3, 3) or np.abs(rotation.T @ rotation - np.eye(3)).max() > ROTATION_TOLERANCE \
            or abs(np.linalg.det(rotation) - 1.0) > ROTATION_TOLERANCE:
        raise InputError(f"{where}: ict.rotation_model_to_world must be a 3x3 rotation (orthonormal, det +1); {_AGAIN}")
    return identity, expression, rotation


def _face_median(image: np.ndarray, head: IctHead) -> np.ndarray:
    """Per-channel median of a face-tile map ``[H, W, C]`` over the face region mask (resampled to its size)."""
    import cv2

    mask = head.region_masks["face"]
    if mask.shape != image.shape[:2]:
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA)
    inside = mask > _FACE_MASK_LEVEL
    return np.median(image[inside], axis=0) if inside.any() else np.median(image.reshape(-1, image.shape[-1]), 0)


def _finite_number(value, what: str, where: Path) -> float:
    number = _finite_vector(value, what, where)
    if number.ndim != 0:
        raise InputError(f"{where}: {what} must be one number; {_AGAIN}")
    return float(number)


def _unit_interval(value, what: str, where: Path) -> float:
    number = _finite_number(value, what, where)
    if not 0.0 <= number <= 1.0:
        raise InputError(f"{where}: {what} must be in [0, 1], got {number}; {_AGAIN}")
    return number


def _value(entry: dict, key: str, default):
    """``entry[key]``, or ``default`` where the key is absent or ``null`` (``fit.json`` writes null for "not set")."""
    value = entry.get(key)
    return default if value is None else value


def _described_part(folder: Path, name: str, entry, where: Path) -> IctMaterial:
    """``fit.json`` ``parts[name]`` as a material (its texture read from the folder)."""
    if not isinstance(entry, dict):
        raise InputError(f"{where}: parts.{name} must be an object; {_AGAIN}")
    albedo = _finite_vector(_value(entry, "albedo_srgb", PLACEHOLDER_ALBEDO_SRGB), f"parts.{name}.albedo_srgb",
                            where)
    if albedo.shape != (3,) or albedo.min() < 0.0 or albedo.max() > 1.0:
        raise InputError(f"{where}: parts.{name}.albedo_srgb must be 3 numbers in [0, 1]; "
                         f"{_AGAIN}")
    roughness = _unit_interval(_value(entry, "roughness", DEFAULT_ROUGHNESS), f"parts.{name}.roughness", where)
    specular = _finite_number(_value(entry, "specular", 1.0), f"parts.{name}.specular", where)
    if specular < 0.0:
        raise InputError(f"{where}: parts.{name}.specular must be >= 0; {_AGAIN}")
    texture = entry.get("texture")
    image = None
    if texture is not None:
        path = folder / str(texture)
        if not isinstance(texture, str) or Path(texture).is_absolute() or ".." in Path(texture).parts \
                or not path.is_file():
            raise InputError(f"{where}: parts.{name}.texture {texture!r} is not a file in {folder}; "
                             f"{_AGAIN}")
        image = read_map(path, 3)
    return IctMaterial(albedo_srgb=image, albedo_factor_srgb=tuple(albedo.tolist()), roughness=roughness,
                        specular_scale=specular, source=f"fit.json parts.{name}" + (f" ({texture})" if texture else "")
                        + (f": {entry['source']}" if isinstance(entry.get("source"), str) else ""))


def _default_kind(name: str) -> str:
    return next(kind for kind in DEFAULT_PART_MATERIALS if name.startswith(kind))


def _materials(folder: Path, fit: dict, head: IctHead, where: Path) -> tuple[dict[str, IctMaterial], list[str]]:
    notes = []
    maps = read_skin_maps(folder, notes)
    roughness_map = read_map(folder / "roughness.png", 1) if (folder / "roughness.png").is_file() else None
    described = fit.get("parts", {}) or {}
    if not isinstance(described, dict):
        raise InputError(f"{where}: \"parts\" must be an object; {_AGAIN}")
    material = fit.get("material", {}) if isinstance(fit.get("material", {}), dict) else {}
    face_entry = described.get("face") if isinstance(described.get("face"), dict) else {}
    roughness = _unit_interval(_value(face_entry, "roughness", _value(material, "roughness", DEFAULT_ROUGHNESS)),
                               "the skin's roughness (parts.face / material.roughness)", where)
    face_albedo = tuple(float(v) for v in _face_median(maps["albedo"], head))
    materials = {"face": IctMaterial(albedo_srgb=maps["albedo"], albedo_factor_srgb=face_albedo,
                                      roughness=roughness, specular_scale=1.0, normal_map=maps["normal"],
                                      specular_map=maps["specular"], roughness_map=roughness_map,
                                      source="albedo.png, specular.png, normal.png (ICT face tile)")}
    unknown = sorted(set(described) - set(head.part_names))
    if unknown:
        raise InputError(f"{where}: parts {unknown} are not parts of the ICT head ({', '.join(head.part_names)}); "
                         f"{_AGAIN}")
    left_out = sorted(set(described) - set(OPAQUE_PARTS) - {"face"})
    if left_out:
        notes.append(f"parts {left_out} are not exported (not opaque: cornea, tear film, lashes, shading layers)")
    placeholders = []
    for name in OPAQUE_PARTS:
        if name == "face":
            continue  # the skin maps; parts.face gives at most its roughness
        if name in described:
            materials[name] = _described_part(folder, name, described[name], where)
        elif name == "back_head":
            specular = float(_face_median(maps["specular"], head)[0])
            materials[name] = IctMaterial(albedo_srgb=None, albedo_factor_srgb=face_albedo, roughness=roughness,
                                           specular_scale=specular, source="default: the face's median albedo")
            notes.append("back_head: not described in fit.json parts, given the face's median albedo "
                         f"{tuple(round(v, 3) for v in face_albedo)} and specular {specular:.3f}")
        else:
            colour, part_roughness, specular = DEFAULT_PART_MATERIALS[_default_kind(name)]
            materials[name] = IctMaterial(albedo_srgb=None, albedo_factor_srgb=colour, roughness=part_roughness,
                                           specular_scale=specular, source="default (placeholder)")
            placeholders.append(name)
    if placeholders:
        notes.append(f"{', '.join(placeholders)}: not described in fit.json parts, given placeholder materials "
                     "(svfri.io.ict_export.DEFAULT_PART_MATERIALS)")
    return materials, notes


# ------------------------------------------------------------------------------------------------ geometry

def build_ict_export(head: IctHead, identity: np.ndarray, expression: np.ndarray, rotation: np.ndarray,
                     materials: dict[str, IctMaterial], *, specular_f0: float = SKIN_F0,
                     notes: tuple[str, ...] = ()) -> IctExport:
    """The fitted head's parts, base shape and morphs (module docstring) from coefficients and materials.

    Args:
      head: the ICT model. identity: ``[k <= K]`` weights. expression: ``[53]`` fitted weights.
      rotation: ``[3, 3]`` model-to-world rotation. materials: part name -> material, every opaque part.
    """
    rotation = np.asarray(rotation, dtype=np.float64)
    base_model = head.shape(identity, None)                                   # [V, 3] model cm, neutral expression
    base_world = base_model @ rotation.T
    base_normals = head.vertex_normals(base_world)                            # [V, 3] world
    modes_world = np.asarray(head.expression_modes, dtype=np.float64) @ rotation.T   # [53, V, 3]
    normal_deltas = np.stack([head.vertex_normals(base_world + mode) - base_normals for mode in modes_world])
    fitted_world = head.shape(identity, expression) @ rotation.T
    fitted_normals = head.vertex_normals(fitted_world)
    render_positions = head.render_vertices(base_world)
    render_normals = head.render_vertices(base_normals)
    tangents = head.render_tangents(render_positions, render_normals)
    source = head.render_source
    parts = []
    for name in OPAQUE_PARTS:
        render_ids, faces = head.part_mesh(name)
        model_ids = source[render_ids]
        parts.append(IctPart(
            name=name, family=PART_FAMILIES[name], render_ids=render_ids, faces=faces,
            positions=render_positions[render_ids], normals=render_normals[render_ids], tangents=tangents[render_ids],
            uv=np.asarray(head.part_uv(name)[render_ids], dtype=np.float64),
            position_deltas=modes_world[:, model_ids], normal_deltas=normal_deltas[:, model_ids],
            fitted_positions=fitted_world[model_ids], fitted_normals=fitted_normals[model_ids],
            material=materials[name]))
    return IctExport(parts=tuple(parts), expression_names=tuple(head.expression_names),
                     expression=np.asarray(expression, dtype=np.float64), identity=np.asarray(identity, np.float64),
                     rotation=rotation, specular_f0=float(specular_f0), notes=tuple(notes))


def load_ict_export(folder: str | Path, head: IctHead | None = None) -> IctExport:
    """Reads an ICT-head output folder (module docstring) into an :class:`IctExport`.

    Raises:
      InputError: no ``fit.json``, no ``"ict"`` block, or a value of it, of ``parts`` or of ``material`` that does
        not fit the model; a map or part texture unreadable.
      ModelError: ``ict_head.npz`` missing or corrupt.
    """
    folder = Path(folder)
    where = folder / "fit.json"
    if not where.is_file():
        raise InputError(f"{folder}: fit.json is missing; this is not a complete svfri output folder")
    try:
        fit = json.loads(where.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{where}: not a valid fit.json ({error})") from None
    if not has_ict_fit(fit):
        raise InputError(f"{where}: no \"ict\" block; this folder was not fitted with the ICT head")
    head = head or load_ict_head()
    identity, expression, rotation = _ict_block(fit, head, where)
    material = fit.get("material", {}) if isinstance(fit.get("material", {}), dict) else {}
    specular_f0 = _finite_number(material.get("specular_f0_scale", SKIN_F0), "material.specular_f0_scale",
                                 where)
    if not 0.0 < specular_f0 <= 1.0:
        raise InputError(f"{where}: material.specular_f0_scale must be in (0, 1], got {specular_f0}")
    materials, notes = _materials(folder, fit, head, where)
    return build_ict_export(head, identity, expression, rotation, materials, specular_f0=specular_f0,
                            notes=tuple(notes))

"""Generate ``models/ict_head.npz``: the ICT-FaceKit "light" head model as svfri uses it.

Run ``python -m precompute.make_ict_head --source PATH/ict_facekit.npz``. The source file is the ICT-FaceKit
repository (ICT-VGL/ICT-FaceKit, commit da5f95a, ``FaceXModel/``, MIT licence), converted to one npz holding
the OBJ data unchanged (keys ``neutral``, ``uv``, ``faces``, ``face_uv``, ``material_names``,
``material_first_face``, ``identity_modes``, ``expression_modes``, ``expression_names``, ``landmarks68``,
``fitting_vertices``, ``rigid_vertices``). Provenance and the numbers of the last run: ``models/ict_head.md``.

Steps:

1. **Triangles.** Every quad ``(a, b, c, d)`` of the OBJ is split along its shorter diagonal (in the neutral
   shape) into two triangles that keep the quad's corner order, so the OBJ's counter-clockwise-from-outside
   winding carries over. Each triangle gets a **part** label from its ``usemtl`` group; ``M_BackHead`` is
   split further by ICT's vertex ranges into the back of the head, the mouth socket and the two eye sockets,
   and each outer eye shell (``M_Sclera*``) into the clear cornea (inside the limbus) and the sclera.
2. **Render mesh.** The OBJ's UVs are per face corner; a vertex with several ``vt`` (UV seams) becomes several
   render vertices, one per distinct ``(vertex, vt)`` pair, each with a map back to its model vertex.
3. **Modes.** Neutral float32 (cm); the first :data:`IDENTITY_MODES_KEPT` identity modes and all 53
   expression modes float16 (cm). The truncation and float16 errors are measured and printed.
4. **Region masks** in the face UV tile (see :func:`region_masks`); pictures: the masks on the UV layout,
   the skin-map generator's output on them, and that albedo on the 3-D head (``docs/images/ict_*.png``).
5. **468-point correspondence**: svfri's canonical Face Mesh shape registered onto the ICT neutral face
   (similarity from the 68 landmarks, then non-rigid ICP), stored as triangle + barycentric coordinates.

Vertex indexing is ICT's own, unchanged (26 719 vertices): ``landmarks68``, ``fitting_vertices`` and the
vertex ranges of ICT's README apply as they are.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import scipy.interpolate
import scipy.sparse
import scipy.sparse.linalg
import scipy.spatial

REPO = Path(__file__).resolve().parents[1]
OUTPUT_NPZ = REPO / "models" / "ict_head.npz"
OUTPUT_LICENSE = REPO / "models" / "LICENSE-ICT-FaceKit.txt"
PICTURE_DIR = REPO / "docs" / "images"

FORMAT_VERSION = 1
#: ICT's vertex count (the FaceXModel OBJs).
ICT_VERTEX_COUNT = 26719
#: Identity modes kept (of 100). Measured (models/ict_head.md): holding back modes 60..99 changes a random
#: N(0, 1) identity's face by 0.69 mm rms (max 1.5 mm) -- below what 468 photo landmarks can determine --
#: and saves ~5 MB of the file.
IDENTITY_MODES_KEPT = 60
#: Random identities / expressions drawn to measure truncation and float16 errors.
ERROR_SAMPLES = 64
ERROR_SEED = 0

#: ICT vertex ranges (first, last inclusive) from the repository README.
FACE_VERTICES = (0, 9408)
HEAD_NECK_VERTICES = (9409, 11247)
MOUTH_SOCKET_VERTICES = (11248, 13293)
EYE_SOCKET_VERTICES = (13294, 14061)

#: Part names (storage order) and the OBJ material each comes from.
PARTS = (
    ("face", "M_Face"), ("back_head", "M_BackHead"), ("mouth_socket", "M_BackHead"),
    ("eye_socket_left", "M_BackHead"), ("eye_socket_right", "M_BackHead"), ("gums_tongue", "M_GumsTongue"),
    ("teeth", "M_Teeth"), ("sclera_left", "M_ScleraLeft"), ("iris_left", "M_IrisLeft"),
    ("sclera_right", "M_ScleraRight"), ("iris_right", "M_IrisRight"), ("lacrimal", "M_LacrimalFluid"),
    ("eye_blend", "M_EyeBlend"), ("eye_occlusion", "M_EyeOcclusion"), ("eyelashes", "M_EyeLashes"),
    ("cornea_left", "M_ScleraLeft"), ("cornea_right", "M_ScleraRight"),
)
PART_NAMES = tuple(name for name, _ in PARTS)
MATERIAL_PART = {"M_Face": "face", "M_GumsTongue": "gums_tongue", "M_Teeth": "teeth",
                 "M_ScleraLeft": "sclera_left", "M_IrisLeft": "iris_left", "M_ScleraRight": "sclera_right",
                 "M_IrisRight": "iris_right", "M_LacrimalFluid": "lacrimal", "M_EyeBlend": "eye_blend",
                 "M_EyeOcclusion": "eye_occlusion", "M_EyeLashes": "eyelashes"}

#: The limbus is searched among the shell's vertex rings inside this UV radius (the front of the eye).
LIMBUS_SEARCH_MAX_UV_RADIUS = 0.2

REQUIRED_KEYS = ("neutral", "uv", "faces", "face_uv", "material_names", "material_first_face", "identity_modes",
                 "expression_modes", "expression_names", "landmarks68", "fitting_vertices", "rigid_vertices")


# ------------------------------------------------------------------------------------------------ source
def load_source(path: Path) -> dict[str, np.ndarray]:
    """The converted ICT-FaceKit npz as a dict of arrays; raises ``SystemExit`` on a wrong file."""
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in REQUIRED_KEYS if key not in data.files]
        if missing:
            raise SystemExit(f"{path}: not the converted ICT-FaceKit npz (missing {missing})")
        source = {key: data[key] for key in REQUIRED_KEYS}
    if source["neutral"].shape != (ICT_VERTEX_COUNT, 3):
        raise SystemExit(f"{path}: neutral has shape {source['neutral'].shape}, expected ({ICT_VERTEX_COUNT}, 3)")
    return source


# --------------------------------------------------------------------------------------------- triangles
def polygon_materials(source: dict) -> np.ndarray:
    """``[P]`` material index of each OBJ polygon (``usemtl`` groups are contiguous runs)."""
    first = source["material_first_face"].astype(np.int64)
    count = len(source["faces"])
    ends = np.append(first[1:], count)
    material = np.empty(count, dtype=np.int64)
    for index, (a, b) in enumerate(zip(first, ends)):
        material[a:b] = index
    return material


def triangulate(source: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the OBJ's quads along the shorter diagonal, keeping the corner order (winding).

    Returns:
      ``faces [F, 3]`` vertex indices, ``face_uv [F, 3]`` ``vt`` indices and ``source_polygon [F]`` (the OBJ
      polygon each triangle comes from), in polygon order (a quad's two triangles are adjacent).
    """
    quads, quad_uv = source["faces"].astype(np.int64), source["face_uv"].astype(np.int64)
    neutral = source["neutral"].astype(np.float64)
    is_quad = quads[:, 3] >= 0
    diagonal_ac = np.linalg.norm(neutral[quads[:, 0]] - neutral[quads[:, 2]], axis=1)
    diagonal_bd = np.linalg.norm(neutral[quads[:, 1]] - neutral[np.maximum(quads[:, 3], 0)], axis=1)
    use_ac = diagonal_ac <= diagonal_bd
    # Corner patterns: along a-c -> (a, b, c), (a, c, d); along b-d -> (a, b, d), (b, c, d).
    first_ac, second_ac = np.array([0, 1, 2]), np.array([0, 2, 3])
    first_bd, second_bd = np.array([0, 1, 3]), np.array([1, 2, 3])
    faces, faces_uv, polygons = [], [], []
    for index in range(len(quads)):
        if not is_quad[index]:
            corners = [first_ac]
        elif use_ac[index]:
            corners = [first_ac, second_ac]
        else:
            corners = [first_bd, second_bd]
        for corner in corners:
            faces.append(quads[index, corner])
            faces_uv.append(quad_uv[index, corner])
            polygons.append(index)
    return (np.asarray(faces, dtype=np.int32), np.asarray(faces_uv, dtype=np.int32),
            np.asarray(polygons, dtype=np.int32))


def _in_range(vertices: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    return (vertices >= bounds[0]) & (vertices <= bounds[1])


def limbus_uv_radius(source: dict, faces: np.ndarray, face_uv: np.ndarray, sclera: np.ndarray,
                     iris: np.ndarray) -> float:
    """UV radius (from the tile centre) of the limbus on ICT's outer eyeball shell.

    ICT's "sclera" mesh is the whole outer shell of the eye, cornea included (its UV is a disc centred on the
    cornea; rings of vertices at constant UV radius); the "iris" mesh lies 1.7 mm behind the cornea's apex.
    The limbus is the ring of shell vertices closest to the iris mesh (0.2 mm on the ICT neutral).
    """
    neutral = source["neutral"].astype(np.float64)
    shell_vertices, shell_vt = faces[sclera].ravel(), face_uv[sclera].ravel()
    radius = np.round(np.linalg.norm(source["uv"][shell_vt] - 0.5, axis=1), 4)
    iris_tree = scipy.spatial.cKDTree(neutral[np.unique(faces[iris])])
    distance = iris_tree.query(neutral[shell_vertices])[0]
    rings = np.unique(radius)
    front = rings[rings < LIMBUS_SEARCH_MAX_UV_RADIUS]
    mean_distance = [distance[radius == ring].mean() for ring in front]
    return float(front[int(np.argmin(mean_distance))])


def part_labels(source: dict, faces: np.ndarray, source_polygon: np.ndarray, face_uv: np.ndarray) -> np.ndarray:
    """``[F]`` part index (into :data:`PART_NAMES`) of each triangle, from its material and vertex range; the
    outer eye shell is split into cornea (inside the limbus) and sclera."""
    names = [str(name) for name in source["material_names"]]
    material = polygon_materials(source)[source_polygon]
    neutral = source["neutral"]
    labels = np.full(len(faces), -1, dtype=np.int64)
    for index, name in enumerate(names):
        rows = material == index
        if name == "M_BackHead":
            mouth = _in_range(faces, MOUTH_SOCKET_VERTICES).all(axis=1)
            eye = _in_range(faces, EYE_SOCKET_VERTICES).all(axis=1)
            left = neutral[faces].mean(axis=1)[:, 0] > 0.0        # +X is the subject's left
            labels[rows] = PART_NAMES.index("back_head")
            labels[rows & mouth] = PART_NAMES.index("mouth_socket")
            labels[rows & eye & left] = PART_NAMES.index("eye_socket_left")
            labels[rows & eye & ~left] = PART_NAMES.index("eye_socket_right")
        else:
            labels[rows] = PART_NAMES.index(MATERIAL_PART[name])
    for side in ("left", "right"):
        sclera = labels == PART_NAMES.index(f"sclera_{side}")
        iris = labels == PART_NAMES.index(f"iris_{side}")
        limbus = limbus_uv_radius(source, faces, face_uv, sclera, iris)
        corner_radius = np.linalg.norm(source["uv"][face_uv] - 0.5, axis=2).max(axis=1)
        labels[sclera & (corner_radius <= limbus + 1e-4)] = PART_NAMES.index(f"cornea_{side}")
    if (labels < 0).any():
        raise SystemExit("unlabelled triangles: unknown material")
    return labels


def part_tiles(uv: np.ndarray, face_uv: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``[P, 2]`` first and last UV tile of each part (``u`` in ``[first, last + 1]``; one tile for all but
    the lacrimal fluid, which spans two)."""
    tiles = np.zeros((len(PART_NAMES), 2), dtype=np.int32)
    for index in range(len(PART_NAMES)):
        u = uv[face_uv[labels == index].ravel(), 0]
        tiles[index] = int(np.floor(u.min())), int(np.floor(u.max() - 1e-6))
    return tiles


def split_uv_seams(faces: np.ndarray, face_uv: np.ndarray, uv: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-corner UVs -> a per-vertex-UV render mesh: one render vertex per distinct (vertex, UV value) pair.

    Distinct ``vt`` entries with equal values (the OBJ repeats some) do not split a vertex.

    Returns:
      ``render_faces [F, 3]`` (same triangle order as ``faces``), ``render_source [V_r]`` (model vertex of
      each render vertex) and ``render_uv [V_r, 2]``, render vertices sorted by (vertex, u, t).
    """
    corner_uv = uv[face_uv.ravel()].astype(np.float32)
    keys = np.concatenate([faces.reshape(-1, 1).astype(np.float64), corner_uv.astype(np.float64)], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    render_faces = inverse.reshape(faces.shape).astype(np.int32)
    return render_faces, unique[:, 0].astype(np.int32), unique[:, 1:].astype(np.float32)


def orientation_stats(neutral: np.ndarray, faces: np.ndarray, labels: np.ndarray) -> dict:
    """How outward the winding is: face triangles whose normal points away from the head centre, and the
    signed volume of the (open at the neck) skin surface and of each closed eyeball part."""
    p = neutral.astype(np.float64)[faces]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    skin = np.isin(labels, [PART_NAMES.index("face"), PART_NAMES.index("back_head")])
    skin_vertices = neutral[np.unique(faces[skin])].astype(np.float64)
    centre = 0.5 * (skin_vertices.min(axis=0) + skin_vertices.max(axis=0))
    on_face = labels == PART_NAMES.index("face")
    outward = ((cross * (p.mean(axis=1) - centre)).sum(axis=1) > 0)
    area = 0.5 * np.linalg.norm(cross, axis=1)
    stats = {"head_centre_cm": centre.round(3).tolist(),
             "face_triangles_outward_fraction": float(outward[on_face].mean()),
             "face_area_outward_fraction": float(area[on_face & outward].sum() / area[on_face].sum())}
    groups = {"face_and_back_head": ("face", "back_head"), "eye_shell_left": ("sclera_left", "cornea_left"),
              "iris_left": ("iris_left",), "eye_shell_right": ("sclera_right", "cornea_right"),
              "iris_right": ("iris_right",)}
    for name, parts in groups.items():
        rows = np.isin(labels, [PART_NAMES.index(part) for part in parts])
        q = p[rows] - p[rows].mean(axis=(0, 1))
        stats[f"signed_volume_{name}_cm3"] = float(np.einsum("fi,fi->f", q[:, 0], np.cross(q[:, 1], q[:, 2])).sum() / 6)
    return stats


# ------------------------------------------------------------------------------------------------- modes
def mode_stats(source: dict, identity16: np.ndarray, expression16: np.ndarray) -> dict:
    """Truncation error of the kept identity modes and float16 errors, in mm, on random coefficients.

    Identity ``~ N(0, 1)`` per mode (ICT's scale), expression ``~ U(0, 1)`` on 8 random blendshapes. The
    truncation error (the held-back modes' contribution to a 100-mode identity) is measured on the face
    vertices (0-9408).
    """
    rng = np.random.default_rng(ERROR_SEED)
    identity = source["identity_modes"].astype(np.float64)
    expression = source["expression_modes"].astype(np.float64)
    kept = identity16.shape[0]
    face = slice(FACE_VERTICES[0], FACE_VERTICES[1] + 1)
    truncation, float16_error = [], []
    for _ in range(ERROR_SAMPLES):
        alpha = rng.standard_normal(identity.shape[0])
        beta = np.zeros(expression.shape[0])
        beta[rng.choice(expression.shape[0], 8, replace=False)] = rng.uniform(0.0, 1.0, 8)
        held = np.tensordot(alpha[kept:], identity[kept:], axes=1)
        truncation.append(np.linalg.norm(held[face], axis=1))
        exact = np.tensordot(alpha[:kept], identity[:kept], axes=1) + np.tensordot(beta, expression, axes=1)
        stored = (np.tensordot(alpha[:kept], identity16.astype(np.float64), axes=1)
                  + np.tensordot(beta, expression16.astype(np.float64), axes=1))
        float16_error.append(np.linalg.norm(stored - exact, axis=1))
    truncation, float16_error = np.concatenate(truncation), np.concatenate(float16_error)
    neutral = source["neutral"]
    neutral16_error = np.linalg.norm(neutral.astype(np.float16).astype(np.float64) - neutral, axis=1)
    energy = (identity ** 2).sum(axis=(1, 2))
    return {
        "identity_modes_kept": int(kept),
        "identity_energy_kept_fraction": float(energy[:kept].sum() / energy.sum()),
        "truncation_face_rms_mm": float(np.sqrt((truncation ** 2).mean()) * 10),
        "truncation_face_p95_mm": float(np.percentile(truncation, 95) * 10),
        "truncation_face_max_mm": float(truncation.max() * 10),
        "float16_modes_rms_mm": float(np.sqrt((float16_error ** 2).mean()) * 10),
        "float16_modes_max_mm": float(float16_error.max() * 10),
        "float16_identity_mode_entry_max_mm": float(
            np.abs(identity16[:kept].astype(np.float64) - identity[:kept]).max() * 10),
        "float16_expression_mode_entry_max_mm": float(np.abs(expression16.astype(np.float64) - expression).max() * 10),
        "float16_neutral_would_be_max_mm": float(neutral16_error.max() * 10),
    }


# ----------------------------------------------------------------------------------------------- masks
MASK_RESOLUTION = 512
#: Mask names in storage order (those of svfri.synth.skin_maps.REGION_NAMES).
MASK_NAMES = ("face", "lips", "brows", "eyes", "nose", "t_zone", "beard", "cheeks", "forehead", "under_eye",
              "mouth_interior")
#: Rasterisation supersampling (polygons are filled at 4x and area-averaged: anti-aliased edges).
MASK_SUPERSAMPLE = 4
#: Soft-edge blur, texels (Gaussian sigma at 512^2; ~0.1 cm on the face).
MASK_BLUR_TEXELS = 2.0
#: Region sizes in cm on the face, converted to UV with the face tile's scale measured at the eyes
#: (UV units per cm = eye-corner distance in UV / in 3-D; 0.0415, within 7 % of the nose-chin value).
#: **Approximation**: one uniform scale for the tile. Judgement calls checked on docs/images/ict_uv_masks.png.
#: Eyes: the eye contour itself, barely widened -- the eyeballs are ICT's own geometry, so the face tile's
#: "eyes" are only the lid margins inside the contour (the template's eye mask covers whole eye openings).
EYE_MARGIN_CM = 0.05
#: Mouth interior: inside the inner lip contour the ICT face rolls into the mouth (the mouth is closed in the
#: neutral: points 62 / 66 are 0.8 mm apart). The first part of that inner surface is lip (wet vermilion);
#: the mask ramps from 0 to 1 between these 3-D distances (cm) behind the inner lip contour.
MOUTH_INTERIOR_FROM_CM = 0.25
MOUTH_INTERIOR_FULL_CM = 0.6
LIPS_MARGIN_CM = 0.1
#: Brows: the iBUG brow points lie on the brow's upper edge (ICT's point 19 is 2.4 cm above the upper lid
#: margin, where an adult brow's top sits), so the band reaches mostly down from them, a little up.
BROW_BELOW_CM = 0.85
BROW_ABOVE_CM = 0.3
#: Brows taper to this fraction of their height at the outer end.
BROW_OUTER_TAPER = 0.6
#: Nose: half-widths of the bridge beside points 27, 28, 29, 30 (cm), the nose wings beyond points 31 / 35
#: (outwards, upwards) and the margin around the hull.
NOSE_BRIDGE_HALF_WIDTH_CM = (0.55, 0.65, 0.8, 1.0)
NOSE_WING_OUT_CM = 0.55
NOSE_WING_UP_CM = 0.7
NOSE_MARGIN_CM = 0.2
#: Under-eye band depth below the lower lid.
UNDER_EYE_DEPTH_CM = 1.3
#: Forehead: gap above the brows, and the hairline's height above the brow top along the face (arc length).
FOREHEAD_BROW_GAP_CM = 0.2
HAIRLINE_ABOVE_BROWS_CM = 5.5
#: Forehead sides reach this far out beyond the brow ends.
FOREHEAD_SIDE_CM = 0.8
#: T-zone: half-width of its central forehead band, and the glabella between the brows.
T_ZONE_HALF_WIDTH_CM = 1.8
#: Cheeks: gap beside the nose and beside the mouth corner, inset from the jaw line, and how far down they
#: reach (fraction of the way from the under-eye band to the mouth corner; below, the beard area begins).
CHEEK_NOSE_GAP_CM = 0.4
CHEEK_MOUTH_GAP_CM = 0.9
CHEEK_JAW_INSET_CM = 0.8
CHEEK_BOTTOM_FRACTION = 0.75
#: Beard: how far it reaches below the jaw line onto the neck (chin / jaw ends), the gap above the
#: subnasale, the cheek line's offset beside the nose wing, and the clearance around the lips.
BEARD_BELOW_CHIN_CM = 3.5
BEARD_BELOW_JAW_END_CM = 1.0
BEARD_SUBNASALE_GAP_CM = 0.15
BEARD_WING_OUT_CM = 0.6
BEARD_LIPS_CLEARANCE_CM = 0.15
#: The face tile is left-right symmetric to this tolerance (UV) at the landmarks, so masks are built on the
#: subject's right half (``s < 0.5``, iBUG points 0-8, 17-21, 31-33, 36-41, 48-51, 57-62, 66-67) and mirrored.
SYMMETRY_TOLERANCE_UV = 1e-4


def face_tile_vertex_uv(faces: np.ndarray, face_uv: np.ndarray, uv: np.ndarray, labels: np.ndarray) -> dict:
    """model vertex -> its UV in the face tile (from the face part's corners; seams inside the face tile
    do not touch the landmark vertices, checked by the caller)."""
    rows = labels == PART_NAMES.index("face")
    result: dict = {}
    for vertex, vt in zip(faces[rows].ravel(), face_uv[rows].ravel()):
        result.setdefault(int(vertex), set()).add(int(vt))
    return {vertex: uv[sorted(vts)] for vertex, vts in result.items()}


def _to_pixels(points: np.ndarray, resolution: int) -> np.ndarray:
    """UV ``(s, t)`` -> pixel ``(x, y)`` (row 0 = ``t`` near 1), at ``resolution`` texels."""
    return np.stack([points[..., 0] * resolution, (1.0 - points[..., 1]) * resolution], axis=-1)


def _fill(polygons, resolution: int = MASK_RESOLUTION) -> np.ndarray:
    """Anti-aliased ``[N, N]`` float coverage of UV polygons (list of ``[k, 2]``)."""
    big = resolution * MASK_SUPERSAMPLE
    canvas = np.zeros((big, big), dtype=np.uint8)
    for polygon in polygons:
        pixels = np.round(_to_pixels(np.asarray(polygon, dtype=np.float64), big) * 16).astype(np.int32)
        cv2.fillPoly(canvas, [pixels], 255, lineType=cv2.LINE_8, shift=4)
    return cv2.resize(canvas.astype(np.float32) / 255.0, (resolution, resolution), interpolation=cv2.INTER_AREA)


def _dilate(mask: np.ndarray, radius_uv: float) -> np.ndarray:
    radius = max(int(round(radius_uv * mask.shape[0])), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, kernel)


def _band(points: np.ndarray, below: np.ndarray, above: np.ndarray) -> np.ndarray:
    """Polygon of a band along a polyline ``[k, 2]``: offsets ``below[k]`` / ``above[k]`` along its normal
    that points to ``+t``."""
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal *= np.sign(normal[:, 1:2] + 1e-12)
    return np.concatenate([points + normal * above[:, None], (points - normal * below[:, None])[::-1]])


def _mirror(mask: np.ndarray) -> np.ndarray:
    """The image of a mask under ``s -> 1 - s`` (a column flip)."""
    return mask[:, ::-1]


def _symmetric(half: np.ndarray) -> np.ndarray:
    return np.maximum(half, _mirror(half))


def region_masks(landmarks_uv: np.ndarray, coverage: np.ndarray, uv_per_cm: float, hairline_t: float,
                 mouth_depth: np.ndarray) -> dict[str, np.ndarray]:
    """The 11 region masks ``[512, 512]`` in ``[0, 1]`` of the face tile, from the 68 landmarks' UVs.

    Args:
      landmarks_uv: ``[68, 2]`` face-tile UV of ICT's 68 landmark vertices (iBUG order, symmetric).
      coverage: ``[512, 512]`` coverage of the face tile by the face part's triangles.
      uv_per_cm: the tile's scale (UV units per cm on the face).
      hairline_t: ``t`` of the forehead's top (the hairline) on the midline.
      mouth_depth: ``[512, 512]`` 3-D distance (cm) of the surface from the inner lip contour.

    Returns:
      name -> mask, names as :data:`svfri.synth.skin_maps.REGION_NAMES`.
    """
    lm = np.asarray(landmarks_uv, dtype=np.float64)
    cm = float(uv_per_cm)
    up = np.array([0.0, 1.0])
    mirror = np.concatenate([lm[:, :1] * -1 + 1, lm[:, 1:]], axis=1)
    # iBUG right-left partners (300-W flip): the model's UVs must be symmetric for the half-and-mirror build.
    partners = list(range(16, -1, -1)) + list(range(26, 16, -1)) + list(range(27, 31)) + [35, 34, 33, 32, 31] + \
        [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40] + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + \
        [64, 63, 62, 61, 60, 67, 66, 65]
    asymmetry = float(np.abs(lm[partners] - mirror).max())
    if asymmetry > SYMMETRY_TOLERANCE_UV:
        raise SystemExit(f"face-tile landmarks are not left-right symmetric ({asymmetry:.2e} UV)")

    eyes = _symmetric(_dilate(_fill([lm[36:42]]), EYE_MARGIN_CM * cm))
    ramp = np.clip((mouth_depth - MOUTH_INTERIOR_FROM_CM) / (MOUTH_INTERIOR_FULL_CM - MOUTH_INTERIOR_FROM_CM), 0, 1)
    inner_lips = _fill([lm[60:68]])
    mouth_interior = inner_lips * ramp * ramp * (3.0 - 2.0 * ramp)
    lips_outer = _dilate(_fill([lm[48:60]]), LIPS_MARGIN_CM * cm)
    lips = np.clip(lips_outer - mouth_interior, 0.0, 1.0)

    brow = lm[17:22]                                        # subject's right brow, outer (17) to inner (21)
    taper = np.linspace(BROW_OUTER_TAPER, 1.0, len(brow))
    brows = _symmetric(_fill([_band(brow, BROW_BELOW_CM * cm * taper, BROW_ABOVE_CM * cm * taper)]))

    half_widths = np.asarray(NOSE_BRIDGE_HALF_WIDTH_CM) * cm
    bridge = lm[27:31]
    nose_points = np.concatenate([
        bridge, bridge - np.outer(half_widths, [1.0, 0.0]), lm[31:34],
        [lm[31] + np.array([-NOSE_WING_OUT_CM, NOSE_WING_UP_CM]) * cm,
         lm[31] + np.array([-NOSE_WING_OUT_CM, 0.0]) * cm]])
    hull = nose_points[scipy.spatial.ConvexHull(nose_points).vertices]
    nose = _symmetric(_dilate(_fill([hull]), NOSE_MARGIN_CM * cm))

    lower_lid = lm[[36, 41, 40, 39]]
    under_eye_band = np.concatenate([lower_lid, (lower_lid - up * UNDER_EYE_DEPTH_CM * cm)[::-1]])
    under_eye = np.clip(_symmetric(_fill([under_eye_band])) - eyes, 0.0, 1.0)

    brow_top = np.concatenate([lm[17:27]]) + up * (BROW_ABOVE_CM + FOREHEAD_BROW_GAP_CM) * cm
    side = FOREHEAD_SIDE_CM * cm
    forehead_polygon = np.concatenate([
        [[lm[17, 0] - side, brow_top[0, 1]]], brow_top, [[lm[26, 0] + side, brow_top[-1, 1]]],
        [[lm[26, 0] + side, hairline_t], [lm[17, 0] - side, hairline_t]]])
    forehead = _fill([forehead_polygon])

    glabella = np.array([[lm[21, 0], lm[27, 1]], [lm[22, 0], lm[27, 1]], [lm[22, 0], brow_top[5, 1]],
                         [lm[21, 0], brow_top[5, 1]]])
    half = T_ZONE_HALF_WIDTH_CM * cm
    band = np.array([[0.5 - half, brow_top[4, 1]], [0.5 + half, brow_top[4, 1]], [0.5 + half, hairline_t],
                     [0.5 - half, hairline_t]])
    t_zone = np.maximum(nose, np.maximum(_fill([glabella]), _fill([band]) * forehead))

    # Cheeks (subject's right): under the under-eye band, beside the nose and the mouth, inside the jaw line.
    eye_bottom_t = float(lower_lid[:, 1].min() - UNDER_EYE_DEPTH_CM * cm)
    mouth_corner = lm[48]
    bottom_t = eye_bottom_t + CHEEK_BOTTOM_FRACTION * (mouth_corner[1] - eye_bottom_t)
    nose_side = lm[31, 0] - (NOSE_WING_OUT_CM + NOSE_MARGIN_CM + CHEEK_NOSE_GAP_CM) * cm
    jaw = lm[0:5]
    inset = jaw + np.array([CHEEK_JAW_INSET_CM * cm, 0.0])
    cheek_polygon = np.concatenate([
        [[lm[36, 0] - 0.5 * cm, eye_bottom_t], [lm[39, 0], eye_bottom_t], [nose_side, lm[30, 1]],
         [mouth_corner[0] - CHEEK_MOUTH_GAP_CM * cm, bottom_t]],
        [[np.interp(bottom_t, inset[::-1, 1], inset[::-1, 0]), bottom_t]],
        inset[(inset[:, 1] > bottom_t) & (inset[:, 1] < eye_bottom_t)][::-1]])
    cheeks = np.clip(_symmetric(_fill([cheek_polygon])) - nose - under_eye, 0.0, 1.0)

    # Beard (subject's right half, closed along the midline): sideburn at jaw point 1, the cheek line to
    # beside the nose wing, under the nose to the subnasale; below, the jaw line lowered onto the neck.
    depth = np.interp(np.arange(9), [0, 2, 8], [0.0, BEARD_BELOW_JAW_END_CM, BEARD_BELOW_CHIN_CM]) * cm
    jaw_lowered = lm[0:9] - up * depth[:, None]
    beard_polygon = np.concatenate([
        [[0.5, lm[33, 1] - BEARD_SUBNASALE_GAP_CM * cm], [lm[31, 0], lm[31, 1] - BEARD_SUBNASALE_GAP_CM * cm],
         [lm[31, 0] - BEARD_WING_OUT_CM * cm, lm[31, 1]], [lm[1, 0], lm[1, 1]]],
        jaw_lowered[1:], [[0.5, jaw_lowered[8, 1]]]])
    lips_clear = _dilate(lips_outer, BEARD_LIPS_CLEARANCE_CM * cm)
    beard = np.clip(_symmetric(_fill([beard_polygon])) - lips_clear - nose, 0.0, 1.0)

    face = np.maximum(coverage, np.maximum(eyes, np.maximum(lips_outer, inner_lips)))
    masks = {"face": face, "lips": lips, "brows": brows, "eyes": eyes, "nose": nose, "t_zone": t_zone,
             "beard": beard, "cheeks": cheeks, "forehead": forehead, "under_eye": under_eye,
             "mouth_interior": mouth_interior}
    soft = {}
    for name, mask in masks.items():
        blurred = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), MASK_BLUR_TEXELS)
        soft[name] = np.clip(blurred * (1.0 if name == "face" else face), 0.0, 1.0)
    return soft


def face_coverage(faces: np.ndarray, face_uv: np.ndarray, uv: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``[512, 512]`` anti-aliased coverage of the face tile by the face part's UV triangles."""
    rows = labels == PART_NAMES.index("face")
    return np.clip(_fill(list(uv[face_uv[rows]].astype(np.float64))), 0.0, 1.0)


def midline_hairline_t(neutral: np.ndarray, vertex_uv: dict, brow_top_t: float) -> float:
    """``t`` on the face tile's midline at :data:`HAIRLINE_ABOVE_BROWS_CM` of surface arc above ``brow_top_t``."""
    samples = [(float(u[0, 1]), neutral[v]) for v, u in vertex_uv.items() if abs(u[0, 0] - 0.5) < 1e-3]
    samples.sort(key=lambda item: item[0])
    t = np.array([item[0] for item in samples])
    points = np.array([item[1] for item in samples], dtype=np.float64)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    start = np.interp(brow_top_t, t, arc)
    return float(np.interp(start + HAIRLINE_ABOVE_BROWS_CM, arc, t))


def distance_map(neutral: np.ndarray, vertex_uv: dict, loop: np.ndarray) -> np.ndarray:
    """``[512, 512]`` 3-D distance (cm) of the face surface from a closed polyline ``loop [k, 3]``, per texel of
    the face tile (per-vertex distances, linearly interpolated over a Delaunay triangulation of the UVs)."""
    vertices = np.array(sorted(vertex_uv), dtype=np.int64)
    points = np.concatenate([vertex_uv[int(v)] for v in vertices])
    owners = np.concatenate([np.full(len(vertex_uv[int(v)]), v) for v in vertices])
    start, end = loop, np.roll(loop, -1, axis=0)
    p = neutral[owners][:, None, :]
    along = np.clip(((p - start) * (end - start)).sum(-1) / ((end - start) ** 2).sum(-1), 0.0, 1.0)
    distance = np.linalg.norm(p - (start + along[..., None] * (end - start)), axis=-1).min(axis=1)
    centres = (np.arange(MASK_RESOLUTION) + 0.5) / MASK_RESOLUTION
    s, t = np.meshgrid(centres, 1.0 - centres)
    interpolated = scipy.interpolate.LinearNDInterpolator(points, distance, fill_value=float(distance.max()))
    return interpolated(s, t).astype(np.float32)


def build_masks(source: dict, faces: np.ndarray, face_uv: np.ndarray, labels: np.ndarray) -> tuple[dict, dict]:
    """Region masks of the face tile, the landmarks' UVs and the numbers for the provenance."""
    neutral = source["neutral"].astype(np.float64)
    vertex_uv = face_tile_vertex_uv(faces, face_uv, source["uv"], labels)
    landmarks = source["landmarks68"]
    if any(len(vertex_uv[int(v)]) != 1 for v in landmarks):
        raise SystemExit("a landmark vertex lies on a face-tile UV seam")
    landmarks_uv = np.array([vertex_uv[int(v)][0] for v in landmarks], dtype=np.float64)
    uv_per_cm = float(np.linalg.norm(landmarks_uv[36] - landmarks_uv[45])
                      / np.linalg.norm(neutral[landmarks[36]] - neutral[landmarks[45]]))
    uv_per_cm_vertical = float(np.linalg.norm(landmarks_uv[27] - landmarks_uv[8])
                               / np.linalg.norm(neutral[landmarks[27]] - neutral[landmarks[8]]))
    brow_top_t = float(landmarks_uv[17:27, 1].max() + BROW_ABOVE_CM * uv_per_cm)
    hairline_t = midline_hairline_t(neutral, vertex_uv, brow_top_t)
    coverage = face_coverage(faces, face_uv, source["uv"], labels)
    mouth_depth = distance_map(neutral, vertex_uv, neutral[landmarks[60:68]])
    masks = region_masks(landmarks_uv, coverage, uv_per_cm, hairline_t, mouth_depth)
    s = (np.arange(MASK_RESOLUTION) + 0.5) / MASK_RESOLUTION
    t = 1.0 - s
    stats = {"uv_per_cm_eyes": uv_per_cm, "uv_per_cm_nose_chin": uv_per_cm_vertical, "hairline_t": hairline_t,
             "face_tile_coverage": float(coverage.mean()),
             "masks": {name: {"area": round(float(m.mean()), 4),
                              "centroid_s": round(float((m.sum(axis=0) * s).sum() / max(m.sum(), 1e-9)), 3),
                              "centroid_t": round(float((m.sum(axis=1) * t).sum() / max(m.sum(), 1e-9)), 3),
                              "max_mirror_difference": round(float(np.abs(m - m[:, ::-1]).max()), 4)}
                       for name, m in masks.items()}}
    return {"masks": masks, "landmarks_uv": landmarks_uv}, stats


# -------------------------------------------------------------------------------------- 468-point registration
#: Landmarks used for the similarity transform: brows, nose and eyes (17-47). Left out: the jaw (the template
#: places it along MediaPipe's face oval, ICT on the jaw line) and the lips (the template's canonical face
#: smiles with the mouth open, ICT's neutral mouth is closed).
SIMILARITY_LANDMARKS = tuple(range(17, 48))
#: Landmarks that pull the deformation (weight below): all but the jaw, whose definitions differ.
ICP_LANDMARKS = tuple(range(17, 68))
ICP_LANDMARK_WEIGHT = 3.0
#: Non-rigid ICP stiffness schedule (weight of the Laplacian of the displacement field), one solve per step,
#: ICP_STEPS_PER_STIFFNESS steps each (Amberg, Romdhani & Vetter, "Optimal step nonrigid ICP", CVPR 2007,
#: with a Laplacian instead of their affine-difference regulariser).
ICP_STIFFNESS = (30.0, 10.0, 3.0, 1.0, 0.5)
ICP_STEPS_PER_STIFFNESS = 3
#: Closest-point pairs farther than this, or whose normals differ by more than ICP_MAX_NORMAL_ANGLE_DEG, are
#: not used in that step.
ICP_MAX_DISTANCE_CM = 1.5
ICP_MAX_NORMAL_ANGLE_DEG = 60.0
#: Landmark groups held out of the deformation one at a time to validate the registration (their error
#: then measures how well closest points + smoothness alone carry the correspondence).
HELD_OUT_GROUPS = {"brows": tuple(range(17, 27)), "nose": tuple(range(27, 36)), "eyes": tuple(range(36, 48)),
                   "outer_lips": tuple(range(48, 60)), "inner_lips": tuple(range(60, 68))}
#: Nearest ICT vertices whose triangles are searched for the exact closest point.
CLOSEST_CANDIDATE_VERTICES = 12


def similarity_transform(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``target ~ scale * R @ source + t`` (Umeyama 1991); returns ``(scale, R [3, 3], t [3])``."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(b.T @ a / len(source))
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sigma) @ d) / (a ** 2).sum(axis=1).mean())
    return scale, rotation, mu_t - scale * rotation @ mu_s


def closest_points_on_triangles(points: np.ndarray, p0: np.ndarray, p1: np.ndarray, p2: np.ndarray
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on triangles and their barycentric coordinates ``[..., 3]``
    (:func:`svfri.geometry.mesh_ops.closest_point_barycentrics`)."""
    from svfri.geometry import mesh_ops

    result = mesh_ops.closest_point_barycentrics(points, p0, p1, p2)
    closest = result[..., :1] * p0 + result[..., 1:2] * p1 + result[..., 2:] * p2
    return closest, result


class SurfaceQuery:
    """Closest points on a triangle mesh: a k-d tree of its vertices, then the exact closest point on the
    triangles around the nearest :data:`CLOSEST_CANDIDATE_VERTICES` vertices (fine meshes: ICT's ~2 mm)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, face_ids: np.ndarray):
        self.vertices, self.faces, self.face_ids = vertices, faces, face_ids
        used = np.unique(faces)
        self.tree = scipy.spatial.cKDTree(vertices[used])
        self.used = used
        incident: dict = {}
        for index, face in enumerate(faces):
            for vertex in face:
                incident.setdefault(int(vertex), []).append(index)
        width = max(len(v) for v in incident.values())
        self.incident = np.full((len(vertices), width), -1, dtype=np.int64)
        for vertex, rows in incident.items():
            self.incident[vertex, :len(rows)] = rows
        p = vertices[faces]
        normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        self.normals = normal / np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)

    def __call__(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``points [N, 3]`` -> closest points ``[N, 3]``, local triangle rows ``[N]``, barycentric ``[N, 3]``,
        distances ``[N]``."""
        _, nearest = self.tree.query(points, k=CLOSEST_CANDIDATE_VERTICES)
        candidates = self.incident[self.used[nearest]].reshape(len(points), -1)       # [N, C]
        valid = candidates >= 0
        rows = np.where(valid, candidates, 0)
        p = self.vertices[self.faces[rows]]                                           # [N, C, 3, 3]
        closest, bary = closest_points_on_triangles(points[:, None, :], p[..., 0, :], p[..., 1, :], p[..., 2, :])
        distance = np.where(valid, np.linalg.norm(closest - points[:, None, :], axis=-1), np.inf)
        best = np.argmin(distance, axis=1)
        pick = np.arange(len(points))
        return closest[pick, best], rows[pick, best], bary[pick, best], distance[pick, best]


def uniform_laplacian(faces: np.ndarray, count: int) -> scipy.sparse.csr_matrix:
    """Graph Laplacian ``L = I - D^-1 A`` of a triangle mesh ``[count, count]``."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    adjacency = scipy.sparse.coo_matrix((np.ones(2 * len(edges)), (np.r_[edges[:, 0], edges[:, 1]],
                                                                  np.r_[edges[:, 1], edges[:, 0]])),
                                        shape=(count, count)).tocsr()
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    return (scipy.sparse.identity(count) - scipy.sparse.diags(1.0 / degree) @ adjacency).tocsr()


def register_template(neutral: np.ndarray, faces: np.ndarray, labels: np.ndarray, landmarks68: np.ndarray
                      ) -> tuple[dict, dict, np.ndarray]:
    """The 468 Face Mesh points on the ICT face: similarity from landmarks, then non-rigid ICP.

    Returns the arrays to store (``points468_faces`` into ``faces``, ``points468_barycentric``,
    ``points468_alignment [3, 4]`` = ``[scale R | t]`` template cm -> ICT cm), the stats, and the final
    points ``[468, 3]`` on the ICT neutral.
    """
    from svfri.geometry import mesh_ops
    from svfri.geometry.template import load_face_template

    template = load_face_template()
    vertices = np.asarray(template.vertices, dtype=np.float64)
    ict_landmarks = neutral[landmarks68].astype(np.float64)
    template_landmarks = template.landmarks68(vertices)
    chosen = list(SIMILARITY_LANDMARKS)
    scale, rotation, translation = similarity_transform(template_landmarks[chosen], ict_landmarks[chosen])
    aligned = scale * vertices @ rotation.T + translation

    face_rows = np.flatnonzero(labels == PART_NAMES.index("face"))
    surface = SurfaceQuery(neutral.astype(np.float64), faces[face_rows], face_rows)
    count = len(vertices)
    laplacian = uniform_laplacian(np.asarray(template.faces), count)
    lm_vertices, lm_weights = np.asarray(template.ibug68_vertices), np.asarray(template.ibug68_weights)
    lm_rows = np.zeros((68, count))
    for index in range(68):
        for k in range(2):
            lm_rows[index, lm_vertices[index, k]] += lm_weights[index, k]
    cos_limit = np.cos(np.radians(ICP_MAX_NORMAL_ANGLE_DEG))
    template_faces = np.asarray(template.faces)

    def deform(landmark_indices: tuple[int, ...], used_fraction: list) -> np.ndarray:
        """Non-rigid ICP of ``aligned`` onto the surface, pulled by the given landmarks."""
        lm_matrix = scipy.sparse.csr_matrix(lm_rows[list(landmark_indices)])
        lm_target = ict_landmarks[list(landmark_indices)]
        current = aligned.copy()
        for stiffness in ICP_STIFFNESS:
            for _ in range(ICP_STEPS_PER_STIFFNESS):
                closest, rows, _, distance = surface(current)
                normals = mesh_ops.vertex_normals(current, template_faces)
                agree = (normals * surface.normals[rows]).sum(axis=1) > cos_limit
                keep = (distance < ICP_MAX_DISTANCE_CM) & agree
                used_fraction.append(float(keep.mean()))
                data = scipy.sparse.diags(keep.astype(np.float64))
                system = scipy.sparse.vstack([data, stiffness * laplacian, ICP_LANDMARK_WEIGHT * lm_matrix]).tocsr()
                for axis in range(3):
                    rhs = np.concatenate([keep * closest[:, axis], stiffness * (laplacian @ aligned[:, axis]),
                                          ICP_LANDMARK_WEIGHT * lm_target[:, axis]])
                    current[:, axis] = scipy.sparse.linalg.lsqr(system, rhs, atol=1e-12, btol=1e-12,
                                                                x0=current[:, axis])[0]
        return current

    initial_distance = surface(aligned)[3]
    used_fraction: list = []
    current = deform(ICP_LANDMARKS, used_fraction)
    # Validation: each landmark group held out of the deformation in turn; where do its points land?
    held_out = {}
    for name, group in HELD_OUT_GROUPS.items():
        others = tuple(index for index in ICP_LANDMARKS if index not in group)
        estimate = template.landmarks68(surface(deform(others, []))[0])
        held_out[name] = round(float(np.linalg.norm(estimate[list(group)] - ict_landmarks[list(group)],
                                                    axis=1).mean() * 10), 2)
    closest, rows, bary, distance = surface(current)
    points = closest
    lm_after = template.landmarks68(points)
    lm_aligned = template.landmarks68(aligned)
    groups = {"jaw": range(0, 17), "brows": range(17, 27), "nose": range(27, 36), "eyes": range(36, 48),
              "outer_lips": range(48, 60), "inner_lips": range(60, 68)}

    def per_group(estimate):
        error = np.linalg.norm(estimate - ict_landmarks, axis=1) * 10
        result = {name: round(float(error[list(index)].mean()), 2) for name, index in groups.items()}
        result["mean_17_67"] = round(float(error[17:].mean()), 2)
        result["max_17_67"] = round(float(error[17:].max()), 2)
        return result

    moved = np.linalg.norm(points - aligned, axis=1) * 10
    mouth = np.zeros(count, dtype=bool)
    from svfri.geometry.template import LIPS_INNER, LIPS_OUTER
    mouth[list(LIPS_INNER) + list(LIPS_OUTER)] = True
    stats = {
        "landmarks68_held_out_mm": held_out,
        "similarity_scale": scale, "similarity_rotation_deg": float(np.degrees(np.arccos(np.clip(
            (np.trace(rotation) - 1) / 2, -1, 1)))),
        "aligned_to_surface_mm": {"median": float(np.median(initial_distance) * 10),
                                  "p90": float(np.percentile(initial_distance, 90) * 10),
                                  "max": float(initial_distance.max() * 10)},
        "final_to_surface_mm": {"median": float(np.median(distance) * 10), "max": float(distance.max() * 10)},
        "moved_from_aligned_mm": {"median": float(np.median(moved)), "p90": float(np.percentile(moved, 90)),
                                  "max": float(moved.max()),
                                  "median_without_lips": float(np.median(moved[~mouth])),
                                  "p90_without_lips": float(np.percentile(moved[~mouth], 90)),
                                  "max_without_lips": float(moved[~mouth].max())},
        "icp_pairs_used_fraction": [round(v, 3) for v in used_fraction],
        "landmarks68_aligned_mm": per_group(lm_aligned), "landmarks68_final_mm": per_group(lm_after),
    }
    arrays = {"points468_faces": surface.face_ids[rows].astype(np.int32),
              "points468_barycentric": bary.astype(np.float32),
              "points468_alignment": np.concatenate([scale * rotation, translation[:, None]], axis=1)}
    return arrays, stats, points


# ---------------------------------------------------------------------------------------------- pictures
#: Overlay colours (RGB) of the masks in the UV-layout figure.
MASK_COLOURS = {"lips": (220, 40, 60), "mouth_interior": (90, 0, 30), "eyes": (40, 120, 255),
                "brows": (120, 70, 20), "nose": (255, 160, 0), "under_eye": (160, 60, 200),
                "cheeks": (255, 110, 150), "forehead": (60, 190, 90), "t_zone": (250, 230, 40),
                "beard": (60, 60, 60)}
FIGURE_SIZE = 800


def write_png(path: Path, rgb: np.ndarray, *, palette: bool = False) -> None:
    """Write an RGB uint8 picture; ``palette``: quantised to 256 colours (diagrams: ~4x smaller files)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(rgb))
    if palette:
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    image.save(path, optimize=True)


def draw_uv_masks(path: Path, uv: np.ndarray, face_uv: np.ndarray, labels: np.ndarray, masks: dict,
                  landmarks_uv: np.ndarray, points468_uv: np.ndarray | None = None) -> None:
    """The face tile: wireframe of the face part, the masks as coloured overlays (two panels: the
    exclusive regions, and t-zone / forehead / beard that overlap them), the 68 landmarks (and the 468
    Face Mesh points when given)."""
    size = FIGURE_SIZE
    panels = []
    groups = (("lips", "mouth_interior", "eyes", "brows", "nose", "under_eye", "cheeks"),
              ("forehead", "t_zone", "beard"))
    rows = labels == PART_NAMES.index("face")
    edges = _to_pixels(uv[face_uv[rows]].astype(np.float64), size)
    for group in groups:
        image = np.full((size, size, 3), 255.0)
        for name in group:
            mask = cv2.resize(masks[name], (size, size), interpolation=cv2.INTER_LINEAR)[..., None] * 0.55
            image = image * (1 - mask) + np.array(MASK_COLOURS[name], dtype=np.float64) * mask
        image = np.clip(image, 0, 255).astype(np.uint8)
        canvas = image.copy()
        cv2.polylines(canvas, list(np.round(edges * 4).astype(np.int32)), True, (150, 150, 170), 1,
                      cv2.LINE_AA, shift=2)
        image = cv2.addWeighted(image, 0.6, canvas, 0.4, 0)
        face = cv2.resize(masks["face"], (size, size))
        contour = (face > 0.5).astype(np.uint8)
        found, _ = cv2.findContours(contour, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(image, found, -1, (0, 0, 0), 1, cv2.LINE_AA)
        if points468_uv is not None:
            for point in _to_pixels(points468_uv, size):
                cv2.circle(image, tuple(int(v) for v in np.round(point)), 2, (0, 150, 0), -1, cv2.LINE_AA)
        for index, point in enumerate(_to_pixels(landmarks_uv, size)):
            centre = tuple(int(v) for v in np.round(point))
            cv2.circle(image, centre, 3, (200, 0, 0), -1, cv2.LINE_AA)
            cv2.putText(image, str(index), (centre[0] + 3, centre[1] - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (0, 0, 0), 1, cv2.LINE_AA)
        y = 24
        for name in group:
            cv2.putText(image, name, (12, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, MASK_COLOURS[name], 2, cv2.LINE_AA)
            y += 24
        panels.append(image)
    write_png(path, np.concatenate(panels, axis=1), palette=True)


def draw_points468(path: Path, neutral: np.ndarray, faces: np.ndarray, labels: np.ndarray, uv: np.ndarray,
                   face_uv: np.ndarray, points: np.ndarray, point_faces: np.ndarray, point_bary: np.ndarray,
                   template_faces: np.ndarray, aligned: np.ndarray, landmarks68: np.ndarray) -> None:
    """Left: front view (orthographic, ``-Z``) of the ICT neutral's opaque skin, the registered 468 points
    with svfri's template triangulation (green) and the similarity-aligned template before ICP (orange
    dots), ICT's 68 landmarks (red). Right: the same triangulation in the face UV tile."""
    size = FIGURE_SIZE
    rows = np.flatnonzero(labels == PART_NAMES.index("face"))
    p = neutral[faces[rows]].astype(np.float64)
    low, high = np.array([-9.5, -11.0]), np.array([9.5, 8.0])
    scale = size / (high - low).max()

    def project(xyz):
        return np.stack([(xyz[..., 0] - low[0]) * scale, (high[1] - xyz[..., 1]) * scale], axis=-1)

    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    front = normal[:, 2] > 0
    order = np.argsort(p[:, :, 2].mean(axis=1))
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    for index in order:
        if not front[index]:
            continue
        shade = int(60 + 180 * (0.3 + 0.7 * normal[index, 2]) * 0.9)
        cv2.fillPoly(image, [np.round(project(p[index]) * 4).astype(np.int32)], (shade, shade, shade),
                     cv2.LINE_AA, shift=2)
    projected = project(points)
    for face in template_faces:
        cv2.polylines(image, [np.round(projected[face] * 4).astype(np.int32)], True, (0, 150, 60), 1,
                      cv2.LINE_AA, shift=2)
    for point in project(aligned):
        cv2.circle(image, tuple(int(v) for v in np.round(point)), 2, (255, 140, 0), -1, cv2.LINE_AA)
    for point in project(neutral[landmarks68]):
        cv2.circle(image, tuple(int(v) for v in np.round(point)), 3, (220, 0, 0), -1, cv2.LINE_AA)
    points_uv = (point_bary[:, :, None] * uv[face_uv[point_faces]]).sum(axis=1)
    layout = np.full((size, size, 3), 255, dtype=np.uint8)
    wire = _to_pixels(uv[face_uv[rows]].astype(np.float64), size)
    cv2.polylines(layout, list(np.round(wire * 4).astype(np.int32)), True, (215, 215, 225), 1, cv2.LINE_AA, shift=2)
    projected_uv = _to_pixels(points_uv, size)
    for face in template_faces:
        cv2.polylines(layout, [np.round(projected_uv[face] * 4).astype(np.int32)], True, (0, 150, 60), 1,
                      cv2.LINE_AA, shift=2)
    write_png(path, np.concatenate([image, layout], axis=1), palette=True)


#: Textured preview: skin types drawn, views (yaw degrees) and flat colours of the non-skin parts (sRGB).
PREVIEW_SKIN_TYPES = (2, 4, 6)
PREVIEW_YAWS_DEG = (0.0, 35.0)
PREVIEW_PART_COLOURS = {"sclera_left": (225, 220, 215), "sclera_right": (225, 220, 215),
                        "iris_left": (90, 60, 40), "iris_right": (90, 60, 40), "back_head": (70, 55, 45)}
PREVIEW_SIZE = 400


def draw_textured_preview(path: Path, neutral: np.ndarray, faces: np.ndarray, labels: np.ndarray, uv: np.ndarray,
                          face_uv: np.ndarray, masks: dict) -> None:
    """The generator's albedo on the ICT neutral in 3-D: per-triangle colour (albedo at the triangle's UV
    centroid; triangles are ~2 mm) times a Lambert shade from the viewer, painter's algorithm, front and
    3/4 views. A check that the masks land on the anatomy, not a renderer."""
    import dataclasses

    from svfri.synth import skin_maps

    names = list(PREVIEW_PART_COLOURS) + ["face"]
    rows = np.flatnonzero(np.isin(labels, [PART_NAMES.index(name) for name in names]))
    p = neutral[faces[rows]].astype(np.float64)
    corner_uv = uv[face_uv[rows]].astype(np.float64).mean(axis=1)
    is_face = labels[rows] == PART_NAMES.index("face")
    panels = []
    for skin_type in PREVIEW_SKIN_TYPES:
        rng = np.random.default_rng(SHEET_SEED + skin_type)
        params = skin_maps.sample_params(rng, skin_type=skin_type, beard_probability=1.0)
        params = dataclasses.replace(params, beard_density=max(params.beard_density, 0.6))
        albedo = skin_maps.generate_skin_maps(masks, seed=SHEET_SEED + skin_type, size=SHEET_MAP_SIZE,
                                              params=params).albedo_srgb()
        size = albedo.shape[0]
        column = np.clip((corner_uv[:, 0] * size).astype(int), 0, size - 1)
        row = np.clip(((1.0 - corner_uv[:, 1]) * size).astype(int), 0, size - 1)
        colour = np.asarray(albedo)[row, column] * 255.0
        for name, rgb in PREVIEW_PART_COLOURS.items():
            colour[labels[rows] == PART_NAMES.index(name)] = rgb
        for yaw in PREVIEW_YAWS_DEG:
            angle = np.radians(yaw)
            rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
            q = p @ rotation.T
            normal = np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0])
            normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
            shade = 0.25 + 0.75 * np.clip(normal[:, 2], 0.0, 1.0)
            low, high = np.array([-11.0, -13.0]), np.array([11.0, 9.0])
            scale = PREVIEW_SIZE / (high - low).max()
            pixels = np.stack([(q[..., 0] - low[0]) * scale, (high[1] - q[..., 1]) * scale], axis=-1)
            image = np.full((PREVIEW_SIZE, PREVIEW_SIZE, 3), 255, dtype=np.uint8)
            for index in np.argsort(q[:, :, 2].mean(axis=1)):
                if normal[index, 2] <= 0 and is_face[index]:
                    continue
                value = tuple(int(v) for v in np.clip(colour[index] * shade[index], 0, 255))
                cv2.fillPoly(image, [np.round(pixels[index] * 4).astype(np.int32)], value, cv2.LINE_AA, shift=2)
            panels.append(image)
    grid = np.concatenate([np.concatenate(panels[i:i + len(PREVIEW_YAWS_DEG)], axis=0)
                           for i in range(0, len(panels), len(PREVIEW_YAWS_DEG))], axis=1)
    write_png(path, grid)


#: Contact sheet: one face per skin type I..VI, forced bearded on the even types so the beard mask shows.
SHEET_MAP_SIZE = 256
SHEET_SEED = 2000


def draw_skin_sheet(path: Path, masks: dict) -> list[dict]:
    """``svfri.synth.skin_maps.generate_skin_maps`` on the ICT masks, skin types I..VI: albedo row, specular
    row, normal-map row. Returns the parameters shown (type, beard density)."""
    import dataclasses

    from svfri.synth import skin_maps

    columns, shown = [], []
    for skin_type in range(1, 7):
        rng = np.random.default_rng(SHEET_SEED + skin_type)
        params = skin_maps.sample_params(rng, skin_type=skin_type, beard_probability=float(skin_type % 2 == 0))
        if skin_type % 2 == 0:
            params = dataclasses.replace(params, beard_density=max(params.beard_density, 0.6))
        sample = skin_maps.generate_skin_maps(masks, seed=SHEET_SEED + skin_type, size=SHEET_MAP_SIZE, params=params)
        albedo = np.clip(sample.albedo_srgb(), 0, 1)
        specular = np.repeat(sample.specular[..., None], 3, axis=-1)
        normal = sample.normal_map.astype(np.float32)
        if normal.max() > 1.5:
            normal = normal / 255.0
        column = np.concatenate([albedo, specular, normal], axis=0)
        columns.append(np.pad(column, ((0, 0), (2, 2), (0, 0)), constant_values=1.0))
        shown.append({"skin_type": skin_type, "beard_density": round(float(params.beard_density), 2)})
    write_png(path, np.round(np.concatenate(columns, axis=1) * 255).astype(np.uint8))
    return shown


# -------------------------------------------------------------------------------------------------- main
def build_mesh(source: dict) -> tuple[dict, dict, dict]:
    """Triangles, parts, render mesh and modes; returns (arrays for the npz, stats, intermediate arrays)."""
    faces, face_uv, polygons = triangulate(source)
    labels = part_labels(source, faces, polygons, face_uv)
    uv = source["uv"]
    tiles = part_tiles(uv, face_uv, labels)
    render_faces, render_source, render_uv = split_uv_seams(faces, face_uv, uv)
    identity16 = source["identity_modes"][:IDENTITY_MODES_KEPT].astype(np.float16)
    expression16 = source["expression_modes"].astype(np.float16)
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int32),
        "neutral": source["neutral"].astype(np.float32),
        "identity_modes": identity16,
        "expression_modes": expression16,
        "expression_names": np.asarray([str(n) for n in source["expression_names"]]),
        "faces": faces, "face_part": labels.astype(np.uint8), "face_source_polygon": polygons,
        "part_names": np.asarray(PART_NAMES), "part_materials": np.asarray([m for _, m in PARTS]),
        "part_uv_tiles": tiles,
        "render_faces": render_faces, "render_source": render_source, "render_uv": render_uv,
        "landmarks68": source["landmarks68"].astype(np.int32),
        "fitting_vertices": source["fitting_vertices"].astype(np.int32),
        "rigid_vertices": source["rigid_vertices"].astype(np.int32),
    }
    stats = {"vertices": int(len(source["neutral"])), "obj_polygons": int(len(source["faces"])),
             "triangles": int(len(faces)), "render_vertices": int(len(render_source)),
             "triangles_per_part": {name: int((labels == i).sum()) for i, name in enumerate(PART_NAMES)},
             "uv_tiles_per_part": {name: tiles[i].tolist() for i, name in enumerate(PART_NAMES)},
             "vertices_with_several_uvs": int((np.bincount(render_source) > 1).sum())}
    stats.update(orientation_stats(source["neutral"], faces, labels))
    stats.update(mode_stats(source, identity16, expression16))
    return arrays, stats, {"faces": faces, "face_uv": face_uv, "labels": labels}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="ict_facekit.npz: the ICT-FaceKit FaceXModel OBJs converted to one npz")
    parser.add_argument("--license", type=Path, default=None,
                        help="the source's MIT LICENSE file (default: LICENSE beside --source)")
    parser.add_argument("--out", type=Path, default=OUTPUT_NPZ)
    parser.add_argument("--no-pictures", dest="pictures", action="store_false",
                        help="skip the docs/images/ict_*.png figures")
    args = parser.parse_args(argv)
    source = load_source(args.source)
    arrays, stats, mesh = build_mesh(source)
    mask_extras, stats["region_masks"] = build_masks(source, mesh["faces"], mesh["face_uv"], mesh["labels"])
    masks = mask_extras["masks"]
    arrays["region_names"] = np.asarray(MASK_NAMES)
    arrays["region_masks"] = np.stack([masks[name] for name in MASK_NAMES]).astype(np.float16)
    point_arrays, stats["points468"], points = register_template(source["neutral"], mesh["faces"], mesh["labels"],
                                                                 source["landmarks68"])
    arrays.update(point_arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp.npz")
    np.savez_compressed(temporary, **arrays)
    temporary.replace(args.out)
    licence = args.license or args.source.parent / "LICENSE"
    shutil.copyfile(licence, args.out.parent / OUTPUT_LICENSE.name)
    stats["npz_bytes"] = args.out.stat().st_size
    if args.pictures:
        draw_uv_masks(PICTURE_DIR / "ict_uv_masks.png", source["uv"], mesh["face_uv"], mesh["labels"], masks,
                      mask_extras["landmarks_uv"])
        stats["skin_sheet"] = draw_skin_sheet(PICTURE_DIR / "ict_skin_maps.png", masks)
        draw_textured_preview(PICTURE_DIR / "ict_textured.png", source["neutral"], mesh["faces"], mesh["labels"],
                              source["uv"], mesh["face_uv"], masks)
        from svfri.geometry.template import load_face_template
        template = load_face_template()
        alignment = point_arrays["points468_alignment"]
        draw_points468(PICTURE_DIR / "ict_points468.png", source["neutral"], mesh["faces"], mesh["labels"],
                       source["uv"], mesh["face_uv"], points, point_arrays["points468_faces"],
                       point_arrays["points468_barycentric"], np.asarray(template.faces),
                       template.vertices @ alignment[:, :3].T + alignment[:, 3], source["landmarks68"])
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()

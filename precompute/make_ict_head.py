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
   split further by ICT's vertex ranges into the back of the head, the mouth socket and the two eye sockets.
2. **Render mesh.** The OBJ's UVs are per face corner; a vertex with several ``vt`` (UV seams) becomes several
   render vertices, one per distinct ``(vertex, vt)`` pair, each with a map back to its model vertex.
3. **Modes.** Neutral float32 (cm); the first :data:`IDENTITY_MODES_KEPT` identity modes and all 53
   expression modes float16 (cm). The truncation and float16 errors are measured and printed.
4. **Region masks** in the face UV tile (see :func:`region_masks`) and a contact sheet / UV-layout picture.
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

import numpy as np

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
)
PART_NAMES = tuple(name for name, _ in PARTS)
MATERIAL_PART = {"M_Face": "face", "M_GumsTongue": "gums_tongue", "M_Teeth": "teeth",
                 "M_ScleraLeft": "sclera_left", "M_IrisLeft": "iris_left", "M_ScleraRight": "sclera_right",
                 "M_IrisRight": "iris_right", "M_LacrimalFluid": "lacrimal", "M_EyeBlend": "eye_blend",
                 "M_EyeOcclusion": "eye_occlusion", "M_EyeLashes": "eyelashes"}

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


def part_labels(source: dict, faces: np.ndarray, source_polygon: np.ndarray) -> np.ndarray:
    """``[F]`` part index (into :data:`PART_NAMES`) of each triangle, from its material and vertex range."""
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
    """Per-corner UVs -> a per-vertex-UV render mesh: one render vertex per distinct ``(vertex, vt)`` pair.

    Returns:
      ``render_faces [F, 3]`` (same triangle order as ``faces``), ``render_source [V_r]`` (model vertex of
      each render vertex) and ``render_uv [V_r, 2]``, render vertices sorted by ``(vertex, vt)``.
    """
    pairs = np.stack([faces.ravel(), face_uv.ravel()], axis=1).astype(np.int64)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    render_faces = inverse.reshape(faces.shape).astype(np.int32)
    return render_faces, unique[:, 0].astype(np.int32), uv[unique[:, 1]].astype(np.float32)


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
    for name in ("face_and_back_head", "sclera_left", "iris_left", "sclera_right", "iris_right"):
        rows = skin if name == "face_and_back_head" else labels == PART_NAMES.index(name)
        q = p[rows] - p[rows].mean(axis=(0, 1))
        stats[f"signed_volume_{name}_cm3"] = float(np.einsum("fi,fi->f", q[:, 0], np.cross(q[:, 1], q[:, 2])).sum() / 6)
    return stats


# ------------------------------------------------------------------------------------------------- modes
def mode_stats(source: dict, identity16: np.ndarray, expression16: np.ndarray) -> dict:
    """Truncation error of the kept identity modes and float16 errors, in mm, on random coefficients.

    Identity ``~ N(0, 1)`` per mode (ICT's scale), expression ``~ U(0, 1)`` on 8 random blendshapes. The
    truncation error is measured on the face vertices (0-9408) of the full 100-mode identity.
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
        full = np.tensordot(alpha, identity, axes=1)
        held = np.tensordot(alpha[kept:], identity[kept:], axes=1)
        truncation.append(np.linalg.norm(held[face], axis=1))
        exact = np.tensordot(alpha[:kept], identity[:kept], axes=1) + np.tensordot(beta, expression, axes=1)
        stored = (np.tensordot(alpha[:kept], identity16.astype(np.float64), axes=1)
                  + np.tensordot(beta, expression16.astype(np.float64), axes=1))
        float16_error.append(np.linalg.norm(stored - exact, axis=1))
        del full
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


# -------------------------------------------------------------------------------------------------- main
def build_mesh(source: dict) -> tuple[dict, dict]:
    """Triangles, parts, render mesh and modes; returns (arrays for the npz, stats)."""
    faces, face_uv, polygons = triangulate(source)
    labels = part_labels(source, faces, polygons)
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
    return arrays, stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="ict_facekit.npz: the ICT-FaceKit FaceXModel OBJs converted to one npz")
    parser.add_argument("--license", type=Path, default=None,
                        help="the source's MIT LICENSE file (default: LICENSE beside --source)")
    parser.add_argument("--out", type=Path, default=OUTPUT_NPZ)
    args = parser.parse_args(argv)
    source = load_source(args.source)
    arrays, stats = build_mesh(source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp.npz")
    np.savez_compressed(temporary, **arrays)
    temporary.replace(args.out)
    licence = args.license or args.source.parent / "LICENSE"
    shutil.copyfile(licence, args.out.parent / OUTPUT_LICENSE.name)
    stats["npz_bytes"] = args.out.stat().st_size
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()

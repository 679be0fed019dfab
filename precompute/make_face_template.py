"""Generate ``models/face_template.npz``: svfri's canonical face layout (run ``python -m precompute.make_face_template``).

Steps (details and the numbers of the last run in ``models/face_template.md``):

1. **Canonical shape.** The sample photo's 468-point MediaPipe mesh in world space (``X = u``, ``Y = -v``,
   ``Z = depth``, centred, scaled so the outer eye corners 33-263 are
   :data:`svfri.conventions.OUTER_EYE_CORNER_DISTANCE_CM` apart), then frontalised: the symmetry plane (from a
   vertex mirror correspondence, below) is rotated onto ``X = 0``, and the pitch is set so the face-oval's
   best-fit plane faces ``+Z``. Then symmetrised: ``v_i <- (v_i + M v_{mirror(i)}) / 2`` with ``M`` the reflection
   ``X -> -X``. This "mean" is ONE symmetrised face, an approximation until a population mean is available.
2. **Mirror correspondence** ``mirror_vertex [468]``: Hungarian assignment
   (:func:`scipy.optimize.linear_sum_assignment`) between the shape and its reflection; iterated with the
   frontalisation until stable; checked to be an involution that maps the contours onto each other.
3. **Triangulation** (svfri's own, not MediaPipe's): Delaunay of the vertices in a cylindrical projection,
   contour edges (oval, eyes, lips) inserted by edge flips (constrained Delaunay, Sloan 1993), triangles
   outside the oval dropped; then re-triangulated the same way in the UV plane (step 4) until stable. The eye
   openings and the mouth's inner opening stay covered (a closed disc); their triangles are flagged.
4. **UV**: least-squares conformal map (Lévy et al., "Least squares conformal maps for automatic texture atlas
   generation", SIGGRAPH 2002), free boundary, pinned at the forehead top (10) and chin (152) on the
   vertical line ``s = 1/2``, symmetrised (``uv[mirror] = (1 - s, t)``), scaled uniformly into ``[0, 1]^2``
   with a margin.
5. **Loop subdivision**, two levels, composed into one sparse operator; UVs by linear (midpoint) subdivision.
6. **Region masks** rasterised in UV (512^2), blurred to soft edges.
7. **68 landmarks** (:mod:`svfri.geometry.ibug68`), drawn on the sample photo for checking.

Outputs: ``models/face_template.npz`` and the picture ``docs/images/uv_layout.png``; prints the numbers
recorded in ``models/face_template.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg
import scipy.spatial
from matplotlib.path import Path as PolygonPath

from svfri.conventions import OUTER_EYE_CORNER_DISTANCE_CM
from svfri.geometry import ibug68, template
from svfri.geometry.face_detect import fit_face_mesh
from svfri.geometry.subdivision import mesh_edges, subdivision_operator
from svfri.io.images import read_photo

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PHOTO = REPO / "samples" / "astronaut.png"
OUTPUT_NPZ = REPO / "models" / template.TEMPLATE_FILENAME
OUTPUT_PICTURE = REPO / "docs" / "images" / "uv_layout.png"

VERTEX_COUNT = 468
FORMAT_VERSION = 1
SUBDIVISION_LEVELS = 2
#: Gap between the UV layout's bounding box and the edge of the unit square.
UV_MARGIN = 0.03
#: Mirror-correspondence / frontalisation iterations (it converges in 2-3).
FRONTALISE_ITERATIONS = 10
#: Cylinder axis (world Z, cm) for the first triangulation's projection: behind the face, unrolls the cheeks.
CYLINDER_AXIS_Z_CM = -5.0
#: Re-triangulation passes in the UV plane.
UV_PASSES = 3
#: Vertices pinned by LSCM (forehead top, chin), and their UV before normalisation.
LSCM_PINS = (10, 152)
#: Contour loops that must be mesh edges.
CONSTRAINT_LOOPS = (template.FACE_OVAL, template.RIGHT_EYE, template.LEFT_EYE, template.LIPS_INNER,
                    template.LIPS_OUTER)

# Region masks, sizes in UV units (1 = texture width; at 512^2 one texel is ~0.002).
MASK_BLUR_SIGMA_UV = 0.004
EYE_MARGIN_UV = 0.008
BROW_MARGIN_UV = 0.008
LIPS_MARGIN_UV = 0.004
NOSE_MARGIN_UV = 0.01
UNDER_EYE_DEPTH_UV = 0.05
FOREHEAD_BROW_GAP_UV = 0.01
T_ZONE_HALF_WIDTH_UV = 0.08
BOUNDARY_BAND_UV = 0.025
#: Vertices beside the nose bridge (pairs, from between the eyes down to the nose wings) that widen the
#: nose region's convex hull: the bridge has a width, the midline contour alone gives a spike.
NOSE_SIDE_VERTICES = (193, 417, 122, 351, 196, 419, 3, 248, 51, 281)
#: Beard top edge above the upper lip and how far down the sideburn reaches (fraction of the way from the
#: outer eye corner's ``t`` down to the mouth corner's ``t``).
BEARD_SIDEBURN_FRACTION = 0.35
#: How far out from the nose wing the beard's top edge reaches the lower-cheek line.
BEARD_CHEEK_OFFSET_UV = 0.1
#: Below this fraction of the way from the lower lid to the mouth corner, cheeks become beard (lower cheeks).
CHEEK_BOTTOM_FRACTION = 0.75


# ------------------------------------------------------------------------------------------------ shape
def photo_mesh_to_world(points: np.ndarray) -> np.ndarray:
    """Photo ``(u, v, depth)`` ``[468, 3]`` -> world ``(X, Y, Z) = (u, -v, depth)``, centred, in cm."""
    world = np.stack([points[:, 0], -points[:, 1], points[:, 2]], axis=1).astype(np.float64)
    world -= world.mean(axis=0)
    return world * (OUTER_EYE_CORNER_DISTANCE_CM / np.linalg.norm(world[33] - world[263]))


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking unit vector ``a`` to unit vector ``b`` (Rodrigues)."""
    axis = np.cross(a, b)
    sin, cos = np.linalg.norm(axis), float(a @ b)
    if sin < 1e-15:
        return np.eye(3)
    k = axis / sin
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sin * cross + (1 - cos) * cross @ cross


def mirror_correspondence(vertices: np.ndarray) -> tuple[np.ndarray, float]:
    """Hungarian matching of ``vertices`` to their reflection ``X -> -X``; returns the map and mean cost (cm)."""
    reflected = vertices * np.array([-1.0, 1.0, 1.0])
    cost = scipy.spatial.distance.cdist(vertices, reflected)
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    mirror = np.empty(len(vertices), dtype=np.int64)
    mirror[rows] = cols
    return mirror, float(cost[rows, cols].mean())


def canonical_shape(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Frontalised, symmetrised shape ``[468, 3]`` (cm) and ``mirror_vertex [468]`` from a photo mesh."""
    world = photo_mesh_to_world(points)
    # Start from the eye-corner / forehead-chin frame.
    x = world[263] - world[33]
    x /= np.linalg.norm(x)
    y = world[10] - world[152]
    y -= x * (x @ y)
    y /= np.linalg.norm(y)
    world = world @ np.stack([x, y, np.cross(x, y)]).T
    mirror = None
    for _ in range(FRONTALISE_ITERATIONS):
        new_mirror, residual = mirror_correspondence(world)
        # Symmetry-plane normal: principal direction of the differences between mirror pairs.
        normal = np.linalg.svd(world - world[new_mirror])[2][0]
        normal *= np.sign(normal[0])
        world = world @ _rotation_between(normal, np.array([1.0, 0.0, 0.0])).T
        world[:, 0] -= 0.5 * (world[:, 0] + world[new_mirror, 0]).mean()
        if mirror is not None and np.array_equal(mirror, new_mirror):
            break
        mirror = new_mirror
    # Pitch: the face-oval's best-fit plane faces +Z.
    oval = world[list(template.FACE_OVAL)]
    oval_normal = np.linalg.svd(oval - oval.mean(axis=0))[2][2]
    oval_normal *= np.sign(oval_normal[2])
    oval_normal[0] = 0.0
    oval_normal /= np.linalg.norm(oval_normal)
    pitch_degrees = float(np.degrees(np.arctan2(oval_normal[1], oval_normal[2])))
    world = world @ _rotation_between(oval_normal, np.array([0.0, 0.0, 1.0])).T
    asymmetry = np.linalg.norm(world - world[mirror] * np.array([-1.0, 1.0, 1.0]), axis=1)
    symmetric = 0.5 * (world + world[mirror] * np.array([-1.0, 1.0, 1.0]))
    symmetric -= symmetric.mean(axis=0)
    symmetric *= OUTER_EYE_CORNER_DISTANCE_CM / np.linalg.norm(symmetric[33] - symmetric[263])
    stats = {"mirror_residual_mean_cm": residual, "asymmetry_mean_cm": float(asymmetry.mean() / 2),
             "asymmetry_max_cm": float(asymmetry.max() / 2), "pitch_correction_deg": pitch_degrees,
             "midline_vertices": int((mirror == np.arange(len(mirror))).sum())}
    return symmetric, mirror, stats


def check_mirror(mirror: np.ndarray) -> None:
    """Raise if ``mirror`` is not an involution mapping each contour onto its partner."""
    if not np.array_equal(mirror[mirror], np.arange(len(mirror))):
        raise RuntimeError("mirror correspondence is not an involution")
    for first, second in template.MIRRORED_CONTOURS:
        if sorted(mirror[list(first)].tolist()) != sorted(second):
            raise RuntimeError(f"mirror correspondence does not map contour {first[:3]}... onto its partner")


# -------------------------------------------------------------------------------------------- triangles
def _cross2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _segments_cross(p, q, a, b) -> bool:
    """Proper crossing of segments pq and ab (touching at an endpoint does not count)."""
    return (_cross2(q - p, a - p) * _cross2(q - p, b - p) < 0) and (_cross2(b - a, p - a) * _cross2(b - a, q - a) < 0)


def _edge_map(faces) -> dict:
    edges: dict = {}
    for f, tri in enumerate(faces):
        for k in range(3):
            a, b = int(tri[k]), int(tri[(k + 1) % 3])
            edges.setdefault((min(a, b), max(a, b)), []).append(f)
    return edges


def insert_edge(points: np.ndarray, faces: np.ndarray, a: int, b: int) -> np.ndarray:
    """Make ``(a, b)`` an edge of a planar ccw triangulation by flipping the edges that cross it (Sloan 1993)."""
    faces = [list(map(int, f)) for f in faces]
    for _ in range(100 * len(faces)):
        edges = _edge_map(faces)
        if (min(a, b), max(a, b)) in edges:
            return np.asarray(faces, dtype=np.int64)
        for edge, adjacent in edges.items():
            if len(adjacent) != 2 or a in edge or b in edge:
                continue
            if not _segments_cross(points[edge[0]], points[edge[1]], points[a], points[b]):
                continue
            f1, f2 = adjacent
            r = next(v for v in faces[f1] if v not in edge)
            s = next(v for v in faces[f2] if v not in edge)
            if not _segments_cross(points[r], points[s], points[edge[0]], points[edge[1]]):
                continue                                 # quad not convex: flip another crossing edge first
            i = faces[f1].index(r)
            after, before = faces[f1][(i + 1) % 3], faces[f1][(i + 2) % 3]
            faces[f1], faces[f2] = [r, after, s], [r, s, before]
            break
        else:
            break
    raise RuntimeError(f"could not insert constraint edge ({a}, {b})")


def constrained_triangulation(points: np.ndarray) -> tuple[np.ndarray, int]:
    """Delaunay triangulation of ``points [468, 2]`` with the contour edges inserted, clipped to the oval.

    Returns ccw faces ``[F, 3]`` and the number of constraint edges that had to be inserted by flips.
    """
    faces = scipy.spatial.Delaunay(points).simplices.astype(np.int64)
    p = points[faces]
    clockwise = _cross2(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]) < 0
    faces[clockwise] = faces[clockwise][:, ::-1]
    constraints = [(loop[i], loop[(i + 1) % len(loop)]) for loop in CONSTRAINT_LOOPS for i in range(len(loop))]
    existing = _edge_map(faces)
    missing = [(a, b) for a, b in constraints if (min(a, b), max(a, b)) not in existing]
    for a, b in missing:
        faces = insert_edge(points, faces, a, b)
    inside = PolygonPath(points[list(template.FACE_OVAL)]).contains_points(points[faces].mean(axis=1))
    return faces[inside], len(missing)


def check_disc(faces: np.ndarray, vertex_count: int) -> dict:
    """Raise unless ``faces`` is a manifold, consistently oriented disc bounded by the face oval."""
    edges, face_edges = mesh_edges(faces)
    uses = np.bincount(face_edges.ravel(), minlength=len(edges))
    if uses.max() > 2:
        raise RuntimeError("non-manifold edge")
    directed = {(int(f[k]), int(f[(k + 1) % 3])) for f in faces for k in range(3)}
    if len(directed) != 3 * len(faces):
        raise RuntimeError("inconsistent face orientation")
    euler = vertex_count - len(edges) + len(faces)
    boundary = {tuple(e) for e in edges[uses == 1].tolist()}
    oval = template.FACE_OVAL
    oval_edges = {tuple(sorted((oval[i], oval[(i + 1) % len(oval)]))) for i in range(len(oval))}
    if euler != 1 or boundary != oval_edges or len(np.unique(faces)) != vertex_count:
        raise RuntimeError(f"not a disc bounded by the oval (Euler characteristic {euler})")
    return {"faces": int(len(faces)), "edges": int(len(edges)), "euler_characteristic": int(euler)}


# -------------------------------------------------------------------------------------------------- UV
def _triangle_frames(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-face corner coordinates in an orthonormal frame of the face's plane ``[F, 3, 2]`` and areas ``[F]``."""
    p0, p1, p2 = (vertices[faces[:, k]] for k in range(3))
    e1, e2 = p1 - p0, p2 - p0
    normal = np.cross(e1, e2)
    area = 0.5 * np.linalg.norm(normal, axis=1)
    x = e1 / np.linalg.norm(e1, axis=1, keepdims=True)
    y = np.cross(normal / (2.0 * area[:, None]), x)
    local = np.zeros((len(faces), 3, 2))
    local[:, 1, 0] = np.linalg.norm(e1, axis=1)
    local[:, 2, 0] = np.einsum("ij,ij->i", e2, x)
    local[:, 2, 1] = np.einsum("ij,ij->i", e2, y)
    return local, area


def lscm(vertices: np.ndarray, faces: np.ndarray, pins: np.ndarray, pin_uv: np.ndarray) -> np.ndarray:
    """Least-squares conformal map (Lévy et al. 2002) with pinned vertices; returns ``uv [V, 2]``.

    Minimises ``sum_T A_T |grad u^perp - grad v|^2`` through the complex per-triangle rows
    ``(W_1, W_2, W_3) / sqrt(2 A_T)``, ``W_j = (x_{j+2} - x_{j+1}) + i (y_{j+2} - y_{j+1})`` in local frames.
    """
    vertex_count, face_count = len(vertices), len(faces)
    local, area = _triangle_frames(vertices, faces)
    scale = 1.0 / np.sqrt(2.0 * area)
    rows = np.tile(np.arange(face_count), 3)
    cols = faces.T.ravel()
    w = np.concatenate([(local[:, (j + 2) % 3] - local[:, (j + 1) % 3]) * scale[:, None] for j in range(3)])
    real = scipy.sparse.csr_matrix((w[:, 0], (rows, cols)), shape=(face_count, vertex_count))
    imag = scipy.sparse.csr_matrix((w[:, 1], (rows, cols)), shape=(face_count, vertex_count))
    free = np.setdiff1d(np.arange(vertex_count), pins)
    system = scipy.sparse.bmat([[real[:, free], -imag[:, free]], [imag[:, free], real[:, free]]]).tocsr()
    pinned = scipy.sparse.bmat([[real[:, pins], -imag[:, pins]], [imag[:, pins], real[:, pins]]]).tocsr()
    rhs = -pinned @ np.concatenate([pin_uv[:, 0], pin_uv[:, 1]])
    solution = scipy.sparse.linalg.spsolve((system.T @ system).tocsc(), system.T @ rhs)
    uv = np.zeros((vertex_count, 2))
    uv[pins] = pin_uv
    uv[free, 0], uv[free, 1] = solution[: len(free)], solution[len(free):]
    return uv


def symmetrise_uv(uv: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """``(uv + reflect(uv[mirror])) / 2`` with ``reflect(s, t) = (1 - s, t)``."""
    reflected = uv[mirror].copy()
    reflected[:, 0] = 1.0 - reflected[:, 0]
    return 0.5 * (uv + reflected)


def normalise_uv(uv: np.ndarray) -> np.ndarray:
    """Uniform scale + translation into ``[UV_MARGIN, 1 - UV_MARGIN]^2``, centred, keeping ``s = 1/2`` fixed."""
    low, high = uv.min(axis=0), uv.max(axis=0)
    scale = (1.0 - 2.0 * UV_MARGIN) / float((high - low).max())
    centred = (uv - 0.5 * (low + high)) * scale + 0.5
    return centred


def distortion_stats(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> dict:
    """Angle and area distortion of the map 3-D -> UV (UV rescaled to the same total area).

    Per face, ``sigma_1 >= sigma_2`` are the singular values of the Jacobian. Angle distortion
    ``sigma_1 / sigma_2`` (1 = conformal); area distortion ``|log(sigma_1 sigma_2)|`` (0 = equiareal).
    Means are area-weighted over the 3-D faces.
    """
    local, area = _triangle_frames(vertices, faces)
    q = uv[faces]
    edges_local = np.stack([local[:, 1] - local[:, 0], local[:, 2] - local[:, 0]], axis=2)
    edges_uv = np.stack([q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]], axis=2)
    uv_area = 0.5 * np.linalg.det(edges_uv)
    jacobian = edges_uv @ np.linalg.inv(edges_local) * np.sqrt(area.sum() / np.abs(uv_area).sum())
    sigma = np.linalg.svd(jacobian, compute_uv=False)
    angle = sigma[:, 0] / sigma[:, 1]
    area_log = np.abs(np.log(sigma[:, 0] * sigma[:, 1]))
    weight = area / area.sum()
    return {"angle_distortion_mean": float(angle @ weight), "angle_distortion_p95": float(np.percentile(angle, 95)),
            "angle_distortion_max": float(angle.max()), "area_log_distortion_mean": float(area_log @ weight),
            "area_log_distortion_p95": float(np.percentile(area_log, 95)),
            "area_log_distortion_max": float(area_log.max()), "flipped_uv_faces": int((uv_area <= 0).sum())}


def triangulate_and_flatten(vertices: np.ndarray, mirror: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Faces ``[F, 3]`` and symmetric, normalised ``uv [468, 2]`` (steps 3-4 of the module docstring)."""
    # First pass: cylindrical projection around a vertical axis behind the face.
    angle = np.arctan2(vertices[:, 0], vertices[:, 2] - CYLINDER_AXIS_Z_CM)
    radius = float(np.median(np.hypot(vertices[:, 0], vertices[:, 2] - CYLINDER_AXIS_Z_CM)))
    projected = np.stack([radius * angle, vertices[:, 1]], axis=1)
    faces, inserted = constrained_triangulation(projected)
    check_disc(faces, len(vertices))
    pins = np.array(LSCM_PINS)
    pin_uv = np.array([[0.5, 1.0], [0.5, 0.0]])
    uv = symmetrise_uv(lscm(vertices, faces, pins, pin_uv), mirror)
    history = []
    for _ in range(UV_PASSES):
        faces, inserted = constrained_triangulation(uv)
        check_disc(faces, len(vertices))
        new_uv = symmetrise_uv(lscm(vertices, faces, pins, pin_uv), mirror)
        history.append(float(np.abs(new_uv - uv).max()))
        uv = new_uv
    uv = normalise_uv(uv)
    stats = {"uv_pass_max_change": history, "constraint_edges_inserted_by_flips": inserted}
    return faces, uv, stats


# ------------------------------------------------------------------------------------------ subdivision
def fine_mirror(faces: np.ndarray, mirror: np.ndarray, levels: int, uv_fine: np.ndarray) -> tuple[np.ndarray, int]:
    """Mirror map of the subdivided vertices, derived level by level through the edge structure.

    An edge vertex of edge ``(a, b)`` maps to the edge vertex of ``(mirror a, mirror b)``; if that edge does not
    exist (asymmetric diagonals) the remaining vertices are matched by Hungarian assignment on mirrored UV.
    Returns the map and the number of vertices matched by the fallback.
    """
    current_faces, current_mirror = np.asarray(faces), np.asarray(mirror)
    fallback = 0
    vertex_count = len(mirror)
    for _ in range(levels):
        edges, face_edges = mesh_edges(current_faces)
        lookup = {tuple(e): i for i, e in enumerate(edges.tolist())}
        new_mirror = np.full(vertex_count + len(edges), -1, dtype=np.int64)
        new_mirror[:vertex_count] = current_mirror
        for i, (a, b) in enumerate(edges.tolist()):
            ma, mb = current_mirror[a], current_mirror[b]
            j = lookup.get((min(ma, mb), max(ma, mb)))
            if j is not None:
                new_mirror[vertex_count + i] = vertex_count + j
        _, current_faces = subdivision_operator(current_faces, vertex_count, levels=1, scheme="midpoint")
        current_mirror = new_mirror
        vertex_count = len(new_mirror)
    unmatched = np.where(current_mirror < 0)[0]
    if len(unmatched):
        fallback = len(unmatched)
        reflected = uv_fine[unmatched].copy()
        reflected[:, 0] = 1.0 - reflected[:, 0]
        cost = scipy.spatial.distance.cdist(uv_fine[unmatched], reflected)
        rows, cols = scipy.optimize.linear_sum_assignment(cost)
        current_mirror[unmatched[rows]] = unmatched[cols]
    return current_mirror, fallback


# ----------------------------------------------------------------------------------------------- masks
def _to_pixels(uv: np.ndarray, size: int) -> np.ndarray:
    """UV ``(s, t)`` -> continuous pixel coordinates ``(x, y)`` (texel centres at integers), t up."""
    return np.stack([uv[:, 0] * size - 0.5, (1.0 - uv[:, 1]) * size - 0.5], axis=1)


def _fill(polygons: list[np.ndarray], size: int) -> np.ndarray:
    """Rasterise UV polygons ``[[N, 2], ...]`` into a ``[size, size]`` bool mask (sub-texel precision)."""
    shift = 4
    canvas = np.zeros((size, size), dtype=np.uint8)
    for polygon in polygons:
        points = np.round(_to_pixels(polygon, size) * (1 << shift)).astype(np.int32)
        cv2.fillPoly(canvas, [points], 1, lineType=cv2.LINE_8, shift=shift)
    return canvas.astype(bool)


def _dilate(mask: np.ndarray, radius_uv: float) -> np.ndarray:
    """Grow a bool mask by ``radius_uv`` (Euclidean distance transform)."""
    size = mask.shape[0]
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    return distance <= radius_uv * size


def _interpolate_edge(points: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Piecewise-linear ``t(s)`` through UV points ``[N, 2]`` (sorted by s), constant beyond the ends."""
    order = np.argsort(points[:, 0])
    return np.interp(s, points[order, 0], points[order, 1])


def region_masks(uv: np.ndarray, size: int = template.MASK_RESOLUTION) -> dict[str, np.ndarray]:
    """Soft region masks ``name -> [size, size]`` float32 in ``[0, 1]`` (see ``models/face_template.md``)."""
    t_grid, s_grid = np.meshgrid(1.0 - (np.arange(size) + 0.5) / size, (np.arange(size) + 0.5) / size,
                                 indexing="ij")
    right = s_grid < 0.5                                  # subject's right half (viewer's left)

    def points(indices) -> np.ndarray:
        return uv[list(indices)]

    def mirrored_pair(builder):
        """Build a region for the subject's right side and reflect the mask (s -> 1 - s) for the left."""
        half = builder()
        return half | half[:, ::-1]

    face = _fill([points(template.FACE_OVAL)], size)
    outer_lips = _fill([points(template.LIPS_OUTER)], size)
    mouth = _fill([points(template.LIPS_INNER)], size)
    lips = outer_lips & ~mouth
    eyes_tight = _fill([points(template.RIGHT_EYE), points(template.LEFT_EYE)], size)
    eyes = _dilate(eyes_tight, EYE_MARGIN_UV)
    brow_polygons = [points(template.RIGHT_BROW_LOWER + template.RIGHT_BROW_UPPER[::-1]),
                     points(template.LEFT_BROW_LOWER + template.LEFT_BROW_UPPER[::-1])]
    brows = _dilate(_fill(brow_polygons, size), BROW_MARGIN_UV)
    nose_all = points(template.NOSE_BRIDGE + template.NOSE_ALAR + NOSE_SIDE_VERTICES)
    nose_points = nose_all[scipy.spatial.ConvexHull(nose_all).vertices]
    nose = _dilate(_fill([nose_points], size), NOSE_MARGIN_UV) & ~_dilate(outer_lips, LIPS_MARGIN_UV)

    # Forehead: above the upper brow edge (plus a gap), inside the face.
    upper_brows = points(template.RIGHT_BROW_UPPER + template.LEFT_BROW_UPPER)
    forehead = face & (t_grid > _interpolate_edge(upper_brows, s_grid) + FOREHEAD_BROW_GAP_UV) & ~brows
    # T-zone: nose, the glabella between the brows, and a central band of the forehead.
    brow_gap = abs(uv[107, 0] - 0.5) - BROW_MARGIN_UV
    glabella = face & (np.abs(s_grid - 0.5) < brow_gap) & (t_grid > uv[168, 1]) & ~forehead
    t_zone = (nose | glabella | (forehead & (np.abs(s_grid - 0.5) < T_ZONE_HALF_WIDTH_UV))) & ~brows & ~eyes

    # Under-eye: a band of depth UNDER_EYE_DEPTH_UV below each lower lid.
    under_polygons = []
    for eye, inner_corner in ((template.RIGHT_EYE, 133), (template.LEFT_EYE, 362)):
        lid = points(eye[: eye.index(inner_corner) + 1])      # the loops run outer corner -> lower lid -> inner
        under_polygons.append(np.concatenate([lid, (lid - [0.0, UNDER_EYE_DEPTH_UV])[::-1]]))
    under_eye = _fill(under_polygons, size) & ~eyes & face

    # Cheeks: below the under-eye band, beside the nose and mouth, above the lower cheek; mirrored.
    mouth_corner_t = uv[61, 1]
    lid_bottom_t = uv[145, 1] - UNDER_EYE_DEPTH_UV
    cheek_bottom_t = lid_bottom_t + CHEEK_BOTTOM_FRACTION * (mouth_corner_t - lid_bottom_t)

    def right_cheek() -> np.ndarray:
        # inner edge: the line from the nose's outer wing (64) down to the mouth corner (61), extended
        wing, corner = uv[64], uv[61]
        slope = (corner[0] - wing[0]) / (corner[1] - wing[1])
        inner_s = wing[0] + slope * (t_grid - wing[1])
        return right & face & (t_grid < lid_bottom_t) & (t_grid > cheek_bottom_t) & (s_grid < inner_s)

    cheeks = mirrored_pair(right_cheek) & ~under_eye & ~eyes & ~nose & ~_dilate(outer_lips, LIPS_MARGIN_UV)

    # Beard: below a line across the upper lip (the subnasale 2), through the nose wing (64), to the
    # sideburns part-way down between the outer eye corner and the mouth corner at the face rim.
    def right_beard_top() -> np.ndarray:
        sideburn_t = uv[33, 1] + BEARD_SIDEBURN_FRACTION * (mouth_corner_t - uv[33, 1])
        rim_s = float(uv[list(template.FACE_OVAL), 0].min())
        profile = np.array([[rim_s, sideburn_t], [uv[64, 0] - BEARD_CHEEK_OFFSET_UV, cheek_bottom_t],
                            [uv[64, 0], uv[2, 1]],
                            [0.5, uv[2, 1]]])
        return right & (t_grid < _interpolate_edge(profile, s_grid))

    beard = face & mirrored_pair(right_beard_top) & ~_dilate(outer_lips, LIPS_MARGIN_UV) & ~nose

    distance_to_rim = cv2.distanceTransform(face.astype(np.uint8), cv2.DIST_L2, 5) / size
    face_boundary = face & (distance_to_rim < BOUNDARY_BAND_UV)

    binary = {"face": face, "lips": lips, "mouth_interior": mouth, "eyes": eyes & face, "brows": brows & face,
              "nose": nose & face, "t_zone": t_zone & face, "forehead": forehead, "cheeks": cheeks,
              "under_eye": under_eye, "beard": beard, "face_boundary": face_boundary}
    sigma = MASK_BLUR_SIGMA_UV * size
    return {name: np.clip(cv2.GaussianBlur(binary[name].astype(np.float32), (0, 0), sigma), 0.0, 1.0)
            for name in template.REGION_NAMES}


# --------------------------------------------------------------------------------------------- picture
def draw_layout(path: Path, uv: np.ndarray, faces: np.ndarray, masks: dict, landmarks_uv: np.ndarray,
                photo: np.ndarray, photo_points: np.ndarray, landmarks_photo: np.ndarray) -> None:
    """UV wireframe + region masks + 68 points, next to the 68 points drawn on the sample photo."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"lips": (0.9, 0.1, 0.2), "mouth_interior": (0.3, 0.0, 0.0), "eyes": (0.1, 0.4, 1.0),
               "brows": (0.45, 0.25, 0.05), "nose": (1.0, 0.6, 0.0), "forehead": (0.2, 0.8, 0.3),
               "cheeks": (1.0, 0.4, 0.7), "under_eye": (0.6, 0.2, 0.9), "beard": (0.3, 0.3, 0.3)}
    figure, axes = plt.subplots(2, 3, figsize=(18, 12))
    size = masks["face"].shape[0]
    extent = (0, 1, 0, 1)
    overlay = np.ones((size, size, 3)) * (1.0 - 0.15 * masks["face"][..., None])
    for name, colour in colours.items():
        alpha = 0.55 * masks[name][..., None]
        overlay = overlay * (1 - alpha) + alpha * np.array(colour)
    ax = axes[0, 0]
    ax.imshow(overlay, extent=extent)
    ax.triplot(uv[:, 0], uv[:, 1], faces, lw=0.2, color="k")
    ax.scatter(landmarks_uv[:, 0], landmarks_uv[:, 1], s=8, c="yellow", edgecolors="k", linewidths=0.4, zorder=3)
    for i, (s, t) in enumerate(landmarks_uv):
        ax.text(s, t + 0.008, str(i), fontsize=5, ha="center", zorder=4)
    ax.set_title("UV layout: triangles, regions, iBUG-68 (s right, t up)")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()], labels=list(colours),
              fontsize=6, loc="lower right")
    for ax, names in ((axes[0, 1], ("t_zone", "face_boundary")), (axes[0, 2], ("face",))):
        picture = np.stack([masks[names[0]], masks[names[-1]] if len(names) > 1 else masks[names[0]],
                            masks["face"] * 0.3], axis=-1)
        ax.imshow(picture, extent=extent)
        ax.set_title(" (red) / ".join(names) + (" (green)" if len(names) > 1 else ""))
    ax = axes[1, 0]
    ax.imshow(photo)
    ax.triplot(photo_points[:, 0], photo_points[:, 1], faces, lw=0.15, color="c")
    ax.scatter(landmarks_photo[:, 0], landmarks_photo[:, 1], s=6, c="yellow", edgecolors="k", linewidths=0.3)
    low, high = photo_points[:, :2].min(axis=0), photo_points[:, :2].max(axis=0)
    pad = 0.08 * (high - low)
    ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
    ax.set_ylim(high[1] + pad[1], low[1] - pad[1])
    ax.set_title("svfri triangles and iBUG-68 on the sample photo")
    ax = axes[1, 1]
    ax.imshow(photo)
    ax.scatter(landmarks_photo[:, 0], landmarks_photo[:, 1], s=10, c="yellow", edgecolors="k", linewidths=0.3)
    for i, (u, v) in enumerate(landmarks_photo):
        ax.text(u + 0.6, v - 0.6, str(i), fontsize=5, color="w")
    ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
    ax.set_ylim(high[1] + pad[1], low[1] - pad[1])
    ax.set_title("iBUG-68 numbering (0 = subject's right ear = viewer's left)")
    axes[1, 2].axis("off")
    for name_index, name in enumerate(template.REGION_NAMES):
        inset = axes[1, 2].inset_axes([(name_index % 4) * 0.25, 0.66 - (name_index // 4) * 0.33, 0.24, 0.3])
        inset.imshow(masks[name], cmap="gray", vmin=0, vmax=1, extent=extent)
        inset.set_title(name, fontsize=7)
        inset.set_xticks([])
        inset.set_yticks([])
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ------------------------------------------------------------------------------------------------ main
def build(photo_path: Path = SAMPLE_PHOTO, connections_file: Path | None = None) -> tuple[dict, dict, dict]:
    """Run every step; returns (npz arrays, statistics, extras for the picture)."""
    photo = read_photo(photo_path).pixels
    mesh = fit_face_mesh(photo)
    photo_points = mesh.points
    vertices, mirror, shape_stats = canonical_shape(photo_points)
    check_mirror(mirror)
    faces, uv, uv_stats = triangulate_and_flatten(vertices, mirror)
    disc_stats = check_disc(faces, VERTEX_COUNT)
    normals = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    face_set = {tuple(sorted(f)) for f in faces.tolist()}
    mirrored_faces = sum(tuple(sorted(mirror[f].tolist())) in face_set for f in faces)
    centroids_uv = uv[faces].mean(axis=1)
    eye_opening = (PolygonPath(uv[list(template.RIGHT_EYE)]).contains_points(centroids_uv)
                   | PolygonPath(uv[list(template.LEFT_EYE)]).contains_points(centroids_uv))
    mouth_opening = PolygonPath(uv[list(template.LIPS_INNER)]).contains_points(centroids_uv)

    operator, faces_sub = subdivision_operator(faces, VERTEX_COUNT, levels=SUBDIVISION_LEVELS, scheme="loop")
    uv_operator, _ = subdivision_operator(faces, VERTEX_COUNT, levels=SUBDIVISION_LEVELS, scheme="midpoint")
    uv_sub = uv_operator @ uv
    mirror_sub, mirror_fallback = fine_mirror(faces, mirror, SUBDIVISION_LEVELS, uv_sub)
    if not np.array_equal(mirror_sub[mirror_sub], np.arange(len(mirror_sub))):
        raise RuntimeError("fine mirror correspondence is not an involution")

    masks = region_masks(uv)
    indices68, weights68 = ibug68.ibug68_definition(vertices, template.FACE_OVAL)

    def landmarks(values: np.ndarray) -> np.ndarray:
        return np.einsum("lk,lkd->ld", weights68, values[indices68])

    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "vertices": vertices.astype(np.float64), "faces": faces.astype(np.int32), "uv": uv.astype(np.float64),
        "mirror_vertex": mirror.astype(np.int32),
        "eye_opening_faces": eye_opening, "mouth_opening_faces": mouth_opening,
        "subdivision_data": operator.data.astype(np.float64), "subdivision_indices": operator.indices.astype(np.int32),
        "subdivision_indptr": operator.indptr.astype(np.int32), "subdivision_shape": np.array(operator.shape),
        "faces_sub": faces_sub.astype(np.int32), "uv_sub": uv_sub.astype(np.float64),
        "mirror_vertex_sub": mirror_sub.astype(np.int32),
        "region_names": np.array(template.REGION_NAMES),
        "region_masks": np.stack([masks[name] for name in template.REGION_NAMES]).astype(np.float16),
        "ibug68_vertices": indices68.astype(np.int32), "ibug68_weights": weights68,
    }
    mask_stats = {name: {"area_fraction": float(masks[name].mean()),
                         "centroid_st": [float((masks[name] * _s_grid(masks[name].shape[0])).sum() / masks[name].sum()),
                                         float((masks[name] * _t_grid(masks[name].shape[0])).sum() / masks[name].sum())]}
                  for name in template.REGION_NAMES}
    stats = {"shape": shape_stats, "mesh": {**disc_stats, "faces_with_mirror_face": int(mirrored_faces),
                                            "faces_normal_z_negative": int((normals[:, 2] < 0).sum()),
                                            "eye_opening_faces": int(eye_opening.sum()),
                                            "mouth_opening_faces": int(mouth_opening.sum()),
                                            **tessellation_overlap(faces, connections_file)},
             "uv": {**uv_stats, **distortion_stats(vertices, faces, uv),
                    "uv_min": uv.min(axis=0).tolist(), "uv_max": uv.max(axis=0).tolist()},
             "subdivision": {"vertices_sub": int(operator.shape[0]), "faces_sub": int(len(faces_sub)),
                             "nnz": int(operator.nnz), "mirror_fallback_vertices": int(mirror_fallback)},
             "masks": mask_stats, "photo_presence": float(mesh.presence)}
    extras = {"photo": photo, "photo_points": photo_points, "landmarks_uv": landmarks(uv),
              "landmarks_photo": landmarks(photo_points[:, :2]), "masks": masks}
    return arrays, stats, extras


def _s_grid(size: int) -> np.ndarray:
    return np.broadcast_to((np.arange(size) + 0.5) / size, (size, size))


def _t_grid(size: int) -> np.ndarray:
    return np.broadcast_to((1.0 - (np.arange(size) + 0.5) / size)[:, None], (size, size))


def tessellation_overlap(faces: np.ndarray, connections_file: Path | None) -> dict:
    """How many of svfri's edges MediaPipe's ``FACEMESH_TESSELATION`` also has (a comparison, not an input).

    ``connections_file`` is a copy of MediaPipe's ``face_mesh_connections.py``; only the literal edge list is
    read (``ast.literal_eval``), nothing is executed.
    """
    if connections_file is None or not connections_file.exists():
        return {}
    import ast
    for node in ast.parse(connections_file.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FACEMESH_TESSELATION":
            theirs = {tuple(sorted(e)) for e in ast.literal_eval(node.value.args[0])}
            break
    else:
        return {}
    ours = {tuple(e) for e in mesh_edges(faces)[0].tolist()}
    return {"edges_shared_with_mediapipe_tessellation": len(ours & theirs), "edges": len(ours),
            "mediapipe_tessellation_edges": len(theirs)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SAMPLE_PHOTO)
    parser.add_argument("--out", type=Path, default=OUTPUT_NPZ)
    parser.add_argument("--picture", type=Path, default=OUTPUT_PICTURE)
    parser.add_argument("--mediapipe-connections", type=Path, default=None,
                        help="optional copy of MediaPipe's face_mesh_connections.py, to report edge overlap")
    args = parser.parse_args(argv)
    arrays, stats, extras = build(args.photo, args.mediapipe_connections)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp.npz")
    np.savez_compressed(temporary, **arrays)
    temporary.replace(args.out)
    draw_layout(args.picture, arrays["uv"], arrays["faces"], extras["masks"], extras["landmarks_uv"],
                extras["photo"], extras["photo_points"], extras["landmarks_photo"])
    stats["npz_bytes"] = args.out.stat().st_size
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()

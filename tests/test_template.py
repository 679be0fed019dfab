"""The canonical face template in models/face_template.npz: topology, UV, mirror map, masks, 68 points, loader."""

import numpy as np
import pytest

from svfri.errors import ModelError
from svfri.geometry import template as template_module
from svfri.geometry.ibug68 import IBUG68_MIRROR
from svfri.geometry.subdivision import mesh_edges
from svfri.geometry.template import (FACE_OVAL, LEFT_EYE, MASK_RESOLUTION, MIRRORED_CONTOURS,
                                     REGION_NAMES, RIGHT_EYE, load_face_template)


@pytest.fixture(scope="module")
def tpl():
    return load_face_template()


def _signed_areas(uv, faces):
    p = uv[faces]
    return (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0])


def _boundary_loops(faces):
    edges, face_edges = mesh_edges(faces)
    rim = edges[np.bincount(face_edges.ravel(), minlength=len(edges)) == 1]
    adjacency = {}
    for a, b in rim.tolist():
        adjacency.setdefault(a, []).append(b)
        adjacency.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in adjacency:
        if start in seen:
            continue
        loop, previous, current = [start], None, start
        seen.add(start)
        while True:
            following = [v for v in adjacency[current] if v != previous]
            nxt = following[0]
            if nxt == start:
                break
            loop.append(nxt)
            seen.add(nxt)
            previous, current = current, nxt
        loops.append(loop)
    return loops, adjacency


@pytest.mark.parametrize("level", ["coarse", "fine"])
def test_manifold_disc(tpl, level):
    faces = tpl.faces if level == "coarse" else tpl.faces_sub
    vertex_count = tpl.vertex_count if level == "coarse" else tpl.subdivided_vertex_count
    edges, face_edges = mesh_edges(faces)
    uses = np.bincount(face_edges.ravel(), minlength=len(edges))
    assert uses.max() <= 2
    assert vertex_count - len(edges) + len(faces) == 1                     # Euler characteristic of a disc
    assert len(np.unique(faces)) == vertex_count
    loops, adjacency = _boundary_loops(faces)
    assert len(loops) == 1 and all(len(n) == 2 for n in adjacency.values())
    directed = {(int(f[k]), int(f[(k + 1) % 3])) for f in faces for k in range(3)}
    assert len(directed) == 3 * len(faces)                                 # consistent orientation


def test_boundary_is_face_oval_and_counts(tpl):
    loops, _ = _boundary_loops(tpl.faces)
    assert sorted(loops[0]) == sorted(FACE_OVAL)
    assert tpl.vertices.shape == (468, 3) and tpl.faces.shape == (898, 3)
    assert tpl.subdivided_vertex_count == 7257 and tpl.faces_sub.shape == (898 * 16, 3)


def test_front_faces_point_to_camera(tpl):
    v = tpl.vertices
    normals = np.cross(v[tpl.faces[:, 1]] - v[tpl.faces[:, 0]], v[tpl.faces[:, 2]] - v[tpl.faces[:, 0]])
    areas = np.linalg.norm(normals, axis=1)
    assert (normals[:, 2] > 0).mean() > 0.95                               # +Z-ish on the frontal face
    assert normals[:, 2].sum() / areas.sum() > 0.5                       # a hemisphere gives 0.5


def test_world_units_and_symmetry(tpl):
    v = tpl.vertices
    assert np.linalg.norm(v[33] - v[263]) == pytest.approx(9.0)
    assert v[263, 0] > 0 > v[33, 0]                                        # subject's left eye at +X
    assert v[10, 1] > v[1, 1] > v[152, 1]                                  # forehead up, chin down
    assert v[1, 2] > v[33, 2]                                              # nose tip nearer the camera
    np.testing.assert_allclose(v[tpl.mirror_vertex] * [-1, 1, 1], v, atol=1e-9)


@pytest.mark.parametrize("level", ["coarse", "fine"])
def test_uv_in_unit_square_without_flips(tpl, level):
    uv, faces = (tpl.uv, tpl.faces) if level == "coarse" else (tpl.uv_sub, tpl.faces_sub)
    assert uv.min() >= 0.0 and uv.max() <= 1.0
    areas = _signed_areas(uv, faces)
    assert np.all(areas > 0)                                               # ccw in UV, as in 3-D from the front


def test_uv_orientation_and_mirror(tpl):
    uv = tpl.uv
    assert uv[263, 0] > 0.5 > uv[33, 0]                                    # not mirrored: +X -> +s
    assert uv[10, 1] > uv[1, 1] > uv[152, 1]                               # upright: forehead at high t
    mirrored = uv[tpl.mirror_vertex] * [-1, 1] + [1, 0]
    np.testing.assert_allclose(mirrored, uv, atol=1e-9)
    mirrored_sub = tpl.uv_sub[tpl.mirror_vertex_sub] * [-1, 1] + [1, 0]
    np.testing.assert_allclose(mirrored_sub, tpl.uv_sub, atol=1e-9)


@pytest.mark.parametrize("level", ["coarse", "fine"])
def test_mirror_is_involution(tpl, level):
    mirror = tpl.mirror_vertex if level == "coarse" else tpl.mirror_vertex_sub
    np.testing.assert_array_equal(mirror[mirror], np.arange(len(mirror)))


def test_mirror_respects_contours(tpl):
    for first, second in MIRRORED_CONTOURS:
        assert sorted(tpl.mirror_vertex[list(first)].tolist()) == sorted(second)
    midline = np.where(tpl.mirror_vertex == np.arange(468))[0]
    assert {10, 1, 13, 14, 152}.issubset(set(midline.tolist()))
    np.testing.assert_allclose(tpl.vertices[midline, 0], 0.0, atol=1e-9)


def test_subdivision_operator(tpl):
    assert tpl.subdivision.shape == (7257, 468)
    np.testing.assert_allclose(np.asarray(tpl.subdivision.sum(axis=1)).ravel(), 1.0, atol=1e-12)
    fine = tpl.subdivide(tpl.vertices)
    shifted = tpl.subdivide(tpl.vertices + [1.0, -2.0, 3.0])
    np.testing.assert_allclose(shifted - fine, np.tile([1.0, -2.0, 3.0], (7257, 1)), atol=1e-9)
    # the subdivided template stays mirror-symmetric through mirror_vertex_sub
    np.testing.assert_allclose(fine[tpl.mirror_vertex_sub] * [-1, 1, 1], fine, atol=1e-9)
    with pytest.raises(ValueError):
        tpl.subdivide(np.zeros((10, 3)))


def _mask_at(mask, uv):
    n = mask.shape[0]
    col = np.clip((uv[:, 0] * n).astype(int), 0, n - 1)
    row = np.clip(((1.0 - uv[:, 1]) * n).astype(int), 0, n - 1)
    return mask[row, col]


def _centroid(mask):
    n = mask.shape[0]
    t, s = np.meshgrid(1.0 - (np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
    return np.array([(mask * s).sum(), (mask * t).sum()]) / mask.sum()


def test_masks_shape_range_and_placement(tpl):
    masks = tpl.region_masks
    assert set(masks) == set(REGION_NAMES)
    for name, mask in masks.items():
        assert mask.shape == (MASK_RESOLUTION, MASK_RESOLUTION) and mask.dtype == np.float32, name
        assert mask.min() >= 0.0 and mask.max() <= 1.0 and mask.max() > 0.99, name
        assert 0.0 < mask.mean() < 0.6, name
        assert mask[0, 0] == 0.0, name                                     # the corner is outside the face
    lips, nose, eyes, brows = (_centroid(masks[n]) for n in ("lips", "nose", "eyes", "brows"))
    forehead, beard = _centroid(masks["forehead"]), _centroid(masks["beard"])
    assert lips[1] < nose[1] < eyes[1] < brows[1] < forehead[1]
    assert beard[1] < nose[1]
    # eyes: two blobs, one each side of s = 1/2, containing the eye contours
    binary = masks["eyes"] > 0.5
    assert binary[:, : MASK_RESOLUTION // 2].sum() > 0 and binary[:, MASK_RESOLUTION // 2:].sum() > 0
    assert not binary[:, MASK_RESOLUTION // 2].any()
    assert np.all(_mask_at(masks["eyes"], tpl.uv[list(RIGHT_EYE + LEFT_EYE)]) > 0.4)
    # the mouth opening is mouth_interior, not lips; the oval is on the rim band
    assert _mask_at(masks["mouth_interior"], tpl.uv[[13, 14]].mean(axis=0, keepdims=True))[0] > 0.9
    assert _mask_at(masks["lips"], tpl.uv[[13, 14]].mean(axis=0, keepdims=True))[0] < 0.1
    assert np.all(_mask_at(masks["face_boundary"], tpl.uv[list(FACE_OVAL)]) > 0.3)
    assert _mask_at(masks["face_boundary"], tpl.uv[[1]])[0] == 0.0
    # masks are mirror-symmetric (s -> 1 - s) up to texel rounding
    for name, mask in masks.items():
        assert np.abs(mask - mask[:, ::-1]).mean() < 2e-3, name


def test_opening_faces_are_inside_eye_and_mouth_contours(tpl):
    assert tpl.eye_opening_faces.sum() > 0 and tpl.mouth_opening_faces.sum() > 0
    eye_vertices = set(RIGHT_EYE + LEFT_EYE)
    assert all(set(f.tolist()) <= eye_vertices for f in tpl.faces[tpl.eye_opening_faces])
    # (MediaPipe has vertices inside the inner lip contour, 42 and 272, so mouth faces are not contour-only)
    assert {42, 272} <= set(tpl.faces[tpl.mouth_opening_faces].ravel().tolist())
    centres = tpl.uv[tpl.faces].mean(axis=1)
    eye_mask, mouth_mask = (_mask_at(tpl.region_masks[n], centres) for n in ("eyes", "mouth_interior"))
    assert np.all(eye_mask[tpl.eye_opening_faces] > 0.5)
    assert np.all(mouth_mask[tpl.mouth_opening_faces] > 0.5)
    assert np.all(mouth_mask[~tpl.mouth_opening_faces & ~tpl.eye_opening_faces] < 0.9)


def test_landmarks68_ordering(tpl):
    points = tpl.landmarks68(tpl.vertices)
    assert points.shape == (68, 3)
    np.testing.assert_allclose(tpl.ibug68_weights.sum(axis=1), 1.0)
    x, y = points[:, 0], points[:, 1]
    assert x[0] < 0 < x[16]                                  # 0 = subject's right ear = viewer's left = -X
    assert np.all(np.diff(x[:9]) > 0) and np.all(np.diff(x[8:17]) > 0)
    assert y[8] == pytest.approx(tpl.vertices[152, 1]) and y[8] < y[[0, 16]].min()
    assert x[17] < x[21] < 0 < x[22] < x[26]                 # brows
    assert np.all(np.diff(y[27:31]) < 0)                     # bridge runs down to the tip
    assert x[31] < x[33] < x[35] and x[36] < x[39] < x[42] < x[45]   # nose base, eye corners
    assert y[[37, 38]].min() > y[[40, 41]].max()             # upper lid above lower lid
    assert x[48] < x[51] < x[54] and y[51] > y[62] > y[66] > y[57]   # lips
    assert min(y[17:27]) > max(y[36:48]) > min(y[36:48]) > y[30] > y[51]
    # exactly mirror-symmetric in the 300-W flip order
    np.testing.assert_allclose(points[IBUG68_MIRROR] * [-1, 1, 1], points, atol=1e-9)


def test_landmarks68_follow_the_mesh(tpl):
    rng = np.random.default_rng(0)
    moved = tpl.vertices + rng.normal(size=(468, 3))
    points = tpl.landmarks68(moved)
    np.testing.assert_allclose(points[36], moved[33])
    np.testing.assert_allclose(points[27], 0.5 * (moved[168] + moved[6]))
    np.testing.assert_allclose(tpl.landmarks68(moved[:, :2]), points[:, :2])


def test_arrays_are_read_only(tpl):
    with pytest.raises(ValueError):
        tpl.vertices[0, 0] = 1.0


def test_missing_and_corrupt_files_raise_model_error(tmp_path, monkeypatch):
    missing = tmp_path / "face_template.npz"
    monkeypatch.setattr(template_module, "template_path", lambda: missing)
    load_face_template.cache_clear()
    try:
        with pytest.raises(ModelError, match="make_face_template"):
            load_face_template()
        missing.write_bytes(b"not a zip file")
        load_face_template.cache_clear()
        with pytest.raises(ModelError, match="corrupt"):
            load_face_template()
        np.savez(missing, vertices=np.zeros((468, 3)))
        load_face_template.cache_clear()
        with pytest.raises(ModelError):
            load_face_template()
    finally:
        load_face_template.cache_clear()

"""The ICT-FaceKit head in models/ict_head.npz: loader, mode arithmetic, triangles, render mesh, masks, 468 points.

Everything here reads the shipped ``models/ict_head.npz`` only (not the ICT source data).
"""

import numpy as np
import pytest

from svfri.errors import ModelError
from svfri.geometry import ict_head as ict_module
from svfri.geometry.ict_head import (EXPRESSION_COUNT, MASK_RESOLUTION, OPAQUE_PARTS, PART_NAMES, REGION_NAMES,
                                     VERTEX_COUNT, load_ict_head)
from svfri.geometry.template import LEFT_EYE, LIPS_INNER, LIPS_OUTER, NOSE_BRIDGE, RIGHT_EYE, load_face_template
from svfri.synth.skin_maps import REGION_NAMES as GENERATOR_REGION_NAMES

#: float16 keeps 11 significant bits: rounding changes an entry by at most 2^-11 of its magnitude.
FLOAT16_RELATIVE_ROUNDING = 2.0 ** -11


@pytest.fixture(scope="module")
def head():
    return load_ict_head()


@pytest.fixture(scope="module")
def raw():
    with np.load(ict_module.ict_head_path(), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _cross(vertices, faces):
    p = np.asarray(vertices, dtype=np.float64)[faces]
    return np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])


# --------------------------------------------------------------------------------------------- loader
def test_loader_shapes_and_dtypes(head):
    k = head.identity_count
    assert 1 <= k <= 100
    assert head.neutral.shape == (VERTEX_COUNT, 3) and head.neutral.dtype == np.float32
    assert head.identity_modes.shape == (k, VERTEX_COUNT, 3) and head.identity_modes.dtype == np.float32
    assert head.expression_modes.shape == (EXPRESSION_COUNT, VERTEX_COUNT, 3)
    assert len(head.expression_names) == EXPRESSION_COUNT and "jawOpen" in head.expression_names
    assert head.faces.dtype == np.int32 and head.faces.shape[1] == 3 and head.render_faces.shape == head.faces.shape
    assert head.face_part.shape == (head.faces.shape[0],) and head.part_names == PART_NAMES
    assert head.render_uv.shape == (head.render_vertex_count, 2) and head.render_uv.dtype == np.float32
    assert head.landmark68_vertices.shape == (68,)
    assert head.points468_faces.shape == (468,) and head.points468_barycentric.shape == (468, 3)
    assert set(head.region_masks) == set(REGION_NAMES) == set(GENERATOR_REGION_NAMES)
    for array in (head.neutral, head.identity_modes, head.faces, head.render_uv, head.region_masks["lips"]):
        assert not array.flags.writeable
    assert load_ict_head() is head


def test_every_part_has_triangles_in_its_tiles(head):
    for index, name in enumerate(PART_NAMES):
        faces = head.part_faces(name)
        assert len(faces) > 0, name
        first, last = head.part_uv_tiles[index]
        u = head.render_uv[faces.ravel(), 0]
        assert u.min() >= first and u.max() <= last + 1, name
    assert head.part_uv_tiles[PART_NAMES.index("face")].tolist() == [0, 0]
    assert head.part_uv_tiles[PART_NAMES.index("back_head")].tolist() == [1, 1]
    # Opaque parts: everything except the four transparent/alpha layers.
    assert len(head.part_faces()) == head.part_mask(OPAQUE_PARTS).sum() < len(head.faces)
    with pytest.raises(ValueError, match="unknown part"):
        head.part_faces("hair")
    # A compact mesh of some parts uses each of its render vertices.
    ids, faces = head.part_mesh(("teeth", "gums_tongue"))
    assert faces.max() == len(ids) - 1 and len(np.unique(faces)) == len(ids)
    np.testing.assert_array_equal(ids[faces], head.part_faces(("teeth", "gums_tongue")))
    local = head.part_uv("teeth")[head.part_mesh("teeth")[0]]
    assert local[:, 0].min() >= 0.0 and local[:, 0].max() <= 1.0


# ------------------------------------------------------------------------------------------ the modes
def test_shape_matches_the_raw_formula_on_a_few_vertices(head, raw):
    rng = np.random.default_rng(3)
    identity = rng.standard_normal(head.identity_count)
    expression = rng.uniform(0.0, 1.0, EXPRESSION_COUNT)
    vertices = head.shape(identity, expression)
    for vertex in (0, 4275, 9409, 17039, 21451, 26718):     # nose tip region, head, teeth, eyeball, lashes
        expected = raw["neutral"][vertex].astype(np.float64).copy()
        for k in range(head.identity_count):
            expected += identity[k] * raw["identity_modes"][k, vertex].astype(np.float64)
        for j in range(EXPRESSION_COUNT):
            expected += expression[j] * raw["expression_modes"][j, vertex].astype(np.float64)
        np.testing.assert_allclose(vertices[vertex], expected, atol=1e-5)
    # Fewer identity weights = the trailing ones at zero; no weights = the neutral.
    padded = np.r_[identity[:5], np.zeros(head.identity_count - 5)]
    np.testing.assert_allclose(head.shape(identity[:5]), head.shape(padded))
    np.testing.assert_array_equal(head.shape(), head.neutral.astype(np.float64))
    with pytest.raises(ValueError):
        head.shape(np.zeros(head.identity_count + 1))
    with pytest.raises(ValueError):
        head.shape(expression=np.zeros(EXPRESSION_COUNT - 1))


def test_jaw_open_moves_the_chin_down(head):
    chin = head.landmark68_vertices[8]
    expression = np.zeros(EXPRESSION_COUNT)
    expression[head.expression_names.index("jawOpen")] = 1.0
    assert head.shape(expression=expression)[chin, 1] < head.neutral[chin, 1] - 1.0     # more than 1 cm


def test_float16_storage_error_bound(head, raw):
    # The modes are stored float16 and held float32 without further loss; the neutral is stored float32.
    assert raw["identity_modes"].dtype == np.float16 and raw["expression_modes"].dtype == np.float16
    assert raw["neutral"].dtype == np.float32
    np.testing.assert_array_equal(head.identity_modes, raw["identity_modes"].astype(np.float32))
    # Worst case over weights |identity| <= 3, expression in [0, 1]: the rounding of every entry adding up.
    bound = FLOAT16_RELATIVE_ROUNDING * (3.0 * np.abs(head.identity_modes).sum(axis=0)
                                         + np.abs(head.expression_modes).sum(axis=0))
    assert bound.max() * 10.0 < 0.15        # mm (0.11 now); measured on random faces: 0.016 mm at most


# ------------------------------------------------------------------------------------------- triangles
def test_triangulation_keeps_the_quads_area_and_orientation(head, raw):
    # The two triangles of a quad must not fold onto each other: their vector areas add up (a quad split
    # with inconsistent corners would cancel).
    polygon = raw["face_source_polygon"]
    cross = _cross(head.neutral, head.faces)
    area = 0.5 * np.linalg.norm(cross, axis=1)
    counts = np.bincount(polygon)
    assert set(np.unique(counts)) == {1, 2}
    vector_area = np.zeros((counts.size, 3))
    np.add.at(vector_area, polygon, 0.5 * cross)
    scalar_area = np.bincount(polygon, weights=area)
    quads = counts == 2
    ratio = np.linalg.norm(vector_area[quads], axis=1) / scalar_area[quads]
    assert ratio.min() > 0.5 and np.percentile(ratio, 1) > 0.95     # a few curved quads (nostrils, teeth)
    assert np.linalg.norm(vector_area[quads], axis=1).sum() / scalar_area[quads].sum() > 0.995
    # A quad's triangles share exactly one edge (two vertices) and cover its four corners.
    pairs = np.flatnonzero(quads)
    first = np.searchsorted(polygon, pairs)
    both = np.concatenate([head.faces[first], head.faces[first + 1]], axis=1)
    assert all(len(set(row)) == 4 for row in both[::97])


def test_winding_is_consistent_and_outward(head):
    face_faces = head.part_faces("face", render=False)
    # Consistent orientation: no directed edge is used twice.
    directed = np.concatenate([face_faces[:, [0, 1]], face_faces[:, [1, 2]], face_faces[:, [2, 0]]])
    assert len(np.unique(directed, axis=0)) == len(directed)
    # Outward: area-weighted, the face's normals point away from the head centre.
    skin = head.neutral[np.unique(head.part_faces(("face", "back_head"), render=False))]
    centre = 0.5 * (skin.min(axis=0) + skin.max(axis=0))
    cross = _cross(head.neutral, face_faces)
    away = (cross * (head.neutral[face_faces].mean(axis=1) - centre)).sum(axis=1) > 0
    area = np.linalg.norm(cross, axis=1)
    assert area[away].sum() / area.sum() > 0.9
    # The front of the face (nose, cheeks, forehead) faces +Z.
    normals = head.vertex_normals(head.neutral)
    nose_tip = head.landmark68_vertices[30]
    assert normals[nose_tip, 2] > 0.7
    # Closed eyeballs enclose positive volume.
    for name in (("sclera_left", "cornea_left"), ("sclera_right", "cornea_right"), "iris_left", "iris_right"):
        p = head.neutral[head.part_faces(name, render=False)].astype(np.float64)
        p -= p.mean(axis=(0, 1))
        assert np.einsum("fi,fi->f", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() > 0, name


def test_cornea_is_the_clear_cap_in_front_of_the_iris(head):
    for side in ("left", "right"):
        cornea = head.neutral[np.unique(head.part_faces(f"cornea_{side}", render=False))]
        sclera = head.neutral[np.unique(head.part_faces(f"sclera_{side}", render=False))]
        iris = head.neutral[np.unique(head.part_faces(f"iris_{side}", render=False))]
        assert cornea[:, 2].max() > iris[:, 2].max() + 0.1                 # the apex 1.7 mm in front of the iris
        assert cornea[:, 2].min() > sclera[:, 2].min() + 1.0                # a front cap, not the whole shell
        width = cornea[:, 0].max() - cornea[:, 0].min()
        assert 0.9 < width < 1.4                                            # a human cornea is ~11.5 mm wide
    assert "cornea_left" not in OPAQUE_PARTS and "iris_left" in OPAQUE_PARTS


def test_left_is_plus_x(head):
    left = head.neutral[np.unique(head.part_faces("sclera_left", render=False))]
    assert left[:, 0].min() > 0
    assert head.neutral[head.landmark68_vertices[45], 0] > 0 > head.neutral[head.landmark68_vertices[36], 0]


# ------------------------------------------------------------------------------------------ render mesh
def test_uv_split_keeps_positions(head):
    vertices = head.shape(np.full(head.identity_count, 0.5))
    render = head.render_vertices(vertices)
    assert render.shape == (head.render_vertex_count, 3)
    np.testing.assert_array_equal(render[head.render_faces], vertices[head.faces])
    np.testing.assert_array_equal(head.render_source[head.render_faces], head.faces)
    # Splits only where needed: render vertices of one model vertex have distinct UVs.
    key = np.concatenate([head.render_source[:, None].astype(np.float64), head.render_uv], axis=1)
    assert len(np.unique(key, axis=0)) == head.render_vertex_count
    assert head.render_vertex_count > VERTEX_COUNT
    with pytest.raises(ValueError):
        head.render_vertices(vertices[:-1])


def test_normals_and_tangents_are_unit(head):
    normals = head.render_vertices(head.vertex_normals(head.neutral))
    tangents = head.render_tangents(head.render_vertices(head.neutral), normals)
    used = np.unique(head.part_faces())
    np.testing.assert_allclose(np.linalg.norm(normals[used], axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(tangents[used, :3], axis=1), 1.0, atol=1e-6)
    assert np.abs((normals[used] * tangents[used, :3]).sum(axis=1)).max() < 1e-6


# ------------------------------------------------------------------------------------------------ masks
def _centroid_t(mask):
    t = 1.0 - (np.arange(MASK_RESOLUTION) + 0.5) / MASK_RESOLUTION
    return float((mask.sum(axis=1) * t).sum() / mask.sum())


def test_region_masks_lie_in_the_face_tile_in_anatomical_order(head):
    masks = head.region_masks
    face = masks["face"]
    for name in REGION_NAMES:
        mask = masks[name]
        assert mask.shape == (MASK_RESOLUTION, MASK_RESOLUTION) and mask.dtype == np.float32
        assert 0.0 <= mask.min() and mask.max() <= 1.0 and (mask > 0.5).sum() > 50, name
        assert (mask <= face + 1e-3).all(), name
        assert np.abs(mask - mask[:, ::-1]).mean() < 2e-3, name          # left-right symmetric (to rasterisation)
    # Landmark UVs (face tile) fall inside their regions.
    uv = head.render_uv
    face_vertices = np.unique(head.part_faces("face"))
    lookup = dict(zip(head.render_source[face_vertices].tolist(), face_vertices.tolist()))

    def at(landmark, name):
        s, t = uv[lookup[int(head.landmark68_vertices[landmark])]]
        row, column = int((1 - t) * MASK_RESOLUTION), int(s * MASK_RESOLUTION)
        return masks[name][row, column]

    assert at(51, "lips") > 0.5 and at(57, "lips") > 0.5
    assert at(30, "nose") > 0.5 and at(30, "t_zone") > 0.5 and at(19, "brows") > 0.5 and at(24, "brows") > 0.5
    assert at(8, "beard") > 0.5 and at(8, "lips") < 0.1
    order = ["forehead", "brows", "eyes", "under_eye", "nose", "lips", "beard"]
    heights = [_centroid_t(masks[name]) for name in order]
    assert heights == sorted(heights, reverse=True), dict(zip(order, heights))
    assert (masks["mouth_interior"] * masks["lips"]).sum() < 0.5 * masks["mouth_interior"].sum()


# ------------------------------------------------------------------------------------ the 468 points
def test_points468_land_near_the_aligned_template(head):
    template = load_face_template()
    alignment = head.points468_alignment
    aligned = template.vertices @ alignment[:, :3].T + alignment[:, 3]
    points = head.points468(head.neutral)
    np.testing.assert_allclose(head.points468_barycentric.sum(axis=1), 1.0, atol=1e-5)
    assert head.points468_barycentric.min() >= -1e-6
    assert np.isin(head.points468_faces, np.flatnonzero(head.part_mask("face"))).all()
    distance = np.linalg.norm(points - aligned, axis=1) * 10.0       # mm
    # Eyes and nose bridge: rigid features, only the shape difference between the two faces.
    rigid = list(LEFT_EYE) + list(RIGHT_EYE) + list(NOSE_BRIDGE)
    assert np.median(distance[rigid]) < 4.0 and distance[rigid].max() < 8.0
    # Everywhere: the template smiles with the mouth open (lips move most), ICT's neutral is closed.
    assert np.median(distance) < 8.0 and distance.max() < 30.0
    lips = list(LIPS_INNER) + list(LIPS_OUTER)
    assert np.median(distance[lips]) > np.median(distance[rigid])
    # The template's 68 landmarks (brows, nose, eyes, lips) computed from the 468 points hit ICT's.
    error = np.linalg.norm(template.landmarks68(points) - head.landmarks68(head.neutral), axis=1) * 10.0
    assert error[17:].mean() < 1.0 and error[17:].max() < 3.0


def test_points468_is_linear_in_the_modes(head):
    rng = np.random.default_rng(5)
    identity, expression = rng.standard_normal(4), rng.uniform(0.0, 1.0, EXPRESSION_COUNT)
    direct = head.points468(head.shape(identity, expression))
    modes = head.points468(np.moveaxis(head.identity_modes[:4], 0, 1))               # [468, 4, 3]
    blend = head.points468(np.moveaxis(head.expression_modes, 0, 1))                 # [468, 53, 3]
    composed = (head.points468(head.neutral) + np.einsum("k,pkc->pc", identity, modes)
                + np.einsum("j,pjc->pc", expression, blend))
    np.testing.assert_allclose(direct, composed, atol=1e-5)
    mean, identity_basis, expression_basis = head.points468_basis()
    assert identity_basis.shape == (head.identity_count, 468, 3)
    assert expression_basis.shape == (EXPRESSION_COUNT, 468, 3)
    np.testing.assert_allclose(mean + np.tensordot(identity, identity_basis[:4], axes=1)
                               + np.tensordot(expression, expression_basis, axes=1), direct, atol=1e-5)


# --------------------------------------------------------------------------------------------- errors
def test_missing_or_corrupt_file_raises_model_error(monkeypatch, tmp_path):
    missing = tmp_path / "ict_head.npz"
    monkeypatch.setattr(ict_module, "ict_head_path", lambda: missing)
    load_ict_head.cache_clear()
    try:
        with pytest.raises(ModelError, match="missing.*make_ict_head --source"):
            load_ict_head()
        missing.write_bytes(b"not a zip file")
        load_ict_head.cache_clear()
        with pytest.raises(ModelError, match="corrupt.*make_ict_head"):
            load_ict_head()
        np.savez(missing, format_version=np.array(1), neutral=np.zeros((VERTEX_COUNT, 3)))
        load_ict_head.cache_clear()
        with pytest.raises(ModelError, match="corrupt"):
            load_ict_head()
    finally:
        load_ict_head.cache_clear()

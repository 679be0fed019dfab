"""The animatable export of an ICT-head output folder: morph targets, parts and materials, UV tiles, the Khronos
validator, three.js in headless Chromium moving the jaw, the multi-material OBJ, and bad ``fit.json`` blocks.

The folder is synthetic (the fit is not run): the ICT head with a random identity, a random expression and a
head turn (the ``"ict"`` block of ``fit.json`` as ``svfri fit`` writes it), analytic skin maps in the face tile
and part textures in other tiles (``back_head`` tile 1, ``teeth`` tile 3), so a wrong tile offset or a missing
rotation shows.

External tools: ``node`` + ``npm ci --prefix tests/viewer`` and Debian's ``chromium``; the tests that need them skip
with the reason when they are missing (CI: tests/skip_policy.py turns those skips into failures).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from svfri.errors import InputError
from svfri.geometry.ict_head import FORMAT_VERSION, OPAQUE_PARTS, load_ict_head
from svfri.io import gltf_ict
from svfri.io.ict_export import load_ict_export
from svfri.io.glb import accessor_array, read_glb
from svfri.math.color import srgb_to_linear_np

REPO = Path(__file__).resolve().parents[1]
VIEWER = REPO / "tests" / "viewer"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE = shutil.which("node")
MAP_SIZE = 64
#: The head turn of the synthetic fit (about +Y, then a nod about +X), degrees.
YAW_DEG, PITCH_DEG = 20.0, -8.0
EXPRESSION_MAX = 0.3
SEED = 7
#: Expected texture tiles of the textured parts (models/ict_head.md, "Triangles and parts").
TEXTURED_PARTS = {"back_head": 1, "teeth": 3, "iris_left": 0}
#: float32 storage of metre-scale values.
FLOAT32_ATOL_M = 2e-7
RENDER_SIZE = 384
SCLERA_SRGB = (0.85, 0.82, 0.8)


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    about_y = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    return about_x @ about_y


def _ramp(size: int, base: tuple[float, float, float]) -> np.ndarray:
    centres = (np.arange(size) + 0.5) / size
    s, t = np.meshgrid(centres, 1.0 - centres)
    return np.clip(np.stack([base[0] + 0.3 * s, base[1] + 0.3 * t, base[2] + 0 * s], axis=-1), 0, 1)


def _fit_json(head, identity, expression, rotation) -> dict:
    return {
        "camera": {"world_to_pixel": [[10, 0, 0, 128], [0, -10, 0, 128], [0, 0, 0, 1]], "image_width": 256,
                   "image_height": 256},
        "material": {"roughness": 0.45, "specular_f0_scale": 0.028},
        "ict": {"model": "ict_head.npz", "format_version": FORMAT_VERSION, "identity": identity.tolist(),
                "expression": dict(zip(head.expression_names, expression.tolist())),
                "rotation_model_to_world": rotation.tolist(), "scale_px_per_cm_work": 10.0,
                "residual_rms_px": 1.2, "seconds": 0.3},
        # The shape of svfri.pipeline.head_parts.parts_json: the face entry points at the skin maps with nulls.
        "parts": {"face": {"material": "face", "texture": "albedo.png", "albedo_srgb": None, "roughness": 0.4,
                           "specular": None, "source": "the skin maps (face tile)"},
                  "back_head": {"material": "back_head", "texture": "back_head.png", "albedo_srgb": [0.6, 0.5, 0.45],
                                "roughness": 0.5, "specular": 0.5, "source": "synthetic"},
                  "teeth": {"texture": "teeth.png", "albedo_srgb": [0.9, 0.88, 0.8], "roughness": 0.3,
                            "specular": 1.4},
                  "iris_left": {"texture": "iris_left.png", "albedo_srgb": [0.3, 0.2, 0.1], "roughness": 0.12,
                                "specular": 0.7},
                  "sclera_left": {"texture": None, "albedo_srgb": list(SCLERA_SRGB), "roughness": 0.12,
                                  "specular": 0.7}},
    }


@pytest.fixture(scope="module")
def ict_fit():
    head = load_ict_head()
    rng = np.random.default_rng(SEED)
    identity = rng.normal(0.0, 1.0, head.identity_count)
    expression = rng.uniform(0.0, EXPRESSION_MAX, head.expression_count)
    return head, identity, expression, _rotation(YAW_DEG, PITCH_DEG)


@pytest.fixture(scope="module")
def ict_folder(tmp_path_factory, ict_fit) -> Path:
    from svfri.io.images import write_png

    head, identity, expression, rotation = ict_fit
    folder = tmp_path_factory.mktemp("ict")
    write_png(folder / "albedo.png", _ramp(MAP_SIZE, (0.45, 0.35, 0.3)))
    centres = (np.arange(MAP_SIZE) + 0.5) / MAP_SIZE
    write_png(folder / "specular.png", np.broadcast_to(0.4 + 0.4 * centres[:, None], (MAP_SIZE, MAP_SIZE)))
    write_png(folder / "normal.png", np.broadcast_to(np.array([0.5, 0.5, 1.0]), (MAP_SIZE, MAP_SIZE, 3)))
    for name, base in (("back_head", (0.5, 0.4, 0.35)), ("teeth", (0.6, 0.6, 0.55)), ("iris_left", (0.1, 0.2, 0.3))):
        write_png(folder / f"{name}.png", _ramp(MAP_SIZE // 2, base))
    (folder / "fit.json").write_text(json.dumps(_fit_json(head, identity, expression, rotation)))
    return folder


@pytest.fixture(scope="module")
def exported(ict_folder, tmp_path_factory) -> dict:
    from svfri.pipeline.export_job import ExportSettings, run_export

    out = tmp_path_factory.mktemp("ict_out")
    report = run_export(ict_folder, out=out, settings=ExportSettings(format="both", texture_size=0))
    document, binary = read_glb(out / "face.glb")
    return {"folder": ict_folder, "out": out, "report": report, "document": document, "binary": binary}


def _primitives_by_part(document: dict) -> dict[str, dict]:
    return {primitive["extras"]["part"]: primitive for primitive in document["meshes"][0]["primitives"]}


def _array(exported: dict, index: int) -> np.ndarray:
    return accessor_array(exported["document"], exported["binary"], index).astype(np.float64)


# ------------------------------------------------------------------------------------------------ structure

def test_mesh_names_weights_and_one_primitive_and_material_per_part(exported, ict_fit):
    head, _, expression, _ = ict_fit
    document = exported["document"]
    assert len(document["meshes"]) == 1 and len(document["nodes"]) == 1
    mesh = document["meshes"][0]
    assert mesh["extras"]["targetNames"] == list(head.expression_names)
    assert len(mesh["extras"]["targetNames"]) == 53 and "jawOpen" in mesh["extras"]["targetNames"]
    np.testing.assert_allclose(mesh["weights"], expression, atol=1e-12)  # default pose = the photo's expression
    primitives = _primitives_by_part(document)
    assert sorted(primitives) == sorted(OPAQUE_PARTS)  # eyes and teeth are primitives of their own
    materials = [document["materials"][p["material"]]["name"] for p in primitives.values()]
    assert len(set(materials)) == len(materials) == len(OPAQUE_PARTS)
    assert {"skin_face", "skin_back_head", "eyes_iris_left", "eyes_sclera_right", "mouth_teeth"} <= set(materials)
    for part, primitive in primitives.items():
        assert len(primitive["targets"]) == 53, part  # glTF: the same target count on every primitive
        assert all(set(target) == {"POSITION", "NORMAL"} for target in primitive["targets"])
        position_count = document["accessors"][primitive["attributes"]["POSITION"]]["count"]
        assert all(document["accessors"][target[key]]["count"] == position_count
                   for target in primitive["targets"] for key in target)
    assert set(document["extensionsUsed"]) == {"KHR_materials_specular", "KHR_materials_ior"}


def test_materials_follow_the_folder(exported):
    document = exported["document"]
    primitives = _primitives_by_part(document)

    def material(part):
        return document["materials"][primitives[part]["material"]]

    face = material("face")
    assert {"baseColorTexture"} <= set(face["pbrMetallicRoughness"]) and "normalTexture" in face
    assert face["pbrMetallicRoughness"]["roughnessFactor"] == pytest.approx(0.4)  # parts.face over material
    assert "TANGENT" in primitives["face"]["attributes"]
    sclera = material("sclera_left")["pbrMetallicRoughness"]
    np.testing.assert_allclose(sclera["baseColorFactor"][:3], srgb_to_linear_np(np.array(SCLERA_SRGB)),
                               atol=1e-9)  # the folder's sRGB colour, stored linear as glTF requires
    assert sclera["roughnessFactor"] == pytest.approx(0.12) and sclera["metallicFactor"] == 0
    teeth = material("teeth")
    f0 = teeth["extensions"]["KHR_materials_specular"]["specularColorFactor"][0] * ((1.4 - 1) / (1.4 + 1)) ** 2
    assert f0 == pytest.approx(0.028 * 1.4)  # the part's specular scales the folder's F0
    texture = document["textures"][teeth["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    image = document["images"][texture["source"]]
    view = document["bufferViews"][image["bufferView"]]
    stored = cv2.imdecode(np.frombuffer(exported["binary"][view["byteOffset"]: view["byteOffset"] + view["byteLength"]],
                                        np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(stored, cv2.imread(str(exported["folder"] / "teeth.png"), cv2.IMREAD_COLOR))
    assert "TEXCOORD_0" not in primitives["sclera_left"]["attributes"]  # untextured: no UVs to carry
    assert any("gums_tongue" in note for note in exported["report"]["notes"])  # a default is said, not silent


def test_base_shape_is_the_neutral_expression_in_world_metres(exported, ict_fit):
    head, identity, _, rotation = ict_fit
    neutral_world = head.render_vertices(head.shape(identity, None) @ rotation.T) / 100.0
    for part, primitive in _primitives_by_part(exported["document"]).items():
        render_ids, faces = head.part_mesh(part)
        np.testing.assert_allclose(_array(exported, primitive["attributes"]["POSITION"]), neutral_world[render_ids],
                                   atol=FLOAT32_ATOL_M)
        np.testing.assert_array_equal(_array(exported, primitive["indices"]).reshape(-1, 3), faces)


def test_morph_deltas_are_the_rotated_expression_modes(exported, ict_fit):
    """Each target's POSITION delta is ``R @ expression_mode`` at the part's render vertices (m), except vectors
    below the sparse floor (left at zero); the default weights then give the photo's shape."""
    head, identity, expression, rotation = ict_fit
    fitted = head.render_vertices(head.shape(identity, expression) @ rotation.T) / 100.0
    modes = head.expression_modes.astype(np.float64) @ rotation.T / 100.0        # [53, V, 3] world metres
    jaw = head.expression_names.index("jawOpen")
    moved_jaw = 0
    for part, primitive in _primitives_by_part(exported["document"]).items():
        render_ids, _ = head.part_mesh(part)
        expected = modes[:, head.render_source[render_ids]]
        stored = np.stack([_array(exported, target["POSITION"]) for target in primitive["targets"]])
        kept = np.linalg.norm(stored, axis=-1) > 0
        np.testing.assert_allclose(stored[kept], expected[kept], atol=FLOAT32_ATOL_M / 10, rtol=1e-6)
        dropped = np.linalg.norm(expected[~kept], axis=-1)
        assert dropped.size == 0 or dropped.max() <= gltf_ict.POSITION_DELTA_FLOOR_M
        posed = _array(exported, primitive["attributes"]["POSITION"]) + np.tensordot(expression, stored, axes=1)
        assert np.abs(posed - fitted[render_ids]).max() < 2e-5, part  # < 0.02 mm from the photo's shape
        if part == "face":
            moved_jaw = int(kept[jaw].sum())
    assert moved_jaw > 1000  # jawOpen moves the chin: the test compares something


def test_normal_deltas_are_the_normal_change_of_each_target(exported, ict_fit):
    head, identity, _, rotation = ict_fit
    base = head.shape(identity, None) @ rotation.T
    base_normals = head.vertex_normals(base)
    primitive = _primitives_by_part(exported["document"])["face"]
    render_ids, _ = head.part_mesh("face")
    model_ids = head.render_source[render_ids]
    for name in ("jawOpen", "mouthSmile_L", "browInnerUp_R"):
        j = head.expression_names.index(name)
        moved = head.vertex_normals(base + head.expression_modes[j].astype(np.float64) @ rotation.T)
        expected = (moved - base_normals)[model_ids]
        stored = _array(exported, primitive["targets"][j]["NORMAL"])
        kept = np.linalg.norm(stored, axis=-1) > 0
        np.testing.assert_allclose(stored[kept], expected[kept], atol=1e-6)
        assert np.linalg.norm(expected[~kept], axis=-1).max(initial=0) <= gltf_ict.NORMAL_DELTA_FLOOR
        assert kept.sum() > 100, name


def test_uvs_are_relative_to_each_parts_tile(exported):
    head = load_ict_head()
    primitives = _primitives_by_part(exported["document"])
    for part, tile in {"face": 0, **TEXTURED_PARTS}.items():
        render_ids, _ = head.part_mesh(part)
        texcoord = _array(exported, primitives[part]["attributes"]["TEXCOORD_0"])
        u, t = head.render_uv[render_ids, 0] - tile, head.render_uv[render_ids, 1]
        np.testing.assert_allclose(texcoord, np.stack([u, 1.0 - t], -1), atol=1e-6)
        assert texcoord.min() >= 0.0 and texcoord.max() <= 1.0, part


def test_sparse_targets_equal_dense_ones_and_are_smaller(ict_folder, record_property):
    export = load_ict_export(ict_folder)
    sparse, dense = (gltf_ict.ict_glb_bytes(export, texture_size=0, sparse=flag) for flag in (True, False))
    record_property("glb_mb_sparse", round(len(sparse) / 1e6, 2))
    record_property("glb_mb_dense", round(len(dense) / 1e6, 2))
    print(f"ICT glb: sparse targets {len(sparse) / 1e6:.2f} MB, dense {len(dense) / 1e6:.2f} MB")
    assert len(sparse) < 0.5 * len(dense)
    (doc_s, bin_s), (doc_d, bin_d) = read_glb(sparse), read_glb(dense)
    for prim_s, prim_d in zip(doc_s["meshes"][0]["primitives"], doc_d["meshes"][0]["primitives"]):
        for j in (0, 26, 52):
            for key, floor in (("POSITION", gltf_ict.POSITION_DELTA_FLOOR_M), ("NORMAL", gltf_ict.NORMAL_DELTA_FLOOR)):
                difference = (accessor_array(doc_s, bin_s, prim_s["targets"][j][key])
                              - accessor_array(doc_d, bin_d, prim_d["targets"][j][key]))
                assert np.linalg.norm(difference, axis=-1).max() <= floor * (1 + 1e-6)


# ------------------------------------------------------------------------------------------------ real viewers

def _needs_node_modules():
    if NODE is None:
        pytest.skip("node is not installed (the glTF validator and the three.js render run on node)")
    if not (VIEWER / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("tests/viewer/node_modules is missing: run `npm ci --prefix tests/viewer`")


def test_khronos_validator_accepts_the_animatable_head(exported):
    _needs_node_modules()
    result = subprocess.run([NODE, str(VIEWER / "validate.mjs"), str(exported["out"] / "face.glb")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    issues = json.loads(result.stdout)["issues"]
    print(f"glTF validator (ICT head): {issues['numErrors']} errors, {issues['numWarnings']} warnings, "
          f"{issues['numInfos']} infos, {issues['numHints']} hints")
    assert issues["numErrors"] == 0, issues["messages"][:10]
    assert issues["numWarnings"] == 0, issues["messages"][:10]


def _pixel_box(points_m: np.ndarray, frustum: dict, size: int, margin_px: int = 0) -> tuple[slice, slice]:
    columns = (points_m[:, 0] - frustum["left"]) / (frustum["right"] - frustum["left"]) * size
    rows = (frustum["top"] - points_m[:, 1]) / (frustum["top"] - frustum["bottom"]) * size
    return (slice(max(int(rows.min()) - margin_px, 0), int(np.ceil(rows.max())) + margin_px),
            slice(max(int(columns.min()) - margin_px, 0), int(np.ceil(columns.max())) + margin_px))


def test_three_js_jaw_open_moves_the_mouth_and_chin_not_the_forehead(exported, ict_fit, tmp_path, record_property):
    """GLTFLoader reads the 53 named targets and the default weights; jawOpen = 1 against jawOpen = 0 (the other
    weights at the fitted expression) changes the picture around the mouth and chin, not on the forehead."""
    _needs_node_modules()
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (`apt-get install -y chromium`)")
    head, identity, expression, rotation = ict_fit
    fitted = head.shape(identity, expression) @ rotation.T / 100.0            # [V, 3] world metres
    opaque = head.render_source[head.part_mesh(OPAQUE_PARTS)[0]]
    low, high = fitted[opaque].min(0), fitted[opaque].max(0)
    centre, half = (low[:2] + high[:2]) / 2, (high[:2] - low[:2]).max() / 2 * 1.05
    frustum = {"left": centre[0] - half, "right": centre[0] + half, "top": centre[1] + half,
               "bottom": centre[1] - half}
    query = "&".join([f"width={RENDER_SIZE}&height={RENDER_SIZE}&lighting=gradient&radiance=0.5&slope=0.4",
                      *(f"{key}={value}" for key, value in frustum.items())])
    glb = str(exported["out"] / "face.glb")
    dense = tmp_path / "dense.glb"
    dense.write_bytes(gltf_ict.ict_glb_bytes(load_ict_export(exported["folder"]), texture_size=0, sparse=False))
    jobs = [{"model": glb, "out": str(tmp_path / f"jaw{weight}.png"), "query": f"{query}&morph=jawOpen:{weight}"}
            for weight in (0, 1)]
    jobs.append({"model": str(dense), "out": str(tmp_path / "dense1.png"), "query": f"{query}&morph=jawOpen:1"})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    result = subprocess.run([NODE, str(VIEWER / "render.mjs"), str(tmp_path / "jobs.json")], capture_output=True,
                            text=True, timeout=240)
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0 and len(reports) == 3 and all(r["ok"] for r in reports), result.stdout[-2000:]
    jaw = head.expression_names.index("jawOpen")
    meshes = reports[0]["materials"]
    assert len(meshes) == len(OPAQUE_PARTS)
    for mesh in meshes:
        assert mesh["morphPositions"] == 53 and mesh["morphNormals"] == 53, mesh["name"]
        assert mesh["morphTargetNames"] == list(head.expression_names)
        influences = np.array(mesh["morphTargetInfluences"])
        np.testing.assert_allclose(np.delete(influences, jaw), np.delete(expression, jaw), atol=1e-6)
        assert influences[jaw] == 0
    assert all(mesh["morphTargetInfluences"][jaw] == 1 for mesh in reports[1]["materials"])

    closed, opened, opened_dense = (cv2.imread(job["out"], cv2.IMREAD_UNCHANGED).astype(np.float64) for job in jobs)
    difference = np.abs(closed - opened)[..., :3].max(axis=-1)                  # 8-bit levels
    sparse_vs_dense = float((np.abs(opened - opened_dense)[..., :3].max(axis=-1) > 2).mean())
    landmarks = head.landmarks68(fitted)
    mouth_chin = _pixel_box(np.concatenate([landmarks[48:68], landmarks[5:12]]), frustum, RENDER_SIZE, 4)
    brows = landmarks[17:27]
    up = rotation[:, 1] / 100.0 * 1.0                                            # 1 cm along the head's up axis
    forehead_points = np.concatenate([brows + 1.5 * up, brows + 3.5 * up])
    forehead = _pixel_box(forehead_points, frustum, RENDER_SIZE)
    mouth_change = float(difference[mouth_chin].mean())
    forehead_change = float(difference[forehead].mean())
    changed_fraction = float((difference[mouth_chin] > 8).mean())
    record_property("jaw_open_mouth_chin_mean_levels", round(mouth_change, 2))
    record_property("jaw_open_forehead_mean_levels", round(forehead_change, 3))
    record_property("sparse_vs_dense_pixels_over_2_levels", sparse_vs_dense)
    print(f"three.js jawOpen 0 -> 1: mouth/chin box mean change {mouth_change:.2f} levels "
          f"({100 * changed_fraction:.0f} % of its pixels > 8 levels), forehead box {forehead_change:.3f} levels; "
          f"sparse vs dense targets: {100 * sparse_vs_dense:.3f} % of pixels differ by > 2 levels")
    assert sparse_vs_dense < 1e-3
    assert changed_fraction > 0.2
    assert mouth_change > 10.0
    assert forehead_change < 0.5


# ------------------------------------------------------------------------------------------------ OBJ and errors

def test_obj_has_a_material_per_part_in_the_fitted_pose(exported, ict_fit):
    import trimesh

    head, identity, expression, rotation = ict_fit
    out = exported["out"]
    names = sorted(Path(path).name for path in exported["report"]["files"])
    assert {"face.glb", "face.obj", "face.mtl", "face_albedo.png", "face_normal.png", "face_specular.png",
            "face_back_head_albedo.png", "face_teeth_albedo.png", "face_iris_left_albedo.png"} == set(names)
    from svfri.pipeline.export_job import EXPORT_FILE_NAMES

    assert set(names) <= EXPORT_FILE_NAMES
    text = (out / "face.obj").read_text()
    assert [line for line in text.splitlines() if line.startswith("g ")] == ["g skin", "g eyes", "g mouth"]
    scene = trimesh.load(out / "face.obj", process=False)
    fitted_cm = head.render_vertices(head.shape(identity, expression) @ rotation.T)
    for part in OPAQUE_PARTS:
        family = "eyes" if part.startswith(("sclera", "iris")) else \
            "mouth" if part in ("mouth_socket", "gums_tongue", "teeth") else "skin"
        geometry = scene.geometry[f"{family}_{part}"]
        render_ids, faces = head.part_mesh(part)
        np.testing.assert_allclose(geometry.vertices, fitted_cm[render_ids], atol=2e-6)
        np.testing.assert_array_equal(geometry.faces, faces)
    assert scene.geometry["skin_face"].visual.material.image is not None
    assert scene.geometry["skin_back_head"].visual.material.image is not None
    mtl = (out / "face.mtl").read_text().split("newmtl ")
    sclera = next(block for block in mtl if block.startswith("eyes_sclera_left"))
    kd = " ".join(f"{value:.6f}" for value in srgb_to_linear_np(np.array(SCLERA_SRGB)))
    assert f"Kd {kd}" in sclera and "map_Kd" not in sclera and "Pr 0.1200" in sclera


def _broken(folder: Path, tmp_path: Path, change) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(folder, copy)
    fit = json.loads((copy / "fit.json").read_text())
    change(fit)
    (copy / "fit.json").write_text(json.dumps(fit))
    return copy


@pytest.mark.parametrize("change, message", [
    (lambda fit: fit["ict"].update(identity=[0.1] * 61), "ict.identity must hold 1 to 60 weights"),
    (lambda fit: fit["ict"]["expression"].pop("jawOpen"), "missing ['jawOpen']"),
    (lambda fit: fit["ict"].update(rotation_model_to_world=[[1, 0, 0], [0, 2, 0], [0, 0, 1]]), "3x3 rotation"),
    (lambda fit: fit["ict"].update(format_version=FORMAT_VERSION + 1), "format_version"),
    (lambda fit: fit["parts"]["teeth"].update(texture="nowhere.png"), "parts.teeth.texture"),
    (lambda fit: fit["parts"].update(wings={"albedo_srgb": [1, 1, 1]}), "not parts of the ICT head"),
])
def test_bad_ict_blocks_are_one_line_errors(ict_folder, tmp_path, change, message):
    from click.testing import CliRunner

    from cli.main import main
    from svfri.pipeline.export_job import run_export

    broken = _broken(ict_folder, tmp_path, change)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run_export(broken, out=tmp_path / "out")
    result = CliRunner().invoke(main, ["export", str(broken), "--out", str(tmp_path / "cli")])
    assert result.exit_code == InputError.exit_code == 10
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "cli" / "face.glb").exists()


def test_a_corrupt_visibility_file_refuses_the_folder(ict_folder, tmp_path):
    from svfri.pipeline.export_job import run_export

    broken = _broken(ict_folder, tmp_path, lambda fit: None)
    (broken / "visibility.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="corrupt or truncated"):
        run_export(broken, out=tmp_path / "out")

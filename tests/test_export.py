"""Engine-ready export: the .glb writer, its round trip, the Khronos validator, a three.js render in headless Chromium
compared with svfri's own render, and the OBJ + MTL set.

The output folder is synthetic (the subdivided face template with analytic maps) so that the test needs no
networks: an albedo that ramps red along s and green along t (a flipped v would swap them), a specular map that
ramps along t, and a strongly bumped normal map (a wrong tangent handedness flips its shading).

External tools: ``node`` + ``npm ci --prefix tests/viewer`` (gltf-validator, three, puppeteer-core) and Debian's
``chromium``; the tests that need them skip with the reason when they are missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import struct
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from svfri.errors import InputError, OutputError, UsageError
from svfri.io import gltf
from svfri.io.output_set import load_face_asset

REPO = Path(__file__).resolve().parents[1]
VIEWER = REPO / "tests" / "viewer"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE = shutil.which("node")
MAP_SIZE = 128
IMAGE_SIZE = 256
ROUGHNESS = 0.45
BUMP_AMPLITUDE = 0.6
BUMP_PERIODS = 6
#: Constant-environment radiance and the gradient environment ``GRADIENT_BASE + GRADIENT_SLOPE * y``.
CONSTANT_RADIANCE = 0.8
GRADIENT_BASE, GRADIENT_SLOPE = 0.5, 0.4
RENDER_SIZE = 160
BROWSER_SUPERSAMPLING = 2


def _needs_node_modules():
    if NODE is None:
        pytest.skip("node is not installed (the glTF validator and the three.js render run on node)")
    if not (VIEWER / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("tests/viewer/node_modules is missing: run `npm ci --prefix tests/viewer`")


def _texel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(s, t)`` at texel centres, row 0 at the top (``t = 1 - (i + 0.5) / N``, svfri.conventions)."""
    centres = (np.arange(size) + 0.5) / size
    return np.meshgrid(centres, 1.0 - centres)


def _bumpy_normals(size: int, green_sign: float = 1.0) -> np.ndarray:
    s, t = _texel_grid(size)
    n = np.stack([BUMP_AMPLITUDE * np.sin(2 * np.pi * BUMP_PERIODS * s),
                  green_sign * BUMP_AMPLITUDE * np.sin(2 * np.pi * BUMP_PERIODS * t), np.ones_like(s)], axis=-1)
    return 0.5 * n / np.linalg.norm(n, axis=-1, keepdims=True) + 0.5


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory) -> Path:
    """An output folder: subdivided template mesh, analytic maps, fit.json with a framing camera."""
    from svfri.geometry.mesh_ops import vertex_normals
    from svfri.geometry.template import load_face_template
    from svfri.io.images import write_png
    from svfri.io.mesh_io import write_obj
    from svfri.render.relight import framing_camera

    folder = tmp_path_factory.mktemp("face")
    template = load_face_template()
    vertices = np.asarray(template.subdivision @ template.vertices)
    faces, uv = np.asarray(template.faces_sub), np.asarray(template.uv_sub)
    write_obj(folder / "mesh.obj", vertices, faces, uv, vertex_normals(vertices, faces),
              textures={"albedo": "albedo.png", "specular": "specular.png", "normal": "normal.png"},
              roughness=ROUGHNESS)
    s, t = _texel_grid(MAP_SIZE)
    write_png(folder / "albedo.png", np.stack([0.35 + 0.5 * s, 0.3 + 0.45 * t,
                                               0.35 + 0.15 * np.sin(2 * np.pi * 3 * s)], axis=-1))
    write_png(folder / "specular.png", 0.3 + 0.6 * t)
    write_png(folder / "normal.png", _bumpy_normals(MAP_SIZE))
    fit = {"camera": {"world_to_pixel": framing_camera(vertices, IMAGE_SIZE)[:3].tolist(),
                      "image_width": IMAGE_SIZE, "image_height": IMAGE_SIZE},
           "material": {"roughness": ROUGHNESS, "specular_f0_scale": 0.028}}
    (folder / "fit.json").write_text(json.dumps(fit))
    return folder


@pytest.fixture(scope="module")
def glb_path(face_folder) -> Path:
    return gltf.write_glb_from_folder(face_folder, texture_size=0)


def _decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).astype(np.float64) / 255.0
    return image[..., ::-1] if image.ndim == 3 else image[..., None]


def _texture_image(document: dict, binary: bytes, texture_index: int) -> np.ndarray:
    image = document["images"][document["textures"][texture_index]["source"]]
    view = document["bufferViews"][image["bufferView"]]
    return _decode_png(binary[view["byteOffset"]: view["byteOffset"] + view["byteLength"]])


# ------------------------------------------------------------------------------------------- structure, round trip

def test_glb_layout_geometry_and_material_round_trip(face_folder, glb_path):
    from svfri.geometry.mesh_ops import vertex_normals, vertex_tangents

    data = glb_path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data)
    json_length, json_type = struct.unpack_from("<II", data, 12)
    bin_length, bin_type = struct.unpack_from("<II", data, 20 + json_length)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    assert json_type == 0x4E4F534A and bin_type == 0x004E4942
    assert json_length % 4 == 0 and bin_length % 4 == 0 and 28 + json_length + bin_length == len(data)
    document, binary = gltf.read_glb(data)
    assert all(view["byteOffset"] % 4 == 0 for view in document["bufferViews"])
    assert document["asset"]["generator"].startswith("svfri ")

    asset = load_face_asset(face_folder)
    primitive = document["meshes"][0]["primitives"][0]
    read = {name: gltf.accessor_array(document, binary, index) for name, index in primitive["attributes"].items()}
    np.testing.assert_allclose(read["POSITION"], asset.vertices / 100.0, rtol=1e-6, atol=1e-7)  # cm -> m, float32
    np.testing.assert_allclose(read["TEXCOORD_0"], np.stack([asset.uv[:, 0], 1 - asset.uv[:, 1]], -1), atol=1e-6)
    normals = vertex_normals(asset.vertices, asset.faces)
    np.testing.assert_allclose(read["NORMAL"], normals, atol=1e-6)
    np.testing.assert_allclose(read["TANGENT"], vertex_tangents(asset.vertices, asset.faces, asset.uv, normals),
                               atol=1e-6)
    assert set(np.unique(read["TANGENT"][:, 3])) <= {-1.0, 1.0}
    indices = gltf.accessor_array(document, binary, primitive["indices"])
    assert document["accessors"][primitive["indices"]]["componentType"] == 5123  # < 65535 vertices: uint16
    np.testing.assert_array_equal(indices.reshape(-1, 3), asset.faces)
    position_accessor = document["accessors"][primitive["attributes"]["POSITION"]]
    np.testing.assert_allclose(position_accessor["min"], read["POSITION"].min(0))

    material = document["materials"][primitive["material"]]
    pbr = material["pbrMetallicRoughness"]
    assert pbr["metallicFactor"] == 0.0 and pbr["roughnessFactor"] == pytest.approx(ROUGHNESS)
    specular = material["extensions"]["KHR_materials_specular"]
    ior = material["extensions"]["KHR_materials_ior"]["ior"]
    # The engine's F0 = ((ior-1)/(ior+1))^2 * specularColorFactor * texture = 0.028 * texture, F90 = specularFactor = 1.
    assert ((ior - 1) / (ior + 1)) ** 2 * specular["specularColorFactor"][0] == pytest.approx(0.028, rel=1e-9)
    assert specular["specularFactor"] == 1.0
    assert set(document["extensionsUsed"]) == {"KHR_materials_specular", "KHR_materials_ior"}

    np.testing.assert_allclose(_texture_image(document, binary, pbr["baseColorTexture"]["index"]),
                               asset.albedo_srgb, atol=0.5 / 255 + 1e-9)
    np.testing.assert_allclose(_texture_image(document, binary, material["normalTexture"]["index"]),
                               asset.normal_map, atol=0.5 / 255 + 1e-9)
    stored_specular = _texture_image(document, binary, specular["specularColorTexture"]["index"])
    np.testing.assert_allclose(gltf.srgb_decode(stored_specular), asset.specular, atol=0.01)


def test_glb_loads_in_trimesh_with_uvs_normals_and_textures(face_folder, glb_path):
    import trimesh

    asset = load_face_asset(face_folder)
    mesh = trimesh.load(glb_path, force="mesh", process=False)
    np.testing.assert_allclose(mesh.vertices, asset.vertices / 100.0, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mesh.visual.uv, asset.uv, atol=1e-6)  # trimesh flips glTF's v back to t-up
    assert mesh.vertex_normals.shape == asset.vertices.shape
    material = mesh.visual.material
    assert material.baseColorTexture.size == (MAP_SIZE, MAP_SIZE) and material.normalTexture.size == (MAP_SIZE,) * 2
    assert material.metallicFactor == 0.0 and material.roughnessFactor == pytest.approx(ROUGHNESS)


def test_texture_size_downscales_in_linear_light_and_keeps_unit_normals(face_folder):
    document, binary = gltf.read_glb(gltf.glb_bytes(load_face_asset(face_folder), texture_size=32))
    material = document["materials"][0]
    albedo = _texture_image(document, binary, material["pbrMetallicRoughness"]["baseColorTexture"]["index"])
    normal = _texture_image(document, binary, material["normalTexture"]["index"])
    assert albedo.shape == (32, 32, 3) and normal.shape == (32, 32, 3)
    original = load_face_asset(face_folder).albedo_srgb
    # Area averaging of 4x4 blocks in linear light: block means of the decoded original.
    blocks = gltf.srgb_decode(original).reshape(32, 4, 32, 4, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(gltf.srgb_decode(albedo), blocks, atol=0.006)
    lengths = np.linalg.norm(normal * 2 - 1, axis=-1)
    np.testing.assert_allclose(lengths, 1.0, atol=0.02)


def test_large_meshes_use_uint32_indices_and_f0_follows_fit_json(face_folder, tmp_path):
    asset = load_face_asset(face_folder)
    side = 260  # 67600 vertices > 65535
    s, t = np.meshgrid(np.linspace(0, 1, side), np.linspace(0, 1, side))
    vertices = np.stack([s.ravel() * 10, t.ravel() * 10, np.zeros(side * side)], -1)
    quads = (np.arange(side - 1)[None, :] + side * np.arange(side - 1)[:, None]).ravel()
    faces = np.concatenate([np.stack([quads, quads + 1, quads + side + 1], -1),
                            np.stack([quads, quads + side + 1, quads + side], -1)])
    grid = dataclasses.replace(asset, vertices=vertices, faces=faces, uv=np.stack([s.ravel(), t.ravel()], -1))
    document, binary = gltf.read_glb(gltf.glb_bytes(grid, texture_size=16, specular_f0=0.02))
    primitive = document["meshes"][0]["primitives"][0]
    assert document["accessors"][primitive["indices"]]["componentType"] == 5125
    np.testing.assert_array_equal(gltf.accessor_array(document, binary, primitive["indices"]).reshape(-1, 3), faces)
    factor = document["materials"][0]["extensions"]["KHR_materials_specular"]["specularColorFactor"][0]
    assert factor * gltf.ior_to_f0(gltf.SKIN_IOR) == pytest.approx(0.02)

    fit = json.loads((face_folder / "fit.json").read_text())
    fit["material"]["specular_f0_scale"] = 0.02
    copy = tmp_path / "copy"
    shutil.copytree(face_folder, copy, ignore=shutil.ignore_patterns("*.glb"))
    (copy / "fit.json").write_text(json.dumps(fit))
    document, _ = gltf.read_glb(gltf.write_glb_from_folder(copy))
    assert (copy / gltf.GLB_FILE_NAME).is_file()
    factor = document["materials"][0]["extensions"]["KHR_materials_specular"]["specularColorFactor"][0]
    assert factor * gltf.ior_to_f0(gltf.SKIN_IOR) == pytest.approx(0.02)


def test_constants_and_srgb_twins_agree_with_the_renderer():
    from svfri.math.brdf import SKIN_F0, SKIN_INDEX_OF_REFRACTION
    from svfri.math.color import linear_to_srgb_np, srgb_to_linear_np

    assert gltf.SKIN_SPECULAR_F0 == SKIN_F0 and gltf.SKIN_IOR == SKIN_INDEX_OF_REFRACTION
    values = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(gltf.srgb_decode(values), srgb_to_linear_np(values), atol=1e-12)
    np.testing.assert_allclose(gltf.srgb_encode(values), linear_to_srgb_np(values), atol=1e-12)
    assert gltf.ior_to_f0(1.5) == pytest.approx(0.04)


# ----------------------------------------------------------------------------------------------- real viewers

def test_khronos_validator_reports_no_errors(glb_path):
    _needs_node_modules()
    result = subprocess.run([NODE, str(VIEWER / "validate.mjs"), str(glb_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    issues = json.loads(result.stdout)["issues"]
    warnings = [m for m in issues["messages"] if m["severity"] == 1]
    print(f"glTF validator: {issues['numErrors']} errors, {issues['numWarnings']} warnings, "
          f"{issues['numInfos']} infos, {issues['numHints']} hints; warnings: {warnings}")
    assert issues["numErrors"] == 0, issues["messages"]
    assert issues["numWarnings"] == 0, warnings


def _unoccluded(asset):
    """The asset without self-occlusion (visibility SH of the constant 1), as three.js renders it (no AO map)."""
    from svfri.geometry.mesh_ops import vertex_normals

    visibility = np.zeros((len(asset.vertices), 9))
    visibility[:, 0] = 2.0 * math.sqrt(math.pi)  # integral of Y_00 = 1 / (2 sqrt(pi)) over the sphere
    return dataclasses.replace(asset, visibility_sh=visibility,
                               bent_normal=vertex_normals(asset.vertices, asset.faces))


def _psnr(reference: np.ndarray, image: np.ndarray, mask: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((reference[mask] - image[mask]) ** 2)))


def test_three_js_render_in_chromium_matches_svfri(face_folder, glb_path, tmp_path, record_property):
    """three.js (GLTFLoader -> MeshPhysicalMaterial) vs svfri's renderer, same orthographic front view, sRGB PNGs:

    * a constant environment (every direction radiance 0.8): checks silhouette, UV orientation, albedo colour space,
      specular F0 (no occlusion on either side: three.js has no AO map);
    * a vertical gradient environment (radiance 0.5 + 0.4 y) with the bumpy normal map: the shading now depends on
      the normal map, so tangent frames and handedness must agree; a copy with the green channel flipped must
      agree far worse (the test can fail)."""
    _needs_node_modules()
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (`apt-get install -y chromium`)")
    from svfri.math.color import linear_to_srgb_np
    from svfri.pipeline.relight_job import render_view
    from svfri.render.relight import environment_lighting, framing_camera

    asset = _unoccluded(load_face_asset(face_folder))
    flipped_path = tmp_path / "flipped.glb"
    gltf.write_glb(flipped_path, dataclasses.replace(asset, normal_map=_bumpy_normals(MAP_SIZE, green_sign=-1.0)),
                   texture_size=0)
    camera = framing_camera(asset.vertices, RENDER_SIZE)  # the bounds svfri's novel view frames (cm)
    scale = camera[0, 0]
    frustum = {"left": -camera[0, 3] / scale, "right": (RENDER_SIZE - camera[0, 3]) / scale,
               "top": camera[1, 3] / scale, "bottom": (camera[1, 3] - RENDER_SIZE) / scale}
    common = {"width": RENDER_SIZE * BROWSER_SUPERSAMPLING, "height": RENDER_SIZE * BROWSER_SUPERSAMPLING,
              **{key: value / gltf.CENTIMETRES_PER_METRE for key, value in frustum.items()}}
    constant = {**common, "lighting": "constant", "radiance": CONSTANT_RADIANCE}
    gradient = {**common, "lighting": "gradient", "radiance": GRADIENT_BASE, "slope": GRADIENT_SLOPE}
    jobs = [{"model": str(glb_path), "out": str(tmp_path / "constant.png"), "query": constant},
            {"model": str(glb_path), "out": str(tmp_path / "gradient.png"), "query": gradient},
            {"model": str(flipped_path), "out": str(tmp_path / "flipped.png"), "query": gradient}]
    for job in jobs:
        job["query"] = "&".join(f"{key}={value}" for key, value in job["query"].items())
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    result = subprocess.run([NODE, str(VIEWER / "render.mjs"), str(tmp_path / "jobs.json")], capture_output=True,
                            text=True, timeout=120)
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0 and all(r["ok"] for r in reports), result.stdout + result.stderr
    loaded = reports[0]["materials"][0]
    assert loaded["type"] == "MeshPhysicalMaterial" and loaded["hasTangents"] and loaded["hasSpecularColorMap"]
    assert loaded["ior"] == pytest.approx(gltf.SKIN_IOR) and loaded["metalness"] == 0

    def browser(path: Path) -> np.ndarray:
        rgba = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]].astype(np.float64) / 255.0
        return cv2.resize(rgba, (RENDER_SIZE, RENDER_SIZE), interpolation=cv2.INTER_AREA)

    def svfri_render(environment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        radiance, coverage, _ = render_view(asset, environment_lighting(environment), yaw=0.0, pitch=0.0,
                                            size=RENDER_SIZE)
        return linear_to_srgb_np(np.clip(radiance / np.maximum(coverage[..., None], 1e-6), 0, 1)), coverage

    rows = 32
    polar = np.pi * (np.arange(rows) + 0.5) / rows  # svfri equirect: row v -> theta = pi v from +Y, y = cos(theta)
    gradient_map = np.broadcast_to((GRADIENT_BASE + GRADIENT_SLOPE * np.cos(polar))[:, None, None],
                                   (rows, 2 * rows, 3)).astype(np.float32)
    reference_constant, coverage = svfri_render(np.full((rows, 2 * rows, 3), CONSTANT_RADIANCE, np.float32))
    reference_gradient, _ = svfri_render(gradient_map)

    constant_image = browser(tmp_path / "constant.png")
    alpha = constant_image[..., 3]
    assert 0.3 < (alpha > 0.5).mean() < 0.8  # a face filling the frame with a margin, not empty, not everything
    assert np.mean(np.abs((alpha > 0.5) != (coverage > 0.5))) < 0.01  # same silhouette
    mask = (coverage > 0.999) & (alpha > 0.999)
    psnr_constant = _psnr(reference_constant, constant_image[..., :3], mask)
    psnr_gradient = _psnr(reference_gradient, browser(tmp_path / "gradient.png")[..., :3], mask)
    psnr_flipped = _psnr(reference_gradient, browser(tmp_path / "flipped.png")[..., :3], mask)
    for name, value in (("constant", psnr_constant), ("gradient", psnr_gradient), ("flipped", psnr_flipped)):
        record_property(f"psnr_{name}_db", round(value, 2))
    print(f"browser vs svfri PSNR: constant {psnr_constant:.2f} dB, gradient {psnr_gradient:.2f} dB, "
          f"green-flipped normal map {psnr_flipped:.2f} dB; {reports[-1]['seconds']:.1f} s in Chromium")
    assert psnr_constant > 38.0
    assert psnr_gradient > 35.0
    assert psnr_gradient > psnr_flipped + 10.0


# ----------------------------------------------------------------------------------------- OBJ, CLI and errors

def test_obj_export_opens_in_trimesh_with_its_textures(face_folder, tmp_path):
    import trimesh

    from svfri.pipeline.export_job import ExportSettings, run_export

    report = run_export(face_folder, out=tmp_path / "out", settings=ExportSettings(format="both", texture_size=64))
    names = sorted(Path(path).name for path in report["files"])
    assert names == ["face.glb", "face.mtl", "face.obj", "face_albedo.png", "face_normal.png", "face_specular.png"]
    mesh = trimesh.load(tmp_path / "out" / "face.obj", force="mesh", process=False)
    asset = load_face_asset(face_folder)
    np.testing.assert_allclose(mesh.vertices, asset.vertices, atol=1e-5)  # OBJ stays in cm
    np.testing.assert_allclose(mesh.visual.uv, asset.uv, atol=1e-5)
    assert mesh.visual.material.image is not None and mesh.visual.material.image.size == (64, 64)
    mtl = (tmp_path / "out" / "face.mtl").read_text().splitlines()
    for line in ("Kd 1 1 1", "Ni 1.4", f"Pr {ROUGHNESS:.4f}", "Pm 0", "map_Kd face_albedo.png",
                 "map_Ks face_specular.png", "map_Bump -bm 1.0 face_normal.png"):
        assert line in mtl


def test_bad_inputs_and_outputs_raise_one_line_errors(face_folder, tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    from svfri.pipeline.export_job import ExportSettings, run_export

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="is missing; this is not a complete svfri output folder"):
        run_export(tmp_path / "empty")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OutputError):
        run_export(face_folder, out=blocker, settings=ExportSettings(format="obj"))
    with pytest.raises(UsageError):
        run_export(face_folder, out=tmp_path / "x.glb", settings=ExportSettings(format="both"))
    with pytest.raises(UsageError):
        ExportSettings(format="fbx")

    runner = CliRunner()
    missing = runner.invoke(main, ["export", str(tmp_path / "empty")])
    assert missing.exit_code == InputError.exit_code and missing.output.count("\n") == 1
    unwritable = runner.invoke(main, ["export", str(face_folder), "--out", str(blocker / "sub")])
    assert unwritable.exit_code == OutputError.exit_code and unwritable.output.startswith("error: ")
    ok = runner.invoke(main, ["export", str(face_folder), "--out", str(tmp_path / "named.glb"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["files"] == [str(tmp_path / "named.glb")]
    assert gltf.read_glb(tmp_path / "named.glb")[0]["asset"]["version"] == "2.0"

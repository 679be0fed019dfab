"""`svfri relight`: physics on a known asset, views, outputs and bad environment maps."""

import json

import cv2
import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from svfri.errors import HdrError, InputError
from svfri.io.hdr import read_environment, write_exr
from svfri.io.images import write_png
from svfri.io.mesh_io import write_obj
from svfri.render.relight import view_rotation
from svfri_cli.main import main

IMAGE_SIZE = 96


def _sphere_folder(folder, *, albedo=1.0, specular=0.0):
    """A contract-following folder that svfri did not make: a UV-mapped unit sphere seen by a 3x4 camera."""
    sphere = trimesh.creation.uv_sphere(radius=1.0, count=[32, 32])
    vertices = np.asarray(sphere.vertices)
    uv = np.stack([np.arctan2(vertices[:, 0], vertices[:, 2]) / (2 * np.pi) + 0.5,
                   np.arccos(np.clip(vertices[:, 1], -1, 1)) / np.pi], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    write_obj(folder / "mesh.obj", vertices, sphere.faces, uv, vertices, textures={})
    scale = IMAGE_SIZE * 0.4
    camera = [[scale, 0, 0, IMAGE_SIZE / 2], [0, -scale, 0, IMAGE_SIZE / 2], [0, 0, 0, 1]]
    (folder / "fit.json").write_text(json.dumps({"camera": {"world_to_pixel": camera, "image_width": IMAGE_SIZE,
                                                            "image_height": IMAGE_SIZE}}))
    write_png(folder / "albedo.png", np.full((8, 8, 3), albedo))
    write_png(folder / "specular.png", np.full((8, 8), specular))
    write_png(folder / "normal.png", np.broadcast_to(np.array([0.5, 0.5, 1.0]), (8, 8, 3)).copy())
    return folder


def test_white_furnace_on_a_foreign_folder(tmp_path):
    """Albedo 1 under constant radiance 1, convex (unoccluded) sphere: every pixel reflects radiance 1."""
    folder = _sphere_folder(tmp_path / "sphere")
    hdr = write_exr(tmp_path / "white.exr", np.ones((32, 64, 3), np.float32))
    out = tmp_path / "relit.png"
    result = CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    rgba = _read_rgba(out.with_suffix(".exr"))
    inside = rgba[..., 3] > 0.999
    assert inside.sum() > 0.3 * IMAGE_SIZE ** 2
    radiance = rgba[..., :3][inside] / rgba[..., 3:][inside]
    assert np.abs(radiance - 1.0).max() < 0.03
    assert cv2.imread(str(out)).shape == (IMAGE_SIZE, IMAGE_SIZE, 3)


def test_light_from_one_side_lights_that_side(tmp_path):
    folder = _sphere_folder(tmp_path / "sphere", specular=0.5)
    environment = np.full((32, 64, 3), 0.02, np.float32)
    environment[8:24, 40:56] = 20.0  # centred near u = 0.75, i.e. the -X direction (viewer's left)
    hdr = write_exr(tmp_path / "side.exr", environment)
    out = tmp_path / "relit.png"
    assert CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out)]).exit_code == 0
    image = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE).astype(float)
    left, right = image[:, : IMAGE_SIZE // 2 - 8].mean(), image[:, IMAGE_SIZE // 2 + 8:].mean()
    assert left > right + 30
    # Rotating the environment by 180 degrees moves the light to the other side.
    out2 = tmp_path / "turned.png"
    assert CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out2),
                                     "--rotate", "180"]).exit_code == 0
    turned = cv2.imread(str(out2), cv2.IMREAD_GRAYSCALE).astype(float)
    assert turned[:, IMAGE_SIZE // 2 + 8:].mean() > turned[:, : IMAGE_SIZE // 2 - 8].mean() + 30


def test_exposure_scales_linear_output(tmp_path):
    folder = _sphere_folder(tmp_path / "sphere", albedo=0.5)
    hdr = write_exr(tmp_path / "grey.exr", np.full((32, 64, 3), 0.25, np.float32))
    runner = CliRunner()
    outputs = []
    for ev in ("0", "2"):
        out = tmp_path / f"ev{ev}.png"
        assert runner.invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out),
                                    "--exposure", ev]).exit_code == 0
        outputs.append(_read_rgba(out.with_suffix(".exr")))
    mask = outputs[0][..., 3] > 0.999
    assert np.allclose(outputs[1][..., :3][mask], 4 * outputs[0][..., :3][mask], rtol=1e-2)


def _read_rgba(path):
    import OpenEXR
    with OpenEXR.File(str(path)) as exr:
        channels = exr.parts[0].channels
        if "RGBA" in channels:
            return np.asarray(channels["RGBA"].pixels, np.float32)
        return np.stack([np.asarray(channels[c].pixels, np.float32) for c in "RGBA"], axis=-1)


def test_novel_view_and_turntable(tmp_path):
    folder = _sphere_folder(tmp_path / "sphere")
    hdr = write_exr(tmp_path / "white.exr", np.ones((32, 64, 3), np.float32))
    out = tmp_path / "view.png"
    result = CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out), "--yaw", "40",
                                       "--size", "64", "--turntable", "4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["photo_view"] is False and len(report["files"]) == 3
    import imageio.v2 as imageio
    frames = imageio.mimread(out.with_name("view_turntable.gif"))
    assert len(frames) == 4 and frames[0].shape[:2] == (64, 64)


def test_view_rotation_convention():
    forward = np.array([0.0, 0.0, 1.0])
    assert view_rotation(90, 0) @ forward == pytest.approx([1, 0, 0], abs=1e-12)   # face turns to its left (+X)
    assert view_rotation(0, 90) @ forward == pytest.approx([0, 1, 0], abs=1e-12)   # face tilts up


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_bytes(b"not an exr at all"), "is not an OpenEXR file"),
    (lambda p: p.write_bytes(write_exr(p.with_name("ok.exr"), np.ones((16, 32, 3), np.float32)).read_bytes()[:300]),
     "truncated or corrupt"),
    (lambda p: write_exr(p, np.ones((16, 16, 3), np.float32)), "width is twice its height"),
])
def test_bad_environment_maps(tmp_path, make, message):
    folder = _sphere_folder(tmp_path / "sphere")
    hdr = tmp_path / "env.exr"
    make(hdr)
    result = CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr)])
    assert result.exit_code == HdrError.exit_code, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_folder_without_contract_files(tmp_path):
    hdr = write_exr(tmp_path / "white.exr", np.ones((16, 32, 3), np.float32))
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["relight", str(tmp_path / "empty"), "--hdr", str(hdr)])
    assert result.exit_code == InputError.exit_code and "fit.json is missing" in result.stderr


def test_matching_exposure_gives_the_reference_frontal_irradiance():
    from svfri.math.sh import sh_basis_np
    from svfri.render.relight import frontal_irradiance_luminance, matching_exposure_ev

    constant = np.zeros((9, 3))
    constant[0] = 1.0 / sh_basis_np(np.array([0.0, 0.0, 1.0]))[0]        # radiance 1 everywhere
    assert np.isclose(frontal_irradiance_luminance(constant), np.pi)      # E = pi L for a constant sky
    reference = 4.0 * constant
    ev = matching_exposure_ev(constant, reference)
    assert np.isclose(ev, 2.0)
    assert np.isclose(frontal_irradiance_luminance(constant * 2 ** ev), frontal_irradiance_luminance(reference))
    with pytest.raises(ValueError, match="no frontal irradiance"):
        matching_exposure_ev(np.zeros((9, 3)), reference)


def test_match_photo_exposure_through_the_cli(tmp_path):
    """A white sphere lit by a constant sky of radiance 0.25; the 'fitted' light says radiance 1: matching the photo's
    exposure brings the render to 1. Without lighting.json the flag is refused with a usage error."""
    from svfri.math.sh import sh_basis_np

    folder = _sphere_folder(tmp_path / "sphere")
    hdr = write_exr(tmp_path / "grey.exr", np.full((32, 64, 3), 0.25, np.float32))
    out = tmp_path / "relit.png"
    refused = CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out),
                                        "--match-photo-exposure"])
    assert refused.exit_code == 2 and "lighting.json" in refused.output
    fitted = np.zeros((9, 3))
    fitted[0] = 1.0 / sh_basis_np(np.array([0.0, 0.0, 1.0]))[0]
    (folder / "lighting.json").write_text(json.dumps({"coefficients": fitted.tolist()}))
    result = CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--out", str(out), "-q",
                                       "--match-photo-exposure"])
    assert result.exit_code == 0, result.output
    rgba = _read_rgba(out.with_suffix(".exr"))
    inside = rgba[..., 3] > 0.999
    assert np.abs(rgba[..., :3][inside] / rgba[..., 3:][inside] - 1.0).max() < 0.03


def test_match_photo_exposure_matches_the_windowed_sh_the_renderer_uses():
    """On a non-constant map (a bright lamp in front of the face over a dim sky) the matched lighting's frontal
    irradiance -- from the windowed SH the shader uses -- equals the fitted light's; matching on the unwindowed
    projection would miss it by the window's band-1/2 attenuation."""
    from svfri.math.sh import window_sh
    from svfri.render.environment import environment_to_sh, equirect_directions
    from svfri.render.relight import environment_lighting, frontal_irradiance_luminance

    height = 32
    directions = equirect_directions(height, 2 * height)
    env = np.full((height, 2 * height, 3), 0.05, np.float32)
    env[directions[..., 2] > 0.9] = 20.0                                   # a lamp round +Z (the camera side)
    reference = np.zeros((9, 3))
    reference[0] = 3.0
    lighting = environment_lighting(env, match_light_sh=reference)
    target = frontal_irradiance_luminance(reference)
    assert np.isclose(frontal_irradiance_luminance(lighting.light_sh), target, rtol=1e-6)
    unwindowed = environment_to_sh(env).astype(np.float64)
    ratio = frontal_irradiance_luminance(unwindowed) / frontal_irradiance_luminance(window_sh(unwindowed))
    assert ratio > 1.05                               # the window matters on this map: the old match was off by it

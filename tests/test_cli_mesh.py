"""`svfri mesh` through Click's CliRunner: outputs, batches, failures, exit codes."""

import json
import shutil

import cv2
import numpy as np
import pytest
import trimesh

from svfri.io.mesh_io import read_obj
from click.testing import CliRunner

from svfri.errors import EXIT_SOME_FAILED, InputError, NoFaceError, OutputError
from svfri.io.staging import STAGING_PREFIX
from svfri_cli.main import main

GEOMETRY_FILES = ("mesh.obj", "mesh.mtl", "texture.png", "texture_mask.png", "visibility.npz", "landmarks.json",
                  "fit.json", "overlay.png")


@pytest.fixture(scope="module")
def sample_output(tmp_path_factory, sample_photo):
    out = tmp_path_factory.mktemp("mesh")
    result = CliRunner().invoke(main, ["mesh", str(sample_photo), "--out", str(out), "--texture-size", "256"])
    assert result.exit_code == 0, result.output
    return out


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.startswith("svfri, version ")
    for command in ([], ["mesh"], ["fit"], ["fetch-models"]):
        result = runner.invoke(main, command + ["--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_mesh_output_set(sample_output):
    for name in GEOMETRY_FILES:
        assert (sample_output / name).is_file(), name
    # Other readers see one mesh (trimesh: force="mesh" for a multi-material OBJ) with the file's vertices.
    mesh = trimesh.load(sample_output / "mesh.obj", process=False, force="mesh")
    obj = read_obj(sample_output / "mesh.obj")
    assert np.allclose(mesh.vertices, obj.vertices, atol=1e-5)
    assert obj.vertices.shape[0] > 7000 and obj.uv.shape == (obj.vertices.shape[0], 2)
    fit = json.loads((sample_output / "fit.json").read_text())
    world_to_pixel = np.array(fit["camera"]["world_to_pixel"])
    assert world_to_pixel.shape == (3, 4) and fit["mesh"]["kind"] == "ict"
    # The camera maps the mesh onto the face in the photo: the skin material's vertices (face with ears) in the
    # face's box, the whole head (scalp, neck) around it.
    face = np.unique(obj.faces[np.array(obj.material_names)[obj.face_material] == "face"])
    pixels = (obj.vertices[face] @ world_to_pixel[:, :3].T + world_to_pixel[:, 3])[:, :2]
    low, high = np.percentile(pixels, 2, axis=0), np.percentile(pixels, 98, axis=0)
    assert low[0] > 140 and high[0] < 310 and low[1] > 40 and high[1] < 260, (low, high)
    landmarks = np.array(json.loads((sample_output / "landmarks.json").read_text())["points"])
    assert landmarks.shape == (68, 2)
    # Hand check on the sample: nose tip (30) near (222, 128), subject's right outer eye corner (36) left of the left (45).
    assert np.linalg.norm(landmarks[30] - [222, 128]) < 8
    assert landmarks[36, 0] < landmarks[39, 0] < landmarks[42, 0] < landmarks[45, 0]
    assert landmarks[8, 1] > landmarks[57, 1] > landmarks[33, 1] > landmarks[27, 1]
    texture = cv2.imread(str(sample_output / "texture.png"))
    assert texture.shape == (256, 256, 3)
    visibility = np.load(sample_output / "visibility.npz")
    assert visibility["vertex_visibility_sh"].shape == (mesh.vertices.shape[0], 9)
    assert not list(sample_output.glob(STAGING_PREFIX + "*"))


def test_batch_with_bad_inputs_and_skip_existing(tmp_path, sample_photo):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(sample_photo, photos / "good.png")
    (photos / "notes.jpg").write_text("not an image")
    data = sample_photo.read_bytes()
    (photos / "corrupt.png").write_bytes(data[: len(data) // 3])
    cv2.imwrite(str(photos / "wall.png"), np.full((200, 300, 3), 180, np.uint8))
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(main, ["mesh", str(photos), "--out", str(out), "--texture-size", "128", "--json"])
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    report = json.loads(result.stdout)
    status = {row["input"].split("/")[-1]: row for row in report["results"]}
    assert status["good.png"]["status"] == "ok"
    assert status["notes.jpg"]["exit_code"] == InputError.exit_code and "not an image" in status["notes.jpg"]["error"]
    assert status["corrupt.png"]["exit_code"] == InputError.exit_code
    assert status["wall.png"]["exit_code"] == NoFaceError.exit_code
    assert "no face found" in result.stderr
    assert (out / "good" / "fit.json").is_file() and not (out / "wall").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary) == 4 and (out / "summary.csv").is_file()

    stamp = (out / "good" / "fit.json").stat().st_mtime_ns
    again = runner.invoke(main, ["mesh", str(photos), "--out", str(out), "--skip-existing", "--quiet"])
    assert again.exit_code == EXIT_SOME_FAILED
    assert (out / "good" / "fit.json").stat().st_mtime_ns == stamp
    assert again.stdout == ""


def test_failed_run_never_clobbers_existing_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "fit.json").write_text("earlier result")
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((200, 300, 3), 180, np.uint8))
    result = CliRunner().invoke(main, ["mesh", str(wall), "--out", str(out)])
    assert result.exit_code == NoFaceError.exit_code
    assert result.stderr.strip() == (f"error: {wall}: no face found in the photo; "
                                     "use a photo where one face is clearly visible")
    assert (out / "fit.json").read_text() == "earlier result"
    assert sorted(p.name for p in out.iterdir()) == ["fit.json"]


def test_grayscale_photo_is_noted(tmp_path, sample_photo):
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), cv2.imread(str(sample_photo), cv2.IMREAD_GRAYSCALE))
    result = CliRunner().invoke(main, ["mesh", str(grey), "--out", str(tmp_path / "o"), "--texture-size", "64"])
    assert result.exit_code == 0
    assert f"note: {grey}: grayscale photo: colours (albedo, lighting) come out grey" in result.stderr


def test_unwritable_out(tmp_path, sample_photo):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    runner = CliRunner()
    result = runner.invoke(main, ["mesh", str(sample_photo), "--out", str(blocker)])
    assert result.exit_code == 2 and "is a file" in result.stderr
    result = runner.invoke(main, ["mesh", str(sample_photo), "--out", str(blocker / "inside")])
    assert result.exit_code == OutputError.exit_code
    assert "cannot write here" in result.stderr


def test_missing_file_and_usage_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["mesh", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")])
    assert result.exit_code == InputError.exit_code and "no such file" in result.stderr
    assert runner.invoke(main, ["mesh", "--out", str(tmp_path)]).exit_code == 2
    assert runner.invoke(main, ["mesh", "x.jpg", "--out", str(tmp_path), "--face", "-1"]).exit_code == 2

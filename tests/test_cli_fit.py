"""`svfri fit` through CliRunner with small untrained networks: the output contract, determinism, batches."""

import json

import cv2
import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from svfri.errors import EXIT_SOME_FAILED, NotYetError
from svfri.pipeline.fit_job import NETWORKS_DIR_ENV
from svfri_cli.main import main

FIT_FILES = ("face.glb", "albedo.png", "specular.png", "normal.png", "mesh.obj", "mesh.mtl", "visibility.npz", "lighting.json",
             "landmarks.json", "reconstruction.png", "fit.json", "report.png", "texture.png", "overlay.png")
FIT_ARGS = ["--steps", "4", "--refine-steps", "5", "--texture-size", "128"]




@pytest.fixture(scope="module")
def fitted(tmp_path_factory, tiny_networks, sample_photo):
    out = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(NETWORKS_DIR_ENV, str(tiny_networks))
        result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(out), *FIT_ARGS, "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_output_contract(fitted):
    out, report = fitted
    for name in FIT_FILES:
        assert (out / name).is_file(), name
    fit = json.loads((out / "fit.json").read_text())
    assert len(fit["fit"]["loss_per_step"]) == 4 and fit["fit"]["latent_prior_weight"] > 0
    assert fit["refine"]["steps"] == 5 and len(fit["refine"]["data_loss_per_step"]) == 5
    assert fit["refine"]["data_loss_per_step"][-1] < fit["refine"]["data_loss_per_step"][0]
    assert "refine" in fit["timings_seconds"]
    assert set(fit["metrics_whole_face"]) >= {"psnr_db", "ssim", "l1"} and set(fit["metrics_fit_inliers"]) >= {"psnr_db"}
    assert {"detect_mesh", "bake", "encode", "optimise", "write"} <= set(fit["timings_seconds"])
    assert fit["versions"]["tensorflow"] and fit["camera"]["world_to_pixel"]
    lighting = json.loads((out / "lighting.json").read_text())
    assert np.array(lighting["coefficients"]).shape == (9, 3) and len(lighting["order"]) == 9
    albedo = cv2.imread(str(out / "albedo.png"))
    assert albedo.shape[0] == albedo.shape[1] and albedo.shape[0] >= 64
    mesh = trimesh.load(out / "mesh.obj", process=False, force="mesh")
    assert "map_Kd albedo.png" in (out / "mesh.mtl").read_text() and len(mesh.vertices) > 7000
    row = report["results"][0]
    assert row["status"] == "ok" and row["metrics"]["psnr_db"] > 5


def test_loss_goes_down_and_runs_are_deterministic(fitted, tmp_path, use_tiny, sample_photo):
    out, _ = fitted
    first = json.loads((out / "fit.json").read_text())["fit"]["loss_per_step"]
    assert first[-1] < first[0]
    again = tmp_path / "again"
    assert CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(again), *FIT_ARGS, "-q",
                                     "--no-report"]).exit_code == 0
    second = json.loads((again / "fit.json").read_text())["fit"]["loss_per_step"]
    assert np.allclose(first, second, rtol=1e-4)
    a = cv2.imread(str(out / "albedo.png")).astype(int)
    b = cv2.imread(str(again / "albedo.png")).astype(int)
    assert np.abs(a - b).max() <= 1


def test_resolution_and_save_every(tmp_path, use_tiny, sample_photo):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(out), *FIT_ARGS, "--resolution", "96",
                                       "--save-every", "2", "--no-report", "-q"])
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(out / "albedo.png")).shape == (96, 96, 3)
    normal = cv2.imread(str(out / "normal.png"))[..., ::-1].astype(float) / 255 * 2 - 1
    assert np.allclose(np.linalg.norm(normal, axis=-1), 1.0, atol=0.03)
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["step_0002", "step_0004"]
    assert not (out / "report.png").exists()


def test_batch_with_failures_and_resume(tmp_path, use_tiny, sample_photo):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "good.png").write_bytes(sample_photo.read_bytes())
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    cv2.imwrite(str(photos / "blank.png"), np.full((120, 160, 3), 90, np.uint8))
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(main, ["fit", str(photos), "--out", str(out), *FIT_ARGS, "--no-report"])
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert "good.png -> " in result.stdout and "fit: 1/3 done" in result.stdout
    assert result.stderr.count("error: ") == 2
    summary = {row["input"].split("/")[-1]: row for row in json.loads((out / "summary.json").read_text())}
    assert summary["good.png"]["status"] == "ok" and summary["blank.png"]["exit_code"] == 11
    stamp = (out / "good" / "albedo.png").stat().st_mtime_ns
    again = runner.invoke(main, ["fit", str(photos), "--out", str(out), *FIT_ARGS, "--skip-existing", "--json"])
    rows = {row["input"].split("/")[-1]: row["status"] for row in json.loads(again.stdout)["results"]}
    assert rows == {"good.png": "skipped", "broken.jpg": "failed", "blank.png": "failed"}
    assert (out / "good" / "albedo.png").stat().st_mtime_ns == stamp


def test_without_weights_fit_says_not_yet(tmp_path, monkeypatch, sample_photo):
    monkeypatch.setenv(NETWORKS_DIR_ENV, str(tmp_path / "nothing-here"))
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(tmp_path / "o")])
    assert result.exit_code == NotYetError.exit_code and "no trained network weights" in result.stderr


def test_refinement_can_be_switched_off_and_bad_values_are_refused(tmp_path, use_tiny, sample_photo):
    out = tmp_path / "plain"
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(out), "--steps", "2",
                                       "--refine-steps", "0", "--texture-size", "64", "--no-report", "-q"])
    assert result.exit_code == 0, result.output
    fit = json.loads((out / "fit.json").read_text())
    assert fit["refine"] == {"steps": 0} and "refine" not in fit["timings_seconds"]
    bad = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(tmp_path / "bad"), "--latent-prior", "-1"])
    assert bad.exit_code == 2 and "--latent-prior" in bad.output

"""fit.json's reconstruction PSNR is over the whole projected face: an independent computation agrees within 1 dB.

Independent: only the written files are read -- ``mesh.obj``, ``fit.json``'s ``world_to_pixel``, the photo and
``reconstruction.png`` -- and the pixels scored are the convex hull of the projected mesh, filled by OpenCV. On the
template mesh (a face disc) the hull is the face; on the ICT head (a whole head) the scored face area is the inside
of the template disc plus eyes and mouth, which the files do not carry: there the check is that the scored pixels are
well inside the projected head's hull.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

from svfri.fitting.settings import FitSettings, RefineSettings
from svfri.io.images import read_photo
from svfri.math.metrics import psnr

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "astronaut.png"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    from svfri.pipeline.fit_job import FitJobSettings, run_fit

    from svfri.pipeline.geometry_stage import GeometrySettings

    folder = tmp_path_factory.mktemp("whole_face") / "out"
    run_fit(SAMPLE, folder, FitJobSettings(geometry=GeometrySettings(mesh="template"), fit=FitSettings(steps=8),
                                           refine=RefineSettings(steps=4), report=False))
    return folder


@pytest.fixture(scope="module")
def fitted_ict(tmp_path_factory) -> Path:
    from svfri.pipeline.fit_job import FitJobSettings, run_fit

    folder = tmp_path_factory.mktemp("whole_face_ict") / "out"
    run_fit(SAMPLE, folder, FitJobSettings(fit=FitSettings(steps=4), report=False))
    return folder


def test_ict_head_scores_the_face_area_not_the_head(fitted_ict):
    record = json.loads((fitted_ict / "fit.json").read_text())
    whole = record["metrics_whole_face"]
    camera = np.asarray(record["camera"]["world_to_pixel"], np.float64)
    mesh = trimesh.load(fitted_ict / "mesh.obj", process=False, force="mesh")
    pixels = np.asarray(mesh.vertices) @ camera[:2, :3].T + camera[:2, 3]
    hull = cv2.convexHull(np.round(pixels * 16).astype(np.int32))
    mask = np.zeros((record["camera"]["image_height"], record["camera"]["image_width"]), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    work_per_photo_pixel = record["camera"]["cm_per_pixel"] / record["work_image"]["camera"]["cm_per_pixel"]
    assert "eyes and mouth included" in whole["pixels_scored"] and "template disc" in whole["pixels_scored"]
    assert 0 < whole["mask_pixels"] < 0.8 * mask.sum() * work_per_photo_pixel ** 2
    assert np.isfinite(whole["psnr_db"])


def test_fit_json_psnr_matches_an_independent_hull_computation(fitted):
    record = json.loads((fitted / "fit.json").read_text())
    reported = record["metrics_whole_face"]["psnr_db"]
    camera = np.asarray(record["camera"]["world_to_pixel"], np.float64)
    mesh = trimesh.load(fitted / "mesh.obj", process=False, force="mesh")
    pixels = np.asarray(mesh.vertices) @ camera[:2, :3].T + camera[:2, 3]
    photo = read_photo(SAMPLE).to_float()
    reconstruction = read_photo(fitted / "reconstruction.png").to_float()
    assert reconstruction.shape == photo.shape
    hull = cv2.convexHull(np.round(pixels * 16).astype(np.int32))
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    independent = psnr(reconstruction, photo, mask.astype(bool))
    assert abs(independent - reported) < 1.0, (independent, reported)


def test_inlier_figure_is_labelled_and_not_the_headline(fitted):
    record = json.loads((fitted / "fit.json").read_text())
    inliers, whole = record["metrics_fit_inliers"], record["metrics_whole_face"]
    assert "diagnostic" in inliers["pixels_scored"] and "eyes and mouth included" in whole["pixels_scored"]
    assert inliers["mask_pixels"] < whole["mask_pixels"]

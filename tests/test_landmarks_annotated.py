"""The annotated-landmark benchmark's scoring: .pts parsing (1-based) and NME on known answers."""

import numpy as np
import pytest

from benchmarks.landmarks_annotated import INNER, JAW, nme, read_pts, yaw_degrees


def _ibug_points() -> np.ndarray:
    points = np.zeros((68, 2))
    points[:, 0] = np.arange(68)
    points[36], points[45] = (10.0, 50.0), (110.0, 50.0)        # outer eye corners 100 px apart
    return points


def test_read_pts_subtracts_one(tmp_path):
    path = tmp_path / "face.pts"
    path.write_text("version: 1\nn_points:  2\n{\n1.0 1.0\n11.5 21.0\n}\n")
    np.testing.assert_allclose(read_pts(path), [[0.0, 0.0], [10.5, 20.0]])


def test_nme_known_answers():
    truth = _ibug_points()
    assert nme(truth, truth) == 0.0
    shifted = truth + [3.0, 4.0]                                 # every point 5 px off: 5 / 100
    assert nme(shifted, truth) == pytest.approx(0.05)
    jaw_only = truth.copy()
    jaw_only[JAW] += [0.0, 10.0]                                 # 17 points 10 px off
    assert nme(jaw_only, truth, JAW) == pytest.approx(0.10)
    assert nme(jaw_only, truth, INNER) == 0.0
    assert nme(jaw_only, truth) == pytest.approx(0.10 * 17 / 68)
    degenerate = truth.copy()
    degenerate[45] = degenerate[36]
    with pytest.raises(ValueError, match="outer eye corners coincide"):
        nme(truth, degenerate)


def test_yaw_of_known_rotations():
    assert yaw_degrees(np.eye(3)) == 0.0
    angle = np.radians(40.0)
    about_y = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    assert yaw_degrees(about_y) == pytest.approx(40.0)       # forward axis turned towards +X (the photo's right)
    about_x = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    assert yaw_degrees(about_x) == pytest.approx(0.0)        # pitch alone is no yaw

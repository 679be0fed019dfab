"""Face detection + Face Mesh on the kinds of photos users have (issue #12, "Geometry robustness").

Variants are built in memory from ``samples/`` by ``benchmarks/robustness.py`` (black-and-white prints, synthetic
make-up / beard / glasses, in-plane rotation, small faces, mirrored yaw, several people in a scene). Each must mesh,
and its mesh must agree with the original photo's mesh mapped through the known transform: *consistency*, the mean
point distance over the outer-eye-corner distance (not accuracy against human annotation). The tolerances come
from the full corpus (``docs/benchmarks/robustness.md``).
"""

import numpy as np
import pytest

from benchmarks.robustness import (SCENE_SIZE, _background, build_scene, build_variant, consistency, load_source,
                                   reference_mesh, tone)
from svfri.errors import NoFaceError, UsageError
from svfri.geometry import face_detect
from svfri.geometry.face_detect import detect_faces, fit_face_mesh

#: Consistency tolerance for tone curves, rotations, rescales and scenes: the corpus's worst pass of these kinds
#: is 0.033 (a hard print turned 30 degrees), the median about 0.013.
CLEAN_TOLERANCE = 0.04
#: Consistency tolerance where an overlay hides landmarks (beard, sunglasses): worst pass 0.049, median 0.03.
OCCLUDED_TOLERANCE = 0.06
#: Lower body of the full-length photo: no face in it, but BlazeFace fires on the crossed arms as a hard print.
BODY_ROWS_FROM = 700


def _variant_consistency(variant, index=0):
    result = fit_face_mesh(variant.pixels, face_index=index)
    target = variant.targets[index]
    return result, consistency(result.points, target.expected(reference_mesh(target.source)))


@pytest.mark.parametrize("source, kind, tolerance", [
    ("obama_2009_stage_light.jpg", "grey_print_hard", CLEAN_TOLERANCE),       # the speaker at a lectern, B&W
    ("obama_2009_stage_light.jpg", "grey_print_faded+rotate_-30", CLEAN_TOLERANCE),
    ("grace_hopper.jpg", "face_60px", CLEAN_TOLERANCE),
    ("obama_2012.jpg", "rotate_30", CLEAN_TOLERANCE),
    ("obama_2009_stage_light.jpg", "mirror+grey_print_faded", CLEAN_TOLERANCE),  # yaw the other way
    ("astronaut.png", "makeup+grey_luma", CLEAN_TOLERANCE),
    ("obama_2012.jpg", "beard", OCCLUDED_TOLERANCE),
    ("grace_hopper.jpg", "sunglasses", OCCLUDED_TOLERANCE),
])
def test_variant_meshes_consistently(source, kind, tolerance):
    result, value = _variant_consistency(build_variant(source, kind))
    assert result.face_count == 1
    assert value <= tolerance, f"{source} {kind}: consistency {value:.3f} > {tolerance}"


def test_black_and_white_photo_with_a_non_face_detection_larger_than_the_face():
    """The issue's failure: on a black-and-white print BlazeFace also fires on the crossed arms, with a box as
    large as the face, so "largest first" meshed the arms and failed "not confident a face is there". The mesh
    regressor's presence now rejects that detection."""
    variant = build_variant("biden_2010_full_length.jpg", "grey_print_faded+rotate_30")
    expected = variant.targets[0].expected(reference_mesh(variant.targets[0].source))
    candidates = face_detect._detector_candidates(variant.pixels)
    x0, y0, x1, y1 = candidates[0].box  # the largest candidate is not on the face: its box misses the nose tip
    assert not (x0 <= expected[1, 0] <= x1 and y0 <= expected[1, 1] <= y1)
    result, value = _variant_consistency(variant)
    assert result.face_count == 1 and len(detect_faces(variant.pixels)) == 1
    assert value <= CLEAN_TOLERANCE


def test_every_face_of_a_scene_is_found_and_choosable():
    """Three ~130 px faces in a 1000 px black-and-white scene: each ``face_index`` meshes a different pasted face."""
    scene = build_scene("scene_three")
    expected = [t.expected(reference_mesh(t.source)) for t in scene.targets]
    hit = set()
    for index in range(len(expected)):
        result = fit_face_mesh(scene.pixels, face_index=index)
        assert result.face_count == len(expected)
        values = [consistency(result.points, e) for e in expected]
        best = int(np.argmin(values))
        assert values[best] <= CLEAN_TOLERANCE
        hit.add(best)
    assert hit == set(range(len(expected)))
    with pytest.raises(UsageError, match=f"only {len(expected)} face"):
        fit_face_mesh(scene.pixels, face_index=len(expected))


def test_no_face_still_fails_with_the_same_messages():
    """A textured background (nothing detected) and a black-and-white body without a head (detections the mesh
    rejects) fail as before: NoFaceError, exit code 11, each with its own message."""
    with pytest.raises(NoFaceError, match="no face found") as caught:
        fit_face_mesh(_background(SCENE_SIZE, seed=2))
    assert caught.value.exit_code == 11

    body = tone(load_source("obama_2009_stage_light.jpg")[BODY_ROWS_FROM:], "grey_print_hard")
    assert face_detect._detector_candidates(body), "the detector should fire here, or this checks nothing new"
    assert detect_faces(body) == []
    with pytest.raises(NoFaceError, match="not confident a face is there") as caught:
        fit_face_mesh(body)
    assert caught.value.exit_code == 11

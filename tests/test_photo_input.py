"""Reading photos and finding faces: every bad input gives its own error and message."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from svfri.errors import FaceTooSmallError, InputError, NoFaceError, UsageError
from svfri.geometry.face_detect import MIN_FACE_SIZE_PX, detect_faces, fit_face_mesh
from svfri.io.images import read_photo

# Face box of the sample portrait (x0, y0, x1, y1), generous.
SAMPLE_FACE_REGION = (150, 50, 300, 200)


@pytest.fixture(scope="module")
def sample_rgb(sample_photo):
    return read_photo(sample_photo).pixels


def _save(path, pixels, **kwargs):
    Image.fromarray(pixels).save(path, **kwargs)
    return path


def test_sample_reads_as_upright_rgb(sample_photo, sample_rgb):
    photo = read_photo(sample_photo)
    assert photo.pixels.shape == (512, 512, 3) and photo.pixels.dtype == np.uint8
    assert not photo.was_grayscale and photo.exif_orientation == 1


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", r"empty \(0 bytes\)"),
    (b"this is not an image at all" * 10, "not an image"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "photo.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        read_photo(path)
    assert caught.value.exit_code == InputError.exit_code == 10


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_photo(tmp_path)


def test_truncated_jpeg(tmp_path, sample_rgb):
    buffer = io.BytesIO()
    Image.fromarray(sample_rgb).save(buffer, format="JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_photo(path)


def test_grayscale_rgba_and_16_bit(tmp_path, sample_rgb):
    grey = read_photo(_save(tmp_path / "grey.png", cv2.cvtColor(sample_rgb, cv2.COLOR_RGB2GRAY)))
    assert grey.was_grayscale and grey.pixels.shape == (512, 512, 3)
    assert np.array_equal(grey.pixels[..., 0], grey.pixels[..., 2])

    rgba = np.concatenate([sample_rgb, np.full((512, 512, 1), 200, np.uint8)], axis=2)
    photo = read_photo(_save(tmp_path / "rgba.png", rgba))
    assert photo.had_alpha and np.array_equal(photo.pixels, sample_rgb)

    deep = sample_rgb.astype(np.uint16) * 257
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), deep[..., ::-1])
    photo = read_photo(path)
    assert photo.pixels.dtype == np.uint16 and np.array_equal(photo.pixels, deep)
    # A 16-bit photo meshes like the 8-bit one.
    assert np.allclose(fit_face_mesh(photo.pixels).points, fit_face_mesh(sample_rgb).points, atol=1.0)


def test_exif_rotated_jpeg_is_turned_upright(tmp_path, sample_rgb):
    rotated = np.ascontiguousarray(np.rot90(sample_rgb, k=1))  # stored turned 90 degrees counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(rotated).save(path, quality=95, exif=exif)
    photo = read_photo(path)
    assert photo.exif_orientation == 6 and photo.pixels.shape == sample_rgb.shape
    assert np.abs(photo.pixels.astype(float) - sample_rgb).mean() < 4.0


def test_no_face(tmp_path):
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (256, 320, 3), dtype=np.uint8), (9, 9), 3)
    assert detect_faces(noise) == []
    with pytest.raises(NoFaceError, match="no face found") as caught:
        fit_face_mesh(noise)
    assert caught.value.exit_code == 11


def test_face_too_small(sample_rgb):
    x0, y0, x1, y1 = SAMPLE_FACE_REGION
    tiny = cv2.resize(sample_rgb[y0:y1, x0:x1], (56, 56), interpolation=cv2.INTER_AREA)
    detections = detect_faces(tiny)
    assert detections and detections[0].size < MIN_FACE_SIZE_PX
    with pytest.raises(FaceTooSmallError, match="px wide") as caught:
        fit_face_mesh(tiny)
    assert caught.value.exit_code == 12


def test_several_faces_largest_first_and_choosable(sample_rgb):
    x0, y0, x1, y1 = SAMPLE_FACE_REGION
    face = sample_rgb[y0:y1, x0:x1]
    canvas = np.full((300, 520, 3), 235, np.uint8)
    canvas[0:300, 0:300] = cv2.resize(face, (300, 300))
    canvas[60:260, 310:510] = cv2.resize(face, (200, 200))
    detections = detect_faces(canvas)
    assert len(detections) == 2
    assert detections[0].size > detections[1].size and detections[0].box[0] < 300 <= detections[1].box[0]
    largest = fit_face_mesh(canvas)
    second = fit_face_mesh(canvas, face_index=1)
    assert largest.face_count == 2 and largest.points[:, 0].mean() < 300 < second.points[:, 0].mean()
    with pytest.raises(UsageError, match="only 2 face"):
        fit_face_mesh(canvas, face_index=2)


def test_mesh_lands_on_the_sample_face(sample_rgb):
    result = fit_face_mesh(sample_rgb)
    x0, y0, x1, y1 = SAMPLE_FACE_REGION
    u, v = result.points[:, 0], result.points[:, 1]
    assert (u > x0).all() and (u < x1).all() and (v > y0).all() and (v < y1).all()
    nose_tip, right_eye_outer, left_eye_outer, chin = result.points[[1, 33, 263, 152]]
    # Hand-checked on the sample: subject's right eye is on the viewer's left; nose tip nearest the camera.
    assert right_eye_outer[0] < nose_tip[0] < left_eye_outer[0]
    assert right_eye_outer[1] < nose_tip[1] < chin[1]
    assert nose_tip[2] > right_eye_outer[2]
    assert abs(nose_tip[0] - 222) < 6 and abs(nose_tip[1] - 131) < 6


def test_huge_photo(tmp_path, sample_rgb):
    huge = np.full((6000, 8000, 3), 128, np.uint8)
    huge[1000:5000, 2000:6000] = cv2.resize(sample_rgb, (4000, 4000), interpolation=cv2.INTER_LINEAR)
    path = _save(tmp_path / "huge.jpg", huge, quality=80)
    photo = read_photo(path)
    assert photo.pixels.shape == (6000, 8000, 3)
    result = fit_face_mesh(photo.pixels)
    expected_nose = np.array([2000 + 222 * 4000 / 512, 1000 + 131 * 4000 / 512])
    assert np.linalg.norm(result.points[1, :2] - expected_nose) < 60

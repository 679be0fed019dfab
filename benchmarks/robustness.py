"""Robustness corpus for step 1 (face detection + Face Mesh): the kinds of real photos users have, built from
``samples/`` at run time, and the landmark consistency of the 468-point mesh on each variant.

Every variant is made from the public-domain portraits of ``samples/`` (``samples/PROVENANCE.md``) by a transform
whose geometry is known exactly (a 2x3 affine from the original photo's pixels to the variant's, plus a left-right
flag for mirrored copies), so the mesh found on the variant can be compared with the mesh found on the original,
mapped through that transform. Kinds (:data:`KINDS`):

* ``grey_luma``: Rec. 601 luma replicated to three channels (what a black-and-white photo reads as).
* ``grey_print_hard`` / ``grey_print_faded``: luma through an old-print tone curve: a steep S-curve that crushes
  the shadows and blows the highlights (hard print, :data:`HARD_PRINT_GAIN`), or a lifted-black, dulled-white
  low-contrast curve with grain (faded print, :data:`FADED_PRINT_RANGE`).
* ``makeup``: **synthetic** heavy make-up painted through the Face Mesh regions of the first detection on the
  original: strong lipstick (outer minus inner lip contour), eye shadow (eye contour up to the lower brow line),
  and a foundation colour shift over the face oval (eyes, brows and lips kept out).
* ``beard``: a **synthetic** full beard: hair-textured dark fill over the face oval below the nose base (lips kept
  out), spilling below the jaw line.
* ``glasses_frames`` / ``sunglasses``: **synthetic** thick dark frames drawn over the eyes (rims, bridge, temples);
  sunglasses add nearly opaque dark lenses.
* ``rotate_15`` / ``rotate_30`` / ``rotate_-15`` / ``rotate_-30``: the photo turned in the image plane about the
  face centre (degrees, counter-clockwise on screen).
* ``face_60px`` / ``face_90px`` / ``face_130px``: the downscale ladder: the whole photo resized so that the face
  (the larger side of the 468 points' bounding box, the definition of ``benchmarks/speed_faces.py``) is that size.
* ``mirror``: the photo flipped left-right. With the yaw the bundled photos already have this gives the opposite
  yaw; the yaw of every original is estimated and reported (:func:`estimate_yaw_degrees`).
* Scenes (``scene_colour``, ``scene_print``): 3-5 head-and-shoulder crops of different people (some mirrored,
  slightly different scales) with faces of about :data:`SCENE_FACE_PX` px pasted into a ~1000 px scene over a
  procedural textured background, in colour and as a hard black-and-white print; every ``face_index`` is tried
  and each mesh is matched to the pasted face it lands on.

* No-face photos (:data:`NO_FACE_CASES`): textured backgrounds and the bodies below the head of the full-length
  photos, in colour and as prints; they must still be refused with NoFaceError (exit code 11).

**Yaw is only what the samples have**: a photo's head cannot be turned, so 30-45 degree yaw is not covered beyond
the yaw estimated on the originals (printed by the benchmark). Make-up, beards and glasses are synthetic overlays
(flat paint with noise), not real ones.

**Consistency, not accuracy**: the number per variant is the mean distance between the variant's mesh and the
original's mesh mapped through the known transform, over the 468 points, divided by the outer-eye-corner
distance (vertices 33-263) of the mapped original. It measures how much the variant moves the mesh; it is not an
error against human annotation (the original's mesh is itself a regression).

Usage::

    git show 394e1f3:svfri/geometry/face_detect.py > /tmp/face_detect_before.py
    python benchmarks/robustness.py --face-detect-module /tmp/face_detect_before.py --json /tmp/robustness_before.json
    python benchmarks/robustness.py --json /tmp/robustness_after.json
    python benchmarks/robustness.py --table /tmp/robustness_before.json /tmp/robustness_after.json
    python benchmarks/robustness.py --timing /tmp/face_detect_before.py
    python benchmarks/robustness.py --detector-scores

Tests build single variants in memory with :func:`build_variant` (``tests/test_face_robustness.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = [
    "SAMPLES", "SOURCES", "KINDS", "SCENES", "Target", "Variant", "reference_mesh", "build_variant", "build_scene",
    "all_variants", "build_no_face", "NO_FACE_CASES", "evaluate", "consistency", "estimate_yaw_degrees",
    "face_extent", "eye_distance", "load_source", "tone", "MISPLACED_CONSISTENCY",
]

SAMPLES = REPO / "samples"
#: The bundled public-domain portraits (samples/PROVENANCE.md).
SOURCES = ("astronaut.png", "grace_hopper.jpg", "obama_2012.jpg", "obama_2009_stage_light.jpg",
           "biden_2010_full_length.jpg")
#: Single-face variant kinds built from each source (see the module docstring).
KINDS = ("grey_luma", "grey_print_hard", "grey_print_faded", "makeup", "beard", "glasses_frames", "sunglasses",
         "rotate_-30", "rotate_-15", "rotate_15", "rotate_30", "face_60px", "face_90px", "face_130px", "mirror",
         # combinations: a black-and-white print that is also tilted / small / has glasses or make-up
         "grey_print_faded+rotate_30", "grey_print_faded+rotate_-30", "grey_print_hard+rotate_30",
         "grey_print_hard+rotate_-30", "grey_print_hard+face_90px", "grey_print_faded+face_90px",
         "sunglasses+grey_print_hard", "makeup+grey_luma", "beard+rotate_15", "mirror+grey_print_faded",
         "face_60px+rotate_30")
#: Mesh vertices: outer eye corners (subject's right, left), nose tip, nose base (subnasale).
RIGHT_EYE_OUTER, LEFT_EYE_OUTER, NOSE_TIP, NOSE_BASE = 33, 263, 1, 2
#: A mesh further than this (mean distance / outer-eye-corner distance) from the mapped original is not on that
#: face: reported as "misplaced", not as a pass.
MISPLACED_CONSISTENCY = 0.25

# --- tone curves -----------------------------------------------------------------------------------------
#: Slope of the logistic S-curve of the hard print at mid grey (crushes shadows, blows highlights).
HARD_PRINT_GAIN = 9.0
#: Output range (black, white) of the faded print, in [0, 1]; its gamma; grain sigma in 8-bit levels.
FADED_PRINT_RANGE = (0.28, 0.78)
FADED_PRINT_GAMMA = 0.8
FADED_PRINT_GRAIN = 5.0

# --- synthetic overlays (colours are sRGB 8-bit, alphas in [0, 1]) ----------------------------------------
LIPSTICK_RGB, LIPSTICK_ALPHA = (140, 10, 40), 0.8
EYESHADOW_RGB, EYESHADOW_ALPHA = (60, 30, 90), 0.75
#: Foundation: the skin is blended towards this colour (a pale, pink-orange base).
FOUNDATION_RGB, FOUNDATION_ALPHA = (235, 190, 165), 0.45
BEARD_RGB, BEARD_ALPHA = (45, 33, 26), 0.92
#: How far the beard spills below the jaw, as a fraction of the outer-eye-corner distance.
BEARD_SPILL = 0.25
FRAME_RGB = (18, 18, 20)
#: Frame thickness and rim size (semi-axes relative to the eye's width), relative to the eye-corner distance.
FRAME_THICKNESS = 0.07
RIM_HALF_WIDTH, RIM_HALF_HEIGHT = 0.75, 0.55
LENS_RGB, LENS_ALPHA = (25, 25, 32), 0.88
#: Feathering of painted regions, as a fraction of the outer-eye-corner distance (Gaussian sigma).
FEATHER = 0.03

# --- scenes ----------------------------------------------------------------------------------------------
#: Nominal face size in the scenes, px (larger side of the 468 points' bounding box).
SCENE_FACE_PX = 130
#: Side of the pasted head-and-shoulders crop, in face sizes.
SCENE_CROP_FACES = 2.1
#: Scene canvas (width, height) and its grid of slots (columns, rows).
SCENE_SIZE = (1000, 720)
SCENE_GRID = (3, 2)
#: ``face_index`` values tried beyond the faces pasted in a scene (a false positive would show up as one).
SCENE_EXTRA_INDICES = 3
#: Scenes: name -> (background seed, tone, [(source, mirrored, scale relative to SCENE_FACE_PX), ...]).
SCENES = {
    "scene_colour": (1, "colour", [("astronaut.png", False, 1.0), ("grace_hopper.jpg", True, 0.92),
                                   ("obama_2012.jpg", False, 1.08), ("obama_2009_stage_light.jpg", True, 0.96),
                                   ("biden_2010_full_length.jpg", False, 1.12)]),
    "scene_print": (2, "grey_print_hard", [("obama_2009_stage_light.jpg", False, 1.0),
                                           ("grace_hopper.jpg", False, 1.1), ("obama_2012.jpg", True, 0.9),
                                           ("astronaut.png", True, 1.05)]),
    "scene_three": (3, "grey_luma", [("biden_2010_full_length.jpg", True, 0.95),
                                     ("obama_2009_stage_light.jpg", False, 1.05), ("grace_hopper.jpg", False, 1.0)]),
}


@dataclasses.dataclass(frozen=True)
class Target:
    """Where one original face is in a variant: ``affine [2, 3]`` original pixels -> variant pixels; ``mirrored``
    when the copy is flipped left-right (the subject's right eye is then where the original's left eye maps)."""

    source: str
    affine: np.ndarray
    mirrored: bool = False

    def expected(self, points: np.ndarray) -> np.ndarray:
        """The original's mesh ``[468, >=2]`` mapped into the variant ``[468, 2]`` (mirror-relabelled if flipped)."""
        uv = points[:, :2] @ self.affine[:, :2].T + self.affine[:, 2]
        return uv[_mirror_vertex()] if self.mirrored else uv


@dataclasses.dataclass(frozen=True)
class Variant:
    """One test photo: ``pixels [H, W, 3]`` uint8 sRGB and the faces pasted in it (largest expected first)."""

    name: str
    kind: str
    pixels: np.ndarray
    targets: tuple[Target, ...]


@functools.lru_cache(maxsize=None)
def _mirror_vertex() -> np.ndarray:
    from svfri.geometry.template import load_face_template

    return np.asarray(load_face_template().mirror_vertex)


@functools.lru_cache(maxsize=None)
def load_source(source: str) -> np.ndarray:
    """The sample photo ``source`` as upright 8-bit sRGB ``[H, W, 3]`` (svfri's own reader)."""
    from svfri.io.images import read_photo

    return read_photo(SAMPLES / source).pixels


@functools.lru_cache(maxsize=None)
def reference_mesh(source: str) -> np.ndarray:
    """The 468-point mesh ``[468, 3]`` of the original sample photo (the reference every variant is compared to)."""
    from svfri.geometry.face_detect import fit_face_mesh

    return fit_face_mesh(load_source(source)).points


def face_extent(points: np.ndarray) -> float:
    """Face size in px: the larger side of the 468 points' bounding box (as ``benchmarks/speed_faces.py``)."""
    return float((points[:, :2].max(0) - points[:, :2].min(0)).max())


def eye_distance(points: np.ndarray) -> float:
    """Outer-eye-corner distance (vertices 33-263) in px."""
    return float(np.linalg.norm(points[LEFT_EYE_OUTER, :2] - points[RIGHT_EYE_OUTER, :2]))


def consistency(found: np.ndarray, expected: np.ndarray) -> float:
    """Mean point distance between two ``[468, >=2]`` meshes over the expected mesh's outer-eye-corner distance."""
    return float(np.linalg.norm(found[:, :2] - expected[:, :2], axis=1).mean() / eye_distance(expected))


def estimate_yaw_degrees(points: np.ndarray) -> float:
    """Head yaw of a mesh, degrees (positive: the subject turned towards their left), from a similarity
    (Umeyama) alignment of the template's canonical 468 points to the mesh in ``(u, -v, depth)``. Weak
    perspective and a one-face template: an estimate good to a few degrees, not a measurement."""
    from svfri.geometry.template import load_face_template

    canonical = np.asarray(load_face_template().vertices, np.float64)
    observed = np.stack([points[:, 0], -points[:, 1], points[:, 2]], axis=1).astype(np.float64)
    a, b = canonical - canonical.mean(0), observed - observed.mean(0)
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt  # canonical -> observed
    return float(math.degrees(math.atan2(rotation[0, 2], rotation[2, 2])))


# --- pixel operations -------------------------------------------------------------------------------------
def _luma(pixels: np.ndarray) -> np.ndarray:
    """Rec. 601 luma in [0, 1] ``[H, W]`` (OpenCV's RGB -> grey)."""
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0


def _grey3(values: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def tone(pixels: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """``pixels`` as a black-and-white photo: ``grey_luma``, ``grey_print_hard`` or ``grey_print_faded``
    (``colour`` returns them unchanged)."""
    if kind == "colour":
        return pixels
    luma = _luma(pixels)
    if kind == "grey_luma":
        return _grey3(luma)
    if kind == "grey_print_hard":
        curve = lambda x: 1.0 / (1.0 + np.exp(-HARD_PRINT_GAIN * (x - 0.5)))
        return _grey3((curve(luma) - curve(0.0)) / (curve(1.0) - curve(0.0)))
    if kind == "grey_print_faded":
        black, white = FADED_PRINT_RANGE
        grain = np.random.default_rng(seed).normal(0.0, FADED_PRINT_GRAIN / 255.0, luma.shape)
        return _grey3(black + (white - black) * luma ** FADED_PRINT_GAMMA + grain)
    raise ValueError(f"unknown tone {kind!r}")


def _polygon_mask(shape, points: np.ndarray, indices) -> np.ndarray:
    mask = np.zeros(shape[:2], np.float32)
    cv2.fillPoly(mask, [np.rint(points[list(indices), :2]).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    return mask


def _feather(mask: np.ndarray, eye_px: float) -> np.ndarray:
    sigma = max(FEATHER * eye_px, 0.5)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def _paint(pixels: np.ndarray, mask: np.ndarray, colour, alpha: float, texture: np.ndarray | None = None) -> np.ndarray:
    """Blends ``colour`` (optionally multiplied by a ``texture [H, W]`` around 1) into ``pixels`` through ``mask``."""
    paint = np.broadcast_to(np.asarray(colour, np.float64), pixels.shape)
    if texture is not None:
        paint = paint * texture[..., None]
    weight = (np.clip(mask, 0, 1) * alpha)[..., None]
    out = pixels.astype(np.float64) * (1 - weight) + paint * weight
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _hair_texture(shape, eye_px: float, seed: int) -> np.ndarray:
    """Streaky multiplicative texture (mean ~1) like hair: noise smeared vertically."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, shape[:2]).astype(np.float32)
    length = max(3, int(0.12 * eye_px)) | 1
    kernel = np.zeros((length, 3), np.float32)
    kernel[:, 1] = 1.0 / length
    streaks = cv2.filter2D(noise, -1, kernel)
    return 1.0 + 1.6 * streaks / (streaks.std() + 1e-9)


def makeup(pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Synthetic heavy make-up through the mesh regions ``points [468, 2+]`` of the photo."""
    from svfri.geometry.template import (FACE_OVAL, LEFT_BROW_LOWER, LEFT_EYE, LIPS_INNER, LIPS_OUTER,
                                         RIGHT_BROW_LOWER, RIGHT_EYE)

    eye_px = eye_distance(points)
    shape = pixels.shape
    eyes = np.maximum(_polygon_mask(shape, points, RIGHT_EYE), _polygon_mask(shape, points, LEFT_EYE))
    lips = np.clip(_polygon_mask(shape, points, LIPS_OUTER) - _polygon_mask(shape, points, LIPS_INNER), 0, 1)
    # Eye shadow: between the upper lid (the upper half of the eye contour) and the lower brow line.
    shadow = np.zeros(shape[:2], np.float32)
    for eye, brow in ((RIGHT_EYE, RIGHT_BROW_LOWER), (LEFT_EYE, LEFT_BROW_LOWER)):
        upper_lid = list(eye[8:]) + [eye[0]]  # inner corner -> over the top -> outer corner
        brow_pts = points[list(brow), :2]
        lid_pts = points[upper_lid, :2]
        # The brow runs outer -> inner for the right brow; orient it to close the polygon over the lid.
        if np.linalg.norm(brow_pts[0] - lid_pts[-1]) > np.linalg.norm(brow_pts[-1] - lid_pts[-1]):
            brow_pts = brow_pts[::-1]
        polygon = np.concatenate([lid_pts, brow_pts], axis=0)
        cv2.fillPoly(shadow, [np.rint(polygon).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    shadow = np.clip(shadow - eyes, 0, 1)
    brows = np.zeros(shape[:2], np.float32)
    for brow in (RIGHT_BROW_LOWER, LEFT_BROW_LOWER):
        cv2.polylines(brows, [np.rint(points[list(brow), :2]).astype(np.int32)], False, 1.0,
                      thickness=max(1, int(0.06 * eye_px)))
    skin = np.clip(_polygon_mask(shape, points, FACE_OVAL) - eyes - _polygon_mask(shape, points, LIPS_OUTER)
                   - brows - shadow, 0, 1)
    out = _paint(pixels, _feather(skin, eye_px * 3), FOUNDATION_RGB, FOUNDATION_ALPHA)
    out = _paint(out, _feather(shadow, eye_px), EYESHADOW_RGB, EYESHADOW_ALPHA)
    return _paint(out, _feather(lips, eye_px * 0.5), LIPSTICK_RGB, LIPSTICK_ALPHA)


def beard(pixels: np.ndarray, points: np.ndarray, seed: int = 0) -> np.ndarray:
    """A synthetic full beard: the face oval below the nose base, spilling below the jaw; the lips kept clear."""
    from svfri.geometry.template import FACE_OVAL, LIPS_OUTER

    eye_px = eye_distance(points)
    shape = pixels.shape
    oval = points[list(FACE_OVAL), :2]
    # Below the nose base, perpendicular to the eye line (works for tilted faces too).
    eye_axis = points[LEFT_EYE_OUTER, :2] - points[RIGHT_EYE_OUTER, :2]
    down = np.array([-eye_axis[1], eye_axis[0]]) / np.linalg.norm(eye_axis)
    centre = oval.mean(0)
    below_centre = np.clip((oval - centre) @ down, 0, None)
    spilled = oval + (BEARD_SPILL * eye_px * below_centre / below_centre.max())[:, None] * down
    mask = np.zeros(shape[:2], np.float32)
    cv2.fillPoly(mask, [np.rint(spilled).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    below = ((xs - points[NOSE_BASE, 0]) * down[0] + (ys - points[NOSE_BASE, 1]) * down[1]) > 0.05 * eye_px
    mask *= below
    lips = cv2.dilate(_polygon_mask(shape, points, LIPS_OUTER), np.ones((3, 3), np.uint8),
                      iterations=max(1, int(0.03 * eye_px)))
    mask = np.clip(mask - lips, 0, 1)
    return _paint(pixels, _feather(mask, eye_px), BEARD_RGB, BEARD_ALPHA, _hair_texture(shape, eye_px, seed))


def glasses(pixels: np.ndarray, points: np.ndarray, *, dark_lenses: bool) -> np.ndarray:
    """Synthetic thick dark glasses frames (rims, bridge, temples) over the eyes; ``dark_lenses`` for sunglasses."""
    from svfri.geometry.template import LEFT_EYE, RIGHT_EYE

    eye_px = eye_distance(points)
    thickness = max(2, int(round(FRAME_THICKNESS * eye_px)))
    eye_axis = points[LEFT_EYE_OUTER, :2] - points[RIGHT_EYE_OUTER, :2]
    angle = math.degrees(math.atan2(eye_axis[1], eye_axis[0]))
    out = pixels.copy()
    lenses = np.zeros(pixels.shape[:2], np.float32)
    rims = []
    for eye in (RIGHT_EYE, LEFT_EYE):
        contour = points[list(eye), :2]
        centre = contour.mean(0)
        width = np.linalg.norm(contour[0] - contour[8])
        axes = (int(round(RIM_HALF_WIDTH * width * 1.25)), int(round(RIM_HALF_HEIGHT * width * 1.25)))
        rims.append((tuple(int(round(c)) for c in centre), axes))
        cv2.ellipse(lenses, rims[-1][0], axes, angle, 0, 360, 1.0, -1, lineType=cv2.LINE_AA)
    if dark_lenses:
        out = _paint(out, lenses, LENS_RGB, LENS_ALPHA)
    for centre, axes in rims:
        cv2.ellipse(out, centre, axes, angle, 0, 360, FRAME_RGB, thickness, lineType=cv2.LINE_AA)
    # Bridge between the rims' inner ends, temples from the outer ends to the face sides (oval vertices 234/454).
    unit = eye_axis / np.linalg.norm(eye_axis)
    (right_c, right_axes), (left_c, left_axes) = rims
    right_inner = np.array(right_c) + unit * right_axes[0]
    left_inner = np.array(left_c) - unit * left_axes[0]
    right_outer = np.array(right_c) - unit * right_axes[0]
    left_outer = np.array(left_c) + unit * left_axes[0]
    as_int = lambda p: tuple(int(round(v)) for v in p)
    cv2.line(out, as_int(right_inner), as_int(left_inner), FRAME_RGB, thickness, lineType=cv2.LINE_AA)
    cv2.line(out, as_int(right_outer), as_int(points[234, :2]), FRAME_RGB, thickness, lineType=cv2.LINE_AA)
    cv2.line(out, as_int(left_outer), as_int(points[454, :2]), FRAME_RGB, thickness, lineType=cv2.LINE_AA)
    return out


def _rotated(pixels: np.ndarray, points: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo turned by ``degrees`` (counter-clockwise on screen) about the face centre; (pixels, affine)."""
    centre = (points[:, :2].min(0) + points[:, :2].max(0)) / 2
    affine = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), degrees, 1.0)
    out = cv2.warpAffine(pixels, affine, (pixels.shape[1], pixels.shape[0]), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return out, affine


def _rescaled(pixels: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.resize(pixels, size, interpolation=method)
    sx, sy = size[0] / pixels.shape[1], size[1] / pixels.shape[0]
    # Pixel centres: x' + 0.5 = s (x + 0.5).
    return out, np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]])


def _mirror_affine(width: int) -> np.ndarray:
    return np.array([[-1.0, 0, width - 1.0], [0, 1.0, 0]])


def _apply(pixels: np.ndarray, points: np.ndarray, step: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """One transform ``step`` on a photo whose mesh is ``points``: (pixels, affine, mirrored)."""
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    if step.startswith("grey_"):
        return tone(pixels, step), identity, False
    if step == "makeup":
        return makeup(pixels, points), identity, False
    if step == "beard":
        return beard(pixels, points), identity, False
    if step in ("glasses_frames", "sunglasses"):
        return glasses(pixels, points, dark_lenses=step == "sunglasses"), identity, False
    if step.startswith("rotate_"):
        out, affine = _rotated(pixels, points, float(step.split("_")[1]))
        return out, affine, False
    if step.startswith("face_") and step.endswith("px"):
        out, affine = _rescaled(pixels, float(step[5:-2]) / face_extent(points))
        return out, affine, False
    if step == "mirror":
        return np.ascontiguousarray(pixels[:, ::-1]), _mirror_affine(pixels.shape[1]), True
    raise ValueError(f"unknown variant kind {step!r}")


def build_variant(source: str, kind: str) -> Variant:
    """One single-face variant ``kind`` of the sample photo ``source`` (:data:`SOURCES`).

    ``kind`` is one of the steps of :data:`KINDS` or several joined by ``+`` (applied left to right, e.g.
    ``grey_print_faded+rotate_30``); overlays of later steps are painted where the earlier steps moved the face.
    """
    pixels, points = load_source(source), reference_mesh(source)
    affine, mirrored = np.array([[1.0, 0, 0], [0, 1.0, 0]]), False
    current = points[:, :2]
    for step in kind.split("+"):
        pixels, step_affine, step_mirrored = _apply(pixels, current, step)
        affine = step_affine @ np.vstack([affine, [0, 0, 1]])
        mirrored ^= step_mirrored
        current = Target(source, affine, mirrored).expected(points)
    return Variant(f"{Path(source).stem}/{kind}", kind, pixels, (Target(source, affine, mirrored),))


def _background(size, seed: int) -> np.ndarray:
    """A textured, not flat, scene background ``[H, W, 3]``: multi-scale coloured noise with plank-like stripes."""
    width, height = size
    rng = np.random.default_rng(seed)
    field = np.zeros((height, width), np.float32)
    for sigma, weight in ((1.5, 0.25), (6.0, 0.35), (24.0, 0.5), (80.0, 0.6)):
        layer = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), sigma)
        field += weight * layer / (layer.std() + 1e-9)
    stripes = 0.4 * np.sign(np.sin(np.arange(width) / width * 2 * math.pi * 7 + rng.uniform(0, 6)))[None, :]
    field = (field + stripes) / 2.0
    dark, light = np.array(rng.uniform(40, 90, 3)), np.array(rng.uniform(140, 210, 3))
    t = np.clip(0.5 + 0.25 * field, 0, 1)[..., None]
    return np.clip(dark * (1 - t) + light * t, 0, 255).astype(np.uint8)


def build_scene(name: str) -> Variant:
    """The several-people scene ``name`` (:data:`SCENES`), built from the samples; targets in slot order."""
    seed, tone_kind, people = SCENES[name]
    width, height = SCENE_SIZE
    canvas = _background(SCENE_SIZE, seed).astype(np.float64)
    columns, rows = SCENE_GRID
    cell_w, cell_h = width / columns, height / rows
    rng = np.random.default_rng(seed)
    targets = []
    for slot, (source, mirrored, relative) in enumerate(people):
        pixels, points = load_source(source), reference_mesh(source)
        extent = face_extent(points)
        scale = SCENE_FACE_PX * relative / extent
        centre = (points[:, :2].min(0) + points[:, :2].max(0)) / 2
        side = int(round(SCENE_CROP_FACES * SCENE_FACE_PX * relative))
        # Face centre sits at 40% of the crop's height (shoulders below); the crop's place in its grid cell.
        col, row = slot % columns, slot // columns
        jitter = rng.uniform(-0.08, 0.08, 2) * (cell_w, cell_h)
        x0 = col * cell_w + (cell_w - side) / 2 + jitter[0]
        y0 = row * cell_h + (cell_h - side) / 2 + jitter[1]
        x0 = float(np.clip(x0, 0, width - side)); y0 = float(np.clip(y0, 0, height - side))
        # affine: original -> crop -> (mirror) -> scene.
        crop_affine = np.array([[scale, 0, side / 2 - scale * centre[0]],
                                [0, scale, 0.4 * side - scale * centre[1]]])
        if mirrored:
            crop_affine = np.array([[-1.0, 0, side - 1.0], [0, 1.0, 0]]) @ np.vstack([crop_affine, [0, 0, 1]])
        crop = cv2.warpAffine(pixels, crop_affine, (side, side), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_REPLICATE)
        # Soft-edged paste (an ellipse filling the crop, feathered) so no hard rectangle edges.
        alpha = np.zeros((side, side), np.float32)
        cv2.ellipse(alpha, (side // 2, side // 2), (int(side * 0.46), int(side * 0.49)), 0, 0, 360, 1.0, -1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), side * 0.03)[..., None]
        ix, iy = int(round(x0)), int(round(y0))
        region = canvas[iy:iy + side, ix:ix + side]
        canvas[iy:iy + side, ix:ix + side] = region * (1 - alpha) + crop * alpha
        scene_affine = crop_affine.copy()
        scene_affine[:, 2] += (ix, iy)
        targets.append(Target(source, scene_affine, mirrored))
    out = tone(np.clip(np.rint(canvas), 0, 255).astype(np.uint8), tone_kind, seed)
    return Variant(name, "scene", out, tuple(targets))


#: Photos without a face, which must still be refused with NoFaceError (exit code 11): name -> (source or None
#: for a scene background, first row kept, tone, background seed). The bodies below the head of the two full-length
#: photos make BlazeFace fire on arms and lecterns (a mesh must then reject every detection).
NO_FACE_CASES = {
    "background_1": (None, 0, "colour", 1), "background_2": (None, 0, "colour", 2),
    "background_3": (None, 0, "grey_print_hard", 3),
    "biden_body": ("biden_2010_full_length.jpg", 700, "colour", 0),
    "biden_body_faded_print": ("biden_2010_full_length.jpg", 700, "grey_print_faded", 0),
    "biden_body_hard_print": ("biden_2010_full_length.jpg", 700, "grey_print_hard", 0),
    "lectern_body": ("obama_2009_stage_light.jpg", 700, "colour", 0),
    "lectern_body_hard_print": ("obama_2009_stage_light.jpg", 700, "grey_print_hard", 0),
}


def build_no_face(name: str) -> Variant:
    """A photo with no face in it (:data:`NO_FACE_CASES`); no targets."""
    source, first_row, tone_kind, seed = NO_FACE_CASES[name]
    pixels = _background(SCENE_SIZE, seed) if source is None else load_source(source)[first_row:]
    return Variant(f"no_face/{name}", "no_face", tone(np.ascontiguousarray(pixels), tone_kind, seed), ())


def all_variants(sources=SOURCES, kinds=KINDS, scenes=tuple(SCENES), no_face=tuple(NO_FACE_CASES)):
    """Every variant of the corpus, built lazily (one in memory at a time)."""
    for source in sources:
        for kind in kinds:
            yield build_variant(source, kind)
    for name in scenes:
        yield build_scene(name)
    for name in no_face:
        yield build_no_face(name)


def evaluate(variant: Variant) -> list[dict]:
    """Runs the geometry step on ``variant``; one record per target face.

    Single-face variants use ``face_index`` 0; a no-face photo passes when it is refused with NoFaceError.
    Scenes try ``face_index`` 0, 1, ... until svfri refuses one (at most :data:`SCENE_EXTRA_INDICES` beyond the
    faces pasted) and give each target the mesh most consistent with its mapped original; a target no mesh lands on
    within :data:`MISPLACED_CONSISTENCY` is "not found".
    """
    from svfri.errors import NoFaceError, SvfriError
    from svfri.geometry.face_detect import fit_face_mesh

    if variant.kind == "no_face":
        record = dict(variant=variant.name, kind=variant.kind, source="", face=0, status="fail", message="",
                      consistency=None, face_index=None, face_count=None, presence=None)
        try:
            result = fit_face_mesh(variant.pixels)
            record.update(message=f"meshed a non-face (presence {result.presence:.2f})", face_count=result.face_count)
        except NoFaceError as error:
            record.update(status="ok", message=f"NoFaceError (exit {error.exit_code}): {error}")
        return [record]
    expected = [t.expected(reference_mesh(t.source)) for t in variant.targets]
    records = [dict(variant=variant.name, kind=variant.kind, source=t.source, face=i, status="fail", message="",
                    consistency=None, face_index=None, face_count=None, presence=None)
               for i, t in enumerate(variant.targets)]
    meshes = []
    tries = len(variant.targets) + (SCENE_EXTRA_INDICES if variant.kind == "scene" else 0)
    for index in range(tries):
        try:
            result = fit_face_mesh(variant.pixels, face_index=index)
        except SvfriError as error:
            if index == 0 or variant.kind != "scene":
                for record in records:
                    record["message"] = f"{type(error).__name__}: {error}"
            break
        meshes.append((index, result))
    for record, target_points in zip(records, expected):
        best = None
        for index, result in meshes:
            value = consistency(result.points, target_points)
            if best is None or value < best[0]:
                best = (value, index, result)
        if best is None:
            continue
        value, index, result = best
        record.update(consistency=round(value, 4), face_index=index, face_count=result.face_count,
                      presence=round(result.presence, 3), box_px=round(result.detection.size, 1),
                      score=round(result.detection.score, 3))
        if value <= MISPLACED_CONSISTENCY:
            record["status"] = "ok"
        else:
            record["status"] = "not found" if variant.kind == "scene" else "misplaced"
            record["message"] = record["message"] or f"nearest mesh is {value:.2f} eye distances away"
    return records


#: CLAHE settings of the contrast-normalisation check (OpenCV's defaults for an 8x8 grid).
CLAHE_CLIP_LIMIT, CLAHE_GRID = 2.0, (8, 8)
#: Hard-print gains of the contrast-normalisation check: the corpus's, and two harsher prints.
CLAHE_CHECK_GAINS = (HARD_PRINT_GAIN, 1.5 * HARD_PRINT_GAIN, 2.2 * HARD_PRINT_GAIN)


def detector_scores(sources=SOURCES, gains=CLAHE_CHECK_GAINS, rotations=(0.0, 30.0)) -> list[dict]:
    """Would a contrast-normalisation retry pay? BlazeFace's score on the true face of hard prints (logistic
    curves of each gain), as printed and after CLAHE on the luma (``clahe``); 0 where the face is not detected.
    A retry pays only if prints lose the face (scores near the 0.5 threshold) and CLAHE gets it back."""
    from svfri.geometry.face_detect import detect_faces

    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_GRID)
    rows = []
    for gain in gains:
        for source in sources:
            pixels, points = load_source(source), reference_mesh(source)
            luma = _luma(pixels)
            curve = lambda x: 1.0 / (1.0 + np.exp(-gain * (x - 0.5)))
            printed = _grey3((curve(luma) - curve(0.0)) / (curve(1.0) - curve(0.0)))
            for degrees in rotations:
                image, affine = _rotated(printed, points, degrees) if degrees else (printed, np.eye(2, 3))
                nose = points[NOSE_TIP, :2] @ affine[:, :2].T + affine[:, 2]
                normalised = np.repeat(clahe.apply(image[..., 0])[..., None], 3, axis=2)
                scores = []
                for candidate in (image, normalised):
                    hits = [d.score for d in detect_faces(candidate)
                            if d.box[0] <= nose[0] <= d.box[2] and d.box[1] <= nose[1] <= d.box[3]]
                    scores.append(round(max(hits, default=0.0), 3))
                rows.append(dict(gain=round(gain, 2), source=source, rotate=degrees, score=scores[0], clahe=scores[1]))
    return rows


def run(sources=SOURCES, kinds=KINDS, scenes=tuple(SCENES), no_face=tuple(NO_FACE_CASES)) -> dict:
    """The whole corpus: per-target records, the originals' face sizes and estimated yaw, and timings."""
    originals = {}
    for source in sources:
        points = reference_mesh(source)
        originals[source] = dict(face_px=round(face_extent(points), 1), eye_px=round(eye_distance(points), 1),
                                 yaw_degrees=round(estimate_yaw_degrees(points), 1))
    records = []
    started = time.perf_counter()
    for variant in all_variants(sources, kinds, scenes, no_face):
        clock = time.perf_counter()
        for record in evaluate(variant):
            record["seconds"] = round(time.perf_counter() - clock, 3)
            records.append(record)
    return dict(originals=originals, records=records, seconds=round(time.perf_counter() - started, 1))


def _summary_rows(result: dict) -> dict:
    rows = {}
    for record in result["records"]:
        key = (record["variant"], record["face"])
        rows[key] = record
    return rows


def table(before: dict | None, after: dict) -> str:
    """Markdown: per variant and face, status and consistency (before -> after when ``before`` is given)."""
    from benchmarks.common import markdown_table

    after_rows = _summary_rows(after)
    before_rows = _summary_rows(before) if before else {}
    fmt = lambda r: "—" if r is None else (f"{r['status']} {r['consistency']:.3f}" if r["consistency"] is not None
                                           and r["status"] == "ok" else r["status"])
    header = (["variant", "face"] + (["before", "before: message"] if before else []) + ["result", "message"])
    rows = []
    for key, record in after_rows.items():
        face = f"{record['face']} ({Path(record['source']).stem})" if record["kind"] == "scene" else ""
        cells = [record["variant"], face]
        if before:
            old = before_rows.get(key)
            cells.append(fmt(old))
            cells.append(old["message"].replace("|", "/") if old and old["status"] != "ok" else "")
        cells.append(fmt(record))
        cells.append(record["message"].replace("|", "/") if record["status"] != "ok" or record["kind"] == "no_face"
                     else "")
        rows.append(cells)
    return markdown_table(header, rows)


def _by_kind(result: dict) -> dict:
    groups = {}
    for record in result["records"]:
        kind = record["variant"] if record["kind"] == "scene" else record["kind"]
        kind = "no face (must be refused)" if record["kind"] == "no_face" else kind
        groups.setdefault(kind, []).append(record)
    return groups


def kind_comparison(before: dict, after: dict) -> str:
    """Markdown: per kind, passes and median / worst consistency before and after."""
    from benchmarks.common import markdown_table

    def cells(records):
        ok = [r for r in records if r["status"] == "ok"]
        values = [r["consistency"] for r in ok if r["consistency"] is not None]
        spread = f"{statistics.median(values):.3f} / {max(values):.3f}" if values else "—"
        return [f"{len(ok)}/{len(records)}", spread]

    old, new = _by_kind(before), _by_kind(after)
    rows = [[kind] + cells(old.get(kind, [])) + cells(records) for kind, records in new.items()]
    return markdown_table(["kind", "pass before", "consistency before (median / worst)", "pass after",
                           "consistency after (median / worst)"], rows)


def kind_summary(result: dict) -> str:
    """Markdown: per kind, passes / total, the median and worst consistency of the passes, and the median wall
    time per variant (a scene's time covers every ``face_index`` tried)."""
    from benchmarks.common import markdown_table

    by_kind = {}
    for record in result["records"]:
        kind = record["variant"] if record["kind"] == "scene" else record["kind"]
        kind = "no face (must be refused)" if record["kind"] == "no_face" else kind
        by_kind.setdefault(kind, []).append(record)
    rows = []
    for kind, records in by_kind.items():
        ok = [r for r in records if r["status"] == "ok"]
        passes = [r["consistency"] for r in ok if r["consistency"] is not None]
        rows.append([kind, f"{len(ok)}/{len(records)}",
                     f"{statistics.median(passes):.3f}" if passes else "—", f"{max(passes):.3f}" if passes else "—",
                     f"{statistics.median(r['seconds'] for r in records):.2f}"])
    return markdown_table(["kind", "pass", "median consistency", "worst consistency", "median s per photo"], rows)


def use_face_detect_module(path: Path):
    """Swaps another version of ``svfri/geometry/face_detect.py`` (a file, e.g. from ``git show``) in for the
    installed one, so the same corpus measures the code before a change; returns the module."""
    import importlib.util

    import svfri.geometry

    name = "svfri.geometry.face_detect"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    svfri.geometry.face_detect = module
    return module


#: Repeats of the interleaved timing (``--timing``); the median is reported.
TIMING_REPEATS = 5


def timing(other_module: Path, repeats: int = TIMING_REPEATS) -> str:
    """Markdown: median seconds of ``fit_face_mesh`` per sample photo and on ``scene_colour``, for the installed
    module and ``other_module`` (a face_detect.py file), interleaved in one process (load drifts on a shared
    machine)."""
    import importlib.util

    from benchmarks.common import markdown_table
    from svfri.geometry import face_detect as current

    spec = importlib.util.spec_from_file_location("face_detect_other", other_module)
    other = importlib.util.module_from_spec(spec)
    sys.modules["face_detect_other"] = other
    spec.loader.exec_module(other)
    photos = {source: load_source(source) for source in SOURCES}
    photos["scene_colour (face 0)"] = build_scene("scene_colour").pixels
    rows = []
    for name, pixels in photos.items():
        seconds = {"other": [], "current": []}
        for module in (other, current):  # warm-up: model load, first-call allocation
            module.fit_face_mesh(pixels)
        for _ in range(repeats):
            for label, module in (("other", other), ("current", current)):
                clock = time.perf_counter()
                module.fit_face_mesh(pixels)
                seconds[label].append(time.perf_counter() - clock)
        rows.append([name, f"{pixels.shape[1]}x{pixels.shape[0]}", f"{statistics.median(seconds['other']):.3f}",
                     f"{statistics.median(seconds['current']):.3f}"])
    return markdown_table(["photo", "size", f"{other_module.name}, s", "installed, s"], rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the records here")
    parser.add_argument("--sources", nargs="*", default=list(SOURCES))
    parser.add_argument("--kinds", nargs="*", default=list(KINDS))
    parser.add_argument("--scenes", nargs="*", default=list(SCENES))
    parser.add_argument("--no-face", nargs="*", default=list(NO_FACE_CASES))
    parser.add_argument("--table", nargs="+", type=Path, metavar="JSON",
                        help="print the markdown tables of one result (or BEFORE AFTER) and exit")
    parser.add_argument("--save-images", type=Path, help="also write every variant as a PNG into this folder")
    parser.add_argument("--face-detect-module", type=Path, metavar="FILE",
                        help="measure another face_detect.py (e.g. `git show REV:svfri/geometry/face_detect.py`)")
    parser.add_argument("--timing", type=Path, metavar="FILE",
                        help="print fit_face_mesh timings of FILE (a face_detect.py) against the installed one, exit")
    parser.add_argument("--detector-scores", action="store_true",
                        help="print BlazeFace's scores on hard prints with and without CLAHE (detector_scores), exit")
    args = parser.parse_args(argv)
    if args.face_detect_module:
        use_face_detect_module(args.face_detect_module)
    if args.timing:
        print(timing(args.timing))
        return 0
    if args.detector_scores:
        from benchmarks.common import markdown_table

        rows = detector_scores(args.sources)
        print(markdown_table(["print gain", "photo", "rotation", "score", "score after CLAHE"],
                             [[r["gain"], Path(r["source"]).stem, r["rotate"], r["score"], r["clahe"]] for r in rows]))
        return 0
    if args.table:
        results = [json.loads(path.read_text()) for path in args.table]
        before, after = (results[0], results[-1]) if len(results) > 1 else (None, results[0])
        if before:
            print(kind_comparison(before, after) + "\n\nAfter, with time:\n")
        print(kind_summary(after) + "\n\n" + table(before, after))
        return 0
    if args.save_images:
        args.save_images.mkdir(parents=True, exist_ok=True)
        for variant in all_variants(args.sources, args.kinds, args.scenes, args.no_face):
            cv2.imwrite(str(args.save_images / (variant.name.replace("/", "__") + ".png")), variant.pixels[..., ::-1])
    result = run(args.sources, args.kinds, args.scenes, args.no_face)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["originals"], indent=1))
    print(kind_summary(result))
    failures = [r for r in result["records"] if r["status"] != "ok"]
    for record in failures:
        print(f"{record['status']}: {record['variant']} face {record['face']}: {record['message']}")
    print(f"{len(result['records']) - len(failures)}/{len(result['records'])} ok in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

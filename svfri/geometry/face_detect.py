"""Face detection (BlazeFace short-range) and the 468-point face mesh (MediaPipe Face Mesh) on a photo.

BlazeFace: Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs", 2019. Its anchor
layout and box decoding follow MediaPipe's ``face_detection_short_range`` graph: 128x128 RGB input in [-1, 1],
896 anchors from strides (8, 16, 16, 16) with fixed unit anchor size, 16 regressors per anchor (box centre offset,
size, then 6 keypoints: subject's right eye, left eye, nose tip, mouth centre, right ear, left ear), scores through a
sigmoid, weighted non-maximum suppression.

Face Mesh: Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on Mobile GPUs", 2019: a
192x192 RGB crop in [0, 1] of a square region rotated so the eyes are level gives 468 points ``(x, y, z)`` in crop
pixels (``z`` relative depth in the same units, smaller = nearer the camera) and a face-presence logit. The crop is
taken twice: first from the detection, then from the first mesh (as MediaPipe's tracking does), which centres and
levels it better.

Deliberate steps beyond MediaPipe's graph, for photos with more than a face in them (measured on the robustness
corpus of ``benchmarks/robustness.py``, ``docs/benchmarks/robustness.md``):

* **Every tile level is searched** (within :data:`_TILE_SEARCH_BUDGET` detector runs), not only down to the first
  level that finds something: in a ~1000 px scene of several people with ~130 px faces the whole-photo pass finds
  some faces and the tiles find the rest. A finer level only adds faces where no coarser level found one, and
  keeps boxes up to :data:`_TILE_MAX_FACE_FRACTION` of its tile (:func:`_detector_candidates`).
* **Each detection is confirmed by the mesh regressor**: BlazeFace proposes, the Face Mesh's face-presence score
  disposes. On black-and-white photos BlazeFace also fires (score 0.55-0.65) on clothing, arms and lecterns, with
  boxes as large as the face, so "largest first" picked a non-face and the photo failed with "the face mesh
  regressor is not confident a face is there". A detection whose first mesh has presence below
  :data:`_MESH_PRESENCE_THRESHOLD` is not counted as a face; when detections exist but none is confirmed, that
  same error is raised (with the best presence seen), and a photo where BlazeFace finds nothing still fails with
  "no face found" (:func:`_confirmed_faces`).
* **The mesh crop is re-centred until it settles** (:data:`_ROI_SETTLED_FRACTION`): a face found on a coarse
  level has a loose box, and one re-centring was not enough for it.

Measured and not done: a contrast-normalisation (CLAHE) retry for black-and-white photos. BlazeFace never lost a
face on the corpus's prints (lowest true-face score 0.55) and CLAHE moved the scores both ways.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from svfri.errors import FaceTooSmallError, NoFaceError, UsageError
from svfri.geometry.face_models import load_tflite

__all__ = ["FaceDetection", "FaceMeshResult", "detect_faces", "fit_face_mesh", "DETECTOR_INPUT_SIZE",
           "MESH_INPUT_SIZE", "MIN_FACE_SIZE_PX", "MESH_VERTEX_COUNT"]

DETECTOR_INPUT_SIZE = 128
MESH_INPUT_SIZE = 192
MESH_VERTEX_COUNT = 468
_ANCHOR_STRIDES = (8, 16, 16, 16)
_DETECTION_SCORE_THRESHOLD = 0.5
_NMS_IOU_THRESHOLD = 0.3
_RAW_SCORE_CLIP = 100.0
#: ROI enlargement around the detection box / mesh bounds (MediaPipe's face_detection_front_detection_to_roi: 1.5).
_ROI_SCALE = 1.5
#: Smallest detected face (box width in photo pixels) svfri reconstructs.
MIN_FACE_SIZE_PX = 48
#: Face-presence probability below which the mesh is rejected.
_MESH_PRESENCE_THRESHOLD = 0.5
#: Mesh indices of the outer eye corners (subject's right, subject's left) used to level the crop.
_RIGHT_EYE_OUTER, _LEFT_EYE_OUTER = 33, 263
#: Re-centring of the mesh crop goes on after ``refine_passes`` while the crop still moves by more than this
#: fraction of its size (centre shift or size change), at most _MAX_SETTLE_PASSES more passes. A poor detection
#: box (a ~120 px face found on the whole 1000 px scene, box 15% too large and off centre) moved the crop 6.5% at
#: the second pass and left the mesh 0.13 eye distances off; settling brought it to 0.014. Smaller moves are the
#: regressor's own jitter, and settling them is no better: on the annotated ``breakingbad.jpg`` of
#: ``benchmarks/landmarks_annotated.py`` (move 4.1%) it raised the 68-point NME from 0.113 to 0.121, and on the
#: robustness corpus moves under 6% changed consistency by -0.010..+0.005, either way. The five bundled sample
#: photos move less, so their meshes are unchanged.
_ROI_SETTLED_FRACTION = 0.06
_MAX_SETTLE_PASSES = 3
#: Mesh index of the nose tip (where a confirmed face is, for telling two detections of one face apart).
_NOSE_TIP = 1


@dataclasses.dataclass(frozen=True)
class FaceDetection:
    """One detected face, in photo pixels: box ``(x_min, y_min, x_max, y_max)``, 6 keypoints ``[6, 2]``, score."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@dataclasses.dataclass(frozen=True)
class FaceMeshResult:
    """The 468-point mesh in photo pixels: ``points [468, 3]`` = ``(u, v, depth)``, depth in pixel units, larger = nearer."""

    points: np.ndarray
    presence: float
    detection: FaceDetection
    face_count: int


@dataclasses.dataclass(frozen=True)
class _Roi:
    """A square region of side ``size`` centred at ``(cx, cy)``, rotated by ``angle`` radians (counter-clockwise)."""

    cx: float
    cy: float
    size: float
    angle: float

    def crop_to_photo(self, output_size: int) -> np.ndarray:
        """2x3 affine mapping crop pixel coordinates (of an ``output_size`` crop) to photo pixel coordinates."""
        scale = self.size / output_size
        cos, sin = math.cos(self.angle) * scale, math.sin(self.angle) * scale
        half = output_size / 2.0
        return np.array([[cos, sin, self.cx - cos * half - sin * half],
                         [-sin, cos, self.cy + sin * half - cos * half]], dtype=np.float64)

    def crop(self, image: np.ndarray, output_size: int) -> np.ndarray:
        matrix = self.crop_to_photo(output_size)
        inverse = cv2.invertAffineTransform(matrix)
        return cv2.warpAffine(image, inverse, (output_size, output_size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)


@dataclasses.dataclass(frozen=True)
class _Letterbox:
    """Maps a photo onto the detector's square input (uniform scale, centred padding) and back."""

    scale: float
    pad_x: float
    pad_y: float

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        return (points - np.array([self.pad_x, self.pad_y])) / self.scale



def _blazeface_anchors() -> np.ndarray:
    """``[896, 2]`` anchor centres in [0, 1] (MediaPipe SsdAnchorsCalculator, short-range options)."""
    centres = []
    layer = 0
    while layer < len(_ANCHOR_STRIDES):
        stride = _ANCHOR_STRIDES[layer]
        anchors_per_cell = 0
        while layer < len(_ANCHOR_STRIDES) and _ANCHOR_STRIDES[layer] == stride:
            anchors_per_cell += 2  # aspect ratio 1 plus the interpolated-scale anchor
            layer += 1
        cells = math.ceil(DETECTOR_INPUT_SIZE / stride)
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, anchors_per_cell, axis=0))
    return np.concatenate(centres, axis=0)


_ANCHORS = _blazeface_anchors()


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0]); y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2]); y1 = np.minimum(box[3], boxes[:, 3])
    intersection = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return intersection / np.maximum(area(box) + area(boxes) - intersection, 1e-12)


#: Smallest square tile (photo pixels) of the multi-scale search; BlazeFace short-range finds faces that fill
#: roughly 20-100% of its input, so tiles halve until faces of MIN_FACE_SIZE_PX would fill about a third of one.
_MIN_TILE_PX = 3 * MIN_FACE_SIZE_PX


def _detect_in_square(image: np.ndarray, x0: float, y0: float, side: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Runs BlazeFace on the square ``[x0, x0+side) x [y0, y0+side)`` of the photo (zero padded outside)."""
    scale = DETECTOR_INPUT_SIZE / side
    # Cut and shrink the integer pixels first (cheap); only the 128x128 result is converted to float.
    ix0, iy0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    ix1, iy1 = min(int(np.ceil(x0 + side)), image.shape[1]), min(int(np.ceil(y0 + side)), image.shape[0])
    region = image[iy0:iy1, ix0:ix1]
    shrink = max(1, int(side // (2 * DETECTOR_INPUT_SIZE)))
    if shrink > 1:
        region = cv2.resize(region, (max(region.shape[1] // shrink, 1), max(region.shape[0] // shrink, 1)),
                            interpolation=cv2.INTER_AREA)
    step_x, step_y = (ix1 - ix0) / region.shape[1], (iy1 - iy0) / region.shape[0]  # photo pixels per region pixel
    matrix = np.array([[step_x * scale, 0, (ix0 - x0) * scale], [0, step_y * scale, (iy0 - y0) * scale]])
    small = cv2.warpAffine(_to_float(region), matrix, (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE),
                           flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    regressors, raw_scores = load_tflite("face_detection_short_range.tflite")(small * 2.0 - 1.0)
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[:, 0].astype(np.float64), -_RAW_SCORE_CLIP, _RAW_SCORE_CLIP)))
    keep = np.flatnonzero(scores >= _DETECTION_SCORE_THRESHOLD)
    offsets = regressors[keep] / DETECTOR_INPUT_SIZE
    centres = _ANCHORS[keep] + offsets[:, 0:2]
    half = offsets[:, 2:4] / 2
    to_photo = side  # detector [0, 1] -> photo pixels
    boxes = np.concatenate([centres - half, centres + half], axis=1) * to_photo + np.array([x0, y0, x0, y0])
    keypoints = (_ANCHORS[keep][:, None, :] + offsets[:, 4:16].reshape(-1, 6, 2)) * to_photo + np.array([x0, y0])
    return [(boxes[i], keypoints[i], float(scores[keep][i])) for i in range(len(keep))]


def _weighted_nms(candidates: list[tuple[np.ndarray, np.ndarray, float]]) -> list[FaceDetection]:
    """MediaPipe's WEIGHTED non-maximum suppression: overlapping boxes are averaged by score."""
    if not candidates:
        return []
    boxes = np.stack([c[0] for c in candidates]); keypoints = np.stack([c[1] for c in candidates])
    scores = np.array([c[2] for c in candidates])
    remaining = np.argsort(-scores)
    detections = []
    while remaining.size:
        overlap = _iou(boxes[remaining[0]], boxes[remaining]) >= _NMS_IOU_THRESHOLD
        members = remaining[overlap]
        weights = scores[members][:, None]
        detections.append(FaceDetection(box=(boxes[members] * weights).sum(0) / weights.sum(),
                                        keypoints=(keypoints[members] * weights[:, :, None]).sum(0) / weights.sum(),
                                        score=float(scores[remaining[0]])))
        remaining = remaining[~overlap]
    return detections


#: Detector runs the tile search may spend once some level has found a face (each run ~0.6-1.5 ms on a CPU core).
#: Levels are searched whole, coarse to fine; a finer level that would take the total past this budget is searched
#: only while nothing has been found. Every level down to :data:`_MIN_TILE_PX` fits on a ~1000 px photo (~100
#: runs), a 970x2204 photo (~160) and any photo up to ~2 MP; on larger photos it depends on where the halving from
#: the shorter side lands (a 4000x3000 photo is searched down to 375 px tiles: faces of 94 px and more; smaller
#: faces there only if nothing larger was found).
_TILE_SEARCH_BUDGET = 600
#: A tile level keeps only detections at most this fraction of its tile. Any face that large lies wholly inside a
#: tile of the next coarser level (stride = half that tile), where it is at most half the tile too, so every face
#: is still looked for at 25-50% of a tile (whole-photo pass: any size). Larger boxes on a tile are parts of the
#: scene cut by the tile border: on a 288 px photo a 106 px box on the mission patch of a 144 px tile (74%) had
#: mesh presence 0.96 and, being larger than the 53 px face, was taken for face 0.
_TILE_MAX_FACE_FRACTION = 0.5


def _tile_origins(height: int, width: int, tile: float) -> list[tuple[float, float]]:
    """Top-left corners of the square tiles of side ``tile`` covering the photo with a stride of half a tile."""
    stride = tile / 2
    return [(min(x0, width - tile), min(y0, height - tile))
            for y0 in np.arange(0.0, height - tile + stride, stride)
            for x0 in np.arange(0.0, width - tile + stride, stride)]


def _same_face(a: FaceDetection, b: FaceDetection) -> bool:
    """Whether two detections are one face: their boxes overlap (IoU) or either box holds the other's centre."""
    inside = lambda point, box: bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])
    centre = lambda d: (d.box[:2] + d.box[2:]) / 2
    return (_iou(a.box, b.box[None])[0] >= _NMS_IOU_THRESHOLD or inside(centre(a), b.box)
            or inside(centre(b), a.box))


def _detector_candidates(image: np.ndarray) -> list[FaceDetection]:
    """BlazeFace's detections on the whole photo and on every tile level (see :func:`detect_faces`), largest
    first; not yet confirmed by the mesh regressor.

    Each level's detections are merged by weighted non-maximum suppression; a tile level keeps boxes up to
    :data:`_TILE_MAX_FACE_FRACTION` of its tile, and a finer level only *adds* faces where no coarser level found
    one (:func:`_same_face`). A coarser level's box stands: a finer tile seeing part of a
    large face (an eye region, a face half out of the tile) would otherwise be averaged into it and shrink it
    (measured: a 280 px face behind sunglasses went to a 190 px box and a mesh 0.17 eye distances off).
    """
    height, width = image.shape[:2]
    side = float(max(height, width))
    found = _weighted_nms(_detect_in_square(image, (width - side) / 2, (height - side) / 2, side))
    runs = 1
    tile = float(min(height, width))
    while tile >= _MIN_TILE_PX:
        origins = _tile_origins(height, width, tile)
        if found and runs + len(origins) > _TILE_SEARCH_BUDGET:
            break
        level = []
        for x0, y0 in origins:
            level += _detect_in_square(image, x0, y0, tile)
        found += [d for d in _weighted_nms(level)
                  if d.size <= _TILE_MAX_FACE_FRACTION * tile and not any(_same_face(d, old) for old in found)]
        runs += len(origins)
        tile /= 2
    found.sort(key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
    return found


@dataclasses.dataclass(frozen=True)
class _Face:
    """A detection the mesh regressor confirmed: its first mesh ``points [468, 3]`` and that mesh's presence."""

    detection: FaceDetection
    points: np.ndarray
    presence: float

    def contains(self, point: np.ndarray) -> bool:
        """Whether ``point (u, v)`` lies inside the bounding box of this face's mesh."""
        low, high = self.points[:, :2].min(0), self.points[:, :2].max(0)
        return bool(np.all(point >= low) and np.all(point <= high))


def _confirmed_faces(image: np.ndarray, detections: list[FaceDetection]) -> tuple[list[_Face], float | None]:
    """The detections the Face Mesh regressor confirms (presence >= :data:`_MESH_PRESENCE_THRESHOLD` on the crop
    from the detection), largest first, one per face; and the best presence among the rejected ones (``None`` if
    none was rejected).

    Faces do not nest: a detection whose box centre, or whose mesh's nose tip, lies inside the mesh of a larger
    confirmed face is a second detection of that face (a finer tile seeing part of it) and is dropped.
    """
    faces: list[_Face] = []
    best_rejected = None
    for detection in detections:
        centre = (detection.box[:2] + detection.box[2:]) / 2
        if any(face.contains(centre) for face in faces):
            continue
        points, presence = _run_mesh(image, _roi_from_detection(detection))
        if presence < _MESH_PRESENCE_THRESHOLD:
            best_rejected = presence if best_rejected is None else max(best_rejected, presence)
            continue
        if any(face.contains(points[_NOSE_TIP, :2]) for face in faces):
            continue
        faces.append(_Face(detection, points, presence))
    return faces, best_rejected


def detect_faces(image: np.ndarray) -> list[FaceDetection]:
    """Detects faces in an ``[H, W, 3]`` uint8/uint16 sRGB photo; returns them largest first (photo pixels).

    The whole photo is searched (letterboxed to a square), then overlapping square tiles (stride half a tile) of
    the photo's shorter side, halving down to :data:`_MIN_TILE_PX`, so small faces in a large photo or a crowd are
    found too; on very large photos the finest levels are searched only while nothing has been found
    (:data:`_TILE_SEARCH_BUDGET`). Only detections the mesh regressor confirms count (:func:`_confirmed_faces`).
    """
    faces, _ = _confirmed_faces(image, _detector_candidates(image))
    return [face.detection for face in faces]


def _to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max if image.dtype.kind in "ui" else 1.0)


def _roi_from_detection(detection: FaceDetection) -> _Roi:
    right_eye, left_eye = detection.keypoints[0], detection.keypoints[1]
    angle = math.atan2(-(left_eye[1] - right_eye[1]), left_eye[0] - right_eye[0])
    box = detection.box
    size = max(box[2] - box[0], box[3] - box[1]) * _ROI_SCALE
    return _Roi(float((box[0] + box[2]) / 2), float((box[1] + box[3]) / 2), float(size), angle)


def _roi_from_points(points: np.ndarray) -> _Roi:
    right_eye, left_eye = points[_RIGHT_EYE_OUTER, :2], points[_LEFT_EYE_OUTER, :2]
    angle = math.atan2(-(left_eye[1] - right_eye[1]), left_eye[0] - right_eye[0])
    cos, sin = math.cos(angle), math.sin(angle)
    # Bounds in the levelled frame, then back to the photo.
    rotated = points[:, :2] @ np.array([[cos, -sin], [sin, cos]])
    low, high = rotated.min(0), rotated.max(0)
    centre = ((low + high) / 2) @ np.array([[cos, sin], [-sin, cos]])
    return _Roi(float(centre[0]), float(centre[1]), float((high - low).max() * _ROI_SCALE), angle)


def _roi_moved(old: _Roi, new: _Roi) -> float:
    """How far a crop moved, as a fraction of its size: the larger of the centre shift and the size change."""
    shift = math.hypot(new.cx - old.cx, new.cy - old.cy) / old.size
    return max(shift, abs(new.size - old.size) / old.size)


def _run_mesh(image: np.ndarray, roi: _Roi) -> tuple[np.ndarray, float]:
    crop = _to_float(roi.crop(image, MESH_INPUT_SIZE))
    raw_points, raw_presence = load_tflite("face_landmark.tflite")(crop)
    crop_points = raw_points.reshape(MESH_VERTEX_COUNT, 3)
    matrix = roi.crop_to_photo(MESH_INPUT_SIZE)
    uv = crop_points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    depth = -crop_points[:, 2] * (roi.size / MESH_INPUT_SIZE)
    presence = float(1.0 / (1.0 + math.exp(-float(np.ravel(raw_presence)[0]))))
    return np.concatenate([uv, depth[:, None]], axis=1), presence


def fit_face_mesh(image: np.ndarray, *, face_index: int = 0, refine_passes: int = 1) -> FaceMeshResult:
    """Detects faces and regresses the 468-point mesh of one of them (``face_index``, 0 = largest).

    Args:
      image: ``[H, W, 3]`` uint8/uint16 sRGB photo.
      face_index: which face, counted from the largest.
      refine_passes: extra mesh passes on a crop re-centred on the previous mesh; when at least one, up to
        :data:`_MAX_SETTLE_PASSES` more while the crop still moves (:data:`_ROI_SETTLED_FRACTION`).

    Raises:
      NoFaceError, FaceTooSmallError, UsageError (``face_index`` beyond the faces found).
    """
    candidates = _detector_candidates(image)
    if not candidates:
        raise NoFaceError("no face found in the photo; use a photo where one face is clearly visible")
    faces, best_rejected = _confirmed_faces(image, candidates)
    if not faces:
        raise NoFaceError(f"the face mesh regressor is not confident a face is there (presence {best_rejected:.2f}); "
                          "use a clearer, frontal photo")
    if face_index >= len(faces):
        raise UsageError(f"--face {face_index}: only {len(faces)} face(s) found (counting from 0, largest first)")
    face = faces[face_index]
    detection = face.detection
    if detection.size < MIN_FACE_SIZE_PX:
        raise FaceTooSmallError(f"the face is {math.floor(detection.size)} px wide; svfri needs at least "
                                f"{MIN_FACE_SIZE_PX} px (use a larger or closer photo)")
    points, presence = face.points, face.presence
    roi = _roi_from_detection(detection)
    for _ in range(refine_passes):
        roi = _roi_from_points(points)
        points, presence = _run_mesh(image, roi)
    for _ in range(_MAX_SETTLE_PASSES if refine_passes else 0):
        next_roi = _roi_from_points(points)
        if _roi_moved(roi, next_roi) <= _ROI_SETTLED_FRACTION:
            break
        roi = next_roi
        points, presence = _run_mesh(image, roi)
    if presence < _MESH_PRESENCE_THRESHOLD:
        raise NoFaceError(f"the face mesh regressor is not confident a face is there (presence {presence:.2f}); "
                          "use a clearer, frontal photo")
    return FaceMeshResult(points=points, presence=presence, detection=detection, face_count=len(faces))

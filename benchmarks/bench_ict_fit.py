"""Speed and accuracy of the ICT-FaceKit fit to Face Mesh's 468 points (:mod:`svfri.geometry.ict_fit`).

Run: ``python benchmarks/bench_ict_fit.py [--repeats 5] [--overlays]``. Times :func:`fit_ict_head` on the two
sample photos (``astronaut.png``, ``obama_2012.jpg``: Face Mesh run once each, in the work-image pixels the
geometry stage uses) and on three synthetic faces, with the reference workload of :mod:`benchmarks.common` timed
in the same run (ratios compare across loaded machines, seconds only within one run). Also prints each photo's
468-point residual (px and as a fraction of the outer-eye-corner distance) and, with ``--overlays``, writes
``docs/images/ict_fit_<photo>.png``: the fitted ICT face (front-facing triangles' edges, green), its 68 landmarks
(red) and Face Mesh's points (blue dots) over the work image.

The fit's dense algebra is small (``1404 x 120`` products, ``120``-square solves), so BLAS threads mostly
synchronise: on the shared 2-core machine (load ~6) the medians were 200-560 ms with the default threads and
40-50 ms with ``OPENBLAS_NUM_THREADS=1`` (same photos, same run of the day); compare runs at equal settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown_table, time_call, time_reference  # noqa: E402

from svfri.geometry.ict_fit import OUTER_EYE_CORNERS, fit_ict_head  # noqa: E402
from svfri.geometry.ict_head import load_ict_head  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PHOTOS = ("astronaut.png", "obama_2012.jpg")
OVERLAY_SIDE_PX = 900


def work_points(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Face Mesh's ``[468, 3]`` points in work-image pixels and the work image (as the geometry stage makes them)."""
    from svfri.geometry.face_detect import fit_face_mesh
    from svfri.io.images import read_photo
    from svfri.pipeline.geometry_stage import _work_crop

    photo = read_photo(REPO / "samples" / name)
    mesh = fit_face_mesh(photo.pixels)
    work, photo_to_work = _work_crop(photo, mesh.points)
    scale = photo_to_work[0, 0]
    points = np.concatenate([mesh.points[:, :2] @ photo_to_work[:, :2].T + photo_to_work[:, 2],
                             mesh.points[:, 2:3] * scale], axis=1)
    return points, work


def synthetic_points(head, seed: int) -> np.ndarray:
    """468 points of a random face (20 identity modes N(0, 1), 4 expressions U(0.2, 0.8)), posed, 0.5 px noise."""
    rng = np.random.default_rng(seed)
    identity = np.zeros(head.identity_count)
    identity[:20] = rng.standard_normal(20)
    expression = np.zeros(head.expression_count)
    expression[rng.choice(head.expression_count, 4, replace=False)] = rng.uniform(0.2, 0.8, 4)
    angles = np.deg2rad(rng.uniform(-15, 15, 3))
    rotation = cv2.Rodrigues(angles)[0]
    world = head.points468(head.shape(identity, expression)) @ rotation.T
    points = np.stack([12 * world[:, 0] + 256, -12 * world[:, 1] + 240, 12 * world[:, 2] + 30], axis=1)
    return points + rng.normal(0, 0.5, points.shape)


def overlay(work: np.ndarray, fit, head, points: np.ndarray) -> np.ndarray:
    """The fitted ICT face's wireframe, landmarks and Face Mesh's points over the (upscaled) work image."""
    zoom = OVERLAY_SIDE_PX / max(work.shape[:2])
    size = (int(round(work.shape[1] * zoom)), int(round(work.shape[0] * zoom)))
    canvas = cv2.resize(np.clip(work * 255 + 0.5, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_CUBIC)
    shape = fit.shape(head)
    faces = head.part_faces("face", render=False)
    pixels = fit.project(shape) * zoom
    normals = head.vertex_normals(shape, ("face",))
    facing = fit.to_world(normals[faces].mean(axis=1))[:, 2] > 0.05
    wire = canvas.copy()
    lines = [np.round(pixels[face] * 4).astype(np.int32) for face in faces[facing]]
    cv2.polylines(wire, lines, True, (60, 230, 110), 1, cv2.LINE_AA, shift=2)
    canvas = cv2.addWeighted(wire, 0.3, canvas, 0.7, 0)
    for x, y in points[:, :2] * zoom:
        cv2.circle(canvas, (int(round(x * 4)), int(round(y * 4))), 2 * 4, (60, 120, 255), -1, cv2.LINE_AA, shift=2)
    for x, y in fit.landmarks68(head) * zoom:
        cv2.circle(canvas, (int(round(x * 4)), int(round(y * 4))), 4 * 4, (255, 50, 50), -1, cv2.LINE_AA, shift=2)
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--overlays", action="store_true", help="write docs/images/ict_fit_<photo>.png")
    args = parser.parse_args()
    from svfri.native_logs import import_tensorflow
    import_tensorflow()

    head = load_ict_head()
    reference = time_reference()
    cases = [(name, *work_points(name)) for name in PHOTOS]
    cases += [(f"synthetic {seed}", synthetic_points(head, seed), None) for seed in range(3)]
    rows, quality = [], []
    for name, points, work in cases:
        best, median = time_call(lambda: fit_ict_head(points, head), repeats=args.repeats)
        fit = fit_ict_head(points, head)
        rows.append([name, fit.iterations, f"{1000 * best:.0f}", f"{1000 * median:.0f}", f"{median / reference:.2f}"])
        if work is None:
            continue
        eye = float(np.linalg.norm(points[OUTER_EYE_CORNERS[0], :2] - points[OUTER_EYE_CORNERS[1], :2]))
        inner, oval = fit.residual_rms(), fit.residual_rms(contour=True)
        quality.append([name, f"{eye:.1f}", f"{inner:.2f}", f"{100 * inner / eye:.2f} %", f"{oval:.2f}",
                        f"{np.median(fit.residuals):.2f}", int((fit.robust_weights < 0.01).sum()),
                        f"{np.linalg.norm(fit.identity):.1f}",
                        ", ".join(f"{head.expression_names[j]} {fit.expression[j]:.2f}"
                                  for j in np.argsort(-fit.expression)[:3])])
        if args.overlays:
            path = REPO / "docs" / "images" / f"ict_fit_{Path(name).stem}.png"
            cv2.imwrite(str(path), cv2.cvtColor(overlay(work, fit, head, points), cv2.COLOR_RGB2BGR))
            print(f"wrote {path.relative_to(REPO)}")
    print(f"reference workload: {reference:.3f} s; fit times over {args.repeats} runs after one warm-up\n")
    print(markdown_table(["input", "iterations", "min ms", "median ms", "median / reference"], rows))
    print()
    print(markdown_table(["photo", "eye corners px", "rms px (468 - oval)", "rms / eye distance", "oval rms px",
                          "median px", "weight-0 points", "|identity|", "top expressions"], quality))


if __name__ == "__main__":
    main()

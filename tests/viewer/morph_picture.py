"""Picture of an ICT-head ``face.glb`` driven by its blendshapes in three.js (headless Chromium): the file's default
pose (the fitted expression), all weights 0, ``jawOpen`` = 1, and a smile with closed eyes and raised brows.

    python tests/viewer/morph_picture.py OUTPUT_FOLDER docs/images/ict_morphs_browser.png

``OUTPUT_FOLDER`` is an ICT-head output folder (``svfri mesh`` / ``svfri fit``); it is exported to a temporary
``face.glb`` first. Needs node, ``npm ci --prefix tests/viewer`` and Chromium (``render.mjs``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from svfri.io.gltf_ict import write_ict_glb
from svfri.io.ict_export import load_ict_export

VIEWER = Path(__file__).resolve().parent
#: Side of each view, pixels; the frame is the head's height times this fraction (face, not neck).
VIEW_SIZE = 400
FRAME_FRACTION = 0.72
#: The frame's centre above the head's, as a fraction of its height (the face sits above the neck).
FRAME_RAISE = 0.12
SMILE = ("mouthSmile_L", "mouthSmile_R", "eyeBlink_L", "eyeBlink_R", "browInnerUp_L", "browInnerUp_R")
LABEL_SCALE, LABEL_THICKNESS, LABEL_MARGIN_PX = 0.55, 1, 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    export = load_ict_export(args.folder)
    points = np.concatenate([part.fitted_positions for part in export.parts]) / 100.0
    low, high = points.min(0), points.max(0)
    height = high[1] - low[1]
    centre_x, centre_y = (low[0] + high[0]) / 2, (low[1] + high[1]) / 2 + FRAME_RAISE * height
    half = height / 2 * FRAME_FRACTION
    query = (f"width={VIEW_SIZE}&height={VIEW_SIZE}&lighting=studio&left={centre_x - half}&right={centre_x + half}"
             f"&top={centre_y + half}&bottom={centre_y - half}")
    zero = [f"{name}:0" for name in export.expression_names]
    poses = [("fitted expression (file default)", []), ("all weights 0 (neutral)", zero),
             ("jawOpen = 1", zero + ["jawOpen:1"]), ("smile, blink, browInnerUp = 1", zero + [f"{n}:1" for n in SMILE])]
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        write_ict_glb(work / "face.glb", export)
        jobs = [{"model": str(work / "face.glb"), "out": str(work / f"{i}.png"),
                 "query": query + ("&morph=" + ",".join(morph) if morph else "")} for i, (_, morph) in enumerate(poses)]
        (work / "jobs.json").write_text(json.dumps(jobs))
        subprocess.run(["node", str(VIEWER / "render.mjs"), str(work / "jobs.json")], check=True,
                       stdout=subprocess.DEVNULL)
        views = []
        for job, (label, _) in zip(jobs, poses):
            view = np.ascontiguousarray(cv2.imread(job["out"], cv2.IMREAD_UNCHANGED)[..., :3])
            cv2.putText(view, label, (LABEL_MARGIN_PX, VIEW_SIZE - LABEL_MARGIN_PX), cv2.FONT_HERSHEY_SIMPLEX,
                        LABEL_SCALE, (255, 255, 255), LABEL_THICKNESS, cv2.LINE_AA)
            views.append(view)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.concatenate(views, axis=1))


if __name__ == "__main__":
    main()

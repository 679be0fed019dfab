"""Pictures for the README: the sample photo fitted and relit under several CC0 environments.

Usage (from the repository root, after the networks are installed in ``models/networks``)::

    .venv/bin/python -m precompute.make_readme_images [--out docs/images] [--steps 150]

Writes ``docs/images/sample_report.png`` (the fit's one-page report) and ``docs/images/relit_strip.png``: the photo,
the reconstruction, then the fitted face relit from the front (novel view, yaw 20 degrees) under each environment of
:data:`ENVIRONMENTS` (the full CC0 set from ``python -m precompute.fetch_hdris`` when cached, else the two samples).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import tempfile

import cv2
import numpy as np

from svfri.native_logs import import_tensorflow

#: Environments of the strip: held-out and training maps of different character (studio, indoor, sunny, sunset).
ENVIRONMENTS = ("studio", "lobby", "sunset", "park", "city", "night")
_TILE = 256
_YAW_DEGREES = 20.0
#: Rec. 709 luminance weights of linear RGB.
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


def _label(image: np.ndarray, text: str) -> np.ndarray:
    tile = np.ascontiguousarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    cv2.putText(tile, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/images"))
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args(argv)
    import_tensorflow()
    from svfri.data.hdri import SAMPLE_HDRIS, hdri_path, sample_hdri_path
    from svfri.errors import HdrError
    from svfri.io.hdr import read_environment
    from svfri.io.output_set import load_face_asset
    from svfri.fitting.optimise import FitSettings
    from svfri.pipeline.fit_job import FitJobSettings, run_fit
    from svfri.pipeline.relight_job import render_view
    from svfri.render.relight import environment_lighting, tonemap_aces

    sample = pathlib.Path("samples/astronaut.png")
    with tempfile.TemporaryDirectory() as temporary:
        folder = pathlib.Path(temporary) / "astronaut"
        metrics = run_fit(sample, folder, FitJobSettings(fit=FitSettings(steps=args.steps)))
        shutil.copy(folder / "report.png", args.out / "sample_report.png")
        asset = load_face_asset(folder)
        fit = cv2.imread(str(folder / "reconstruction.png"))[..., ::-1].astype(np.float32) / 255
        photo = cv2.imread(str(sample))[..., ::-1].astype(np.float32) / 255
        crop = slice(40, 240), slice(124, 324)  # the face region of the 512x512 sample
        tiles = [_label(cv2.resize(photo[crop], (_TILE, _TILE)), "photo"),
                 _label(cv2.resize(fit[crop], (_TILE, _TILE)), f"fit {metrics['psnr_db']:.1f} dB")]
        for name in ENVIRONMENTS:
            try:
                path = hdri_path(name)
            except HdrError:
                if name not in SAMPLE_HDRIS:
                    continue
                path = sample_hdri_path(name)
            environment = read_environment(path)
            # Auto-exposure: scale each map so its mean radiance (luminance) is 1, like a camera metering the scene.
            mean_luminance = float((environment.mean(axis=(0, 1)) * _LUMINANCE).sum())
            lighting = environment_lighting(environment, exposure_ev=-float(np.log2(max(mean_luminance, 1e-6))))
            radiance, coverage, _ = render_view(asset, lighting, yaw=_YAW_DEGREES, pitch=0.0, size=_TILE)
            display = tonemap_aces(radiance / np.maximum(coverage[..., None], 1e-6))
            tiles.append(_label(display * coverage[..., None] + 0.45 * (1 - coverage[..., None]), name))
        strip = np.concatenate(tiles, axis=1)
        cv2.imwrite(str(args.out / "relit_strip.png"), strip[..., ::-1])
    print(f"wrote {args.out / 'sample_report.png'} and {args.out / 'relit_strip.png'}; fit: {metrics}")


if __name__ == "__main__":
    main()

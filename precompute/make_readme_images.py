"""Pictures for the README: the sample photo fitted and relit under several CC0 environments.

Usage (from the repository root, after the networks are installed in ``models/networks``)::

    .venv/bin/python -m precompute.make_readme_images [--out docs/images] [--steps 150]

Writes ``docs/images/sample_report.png`` (the fit's one-page report) and ``docs/images/relit_strip.png``: the photo,
the reconstruction, then the fitted face relit from the front (novel view, yaw 20 degrees) under each environment of
:data:`ENVIRONMENTS` (the full CC0 set from ``python -m precompute.fetch_hdris`` when cached, else the two samples).
Also ``docs/images/real_portraits.png``: every portrait of :data:`PORTRAITS` (``samples/``, public domain) as
photo | reconstruction | albedo (UV) | relit under two sample environments exposed as the photo was (the face gets
the fitted light's frontal irradiance), with the face-mask PSNR, and
``docs/images/real_portraits.json`` with each fit's metrics and timings; ``docs/images/ict_head_views.png``: a fitted
ICT head from the front, three-quarter and profile views under the two sample environments (:func:`head_views`).
The strip's environments are exposed by :func:`svfri.render.environment.metering_exposure_ev` (mean luminance 1);
the portraits' relights as their photo was (``environment_lighting(..., match_light_sh=...)``).
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
#: Real portraits fitted for ``real_portraits.png`` (``samples/PROVENANCE.md``).
PORTRAITS = ("astronaut.png", "grace_hopper.jpg", "obama_2012.jpg", "obama_2009_stage_light.jpg",
             "biden_2010_full_length.jpg")
#: Fraction of the landmarks' bounding box added on each side of a portrait's face crop.
_CROP_MARGIN = 0.35
_YAW_DEGREES = 20.0


def _label(image: np.ndarray, text: str) -> np.ndarray:
    tile = np.ascontiguousarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    cv2.putText(tile, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def _face_crop(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Square crop around the 68 landmarks (``[68, 2]`` photo pixels), :data:`_CROP_MARGIN` added each side."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low).max() * (0.5 + _CROP_MARGIN)
    x0, y0 = int(max(centre[0] - half, 0)), int(max(centre[1] - half, 0))
    x1, y1 = int(min(centre[0] + half, image.shape[1])), int(min(centre[1] + half, image.shape[0]))
    return cv2.resize(image[y0:y1, x0:x1], (_TILE, _TILE), interpolation=cv2.INTER_AREA)


def real_portraits(out: pathlib.Path, steps: int) -> list[dict]:
    """Fits every portrait of :data:`PORTRAITS` and writes ``real_portraits.png`` / ``.json`` (module docstring)."""
    import json

    from svfri.data.hdri import sample_hdri_path
    from svfri.fitting.optimise import FitSettings
    from svfri.io.hdr import read_environment
    from svfri.io.images import read_photo
    from svfri.io.output_set import load_face_asset
    from svfri.pipeline.fit_job import REPORT_HDRIS, FitJobSettings, run_fit
    from svfri.pipeline.relight_job import fitted_light
    from svfri.pipeline.relight_job import relit_preview
    from svfri.render.relight import environment_lighting

    environments = {name: read_environment(sample_hdri_path(name)) for name in REPORT_HDRIS}
    rows, records = [], []
    with tempfile.TemporaryDirectory() as temporary:
        for name in PORTRAITS:
            sample = pathlib.Path("samples") / name
            folder = pathlib.Path(temporary) / sample.stem
            metrics = run_fit(sample, folder, FitJobSettings(fit=FitSettings(steps=steps)))
            fit_json = json.loads((folder / "fit.json").read_text())
            records.append({"photo": name, **metrics, "timings_seconds": fit_json["timings_seconds"]})
            points = np.asarray(json.loads((folder / "landmarks.json").read_text())["points"], np.float64)
            photo = read_photo(sample).to_float()
            reconstruction = cv2.imread(str(folder / "reconstruction.png"))[..., ::-1].astype(np.float32) / 255
            scale = reconstruction.shape[1] / photo.shape[1]       # reconstruction.png may be shrunk
            albedo = cv2.imread(str(folder / "albedo.png"))[..., ::-1].astype(np.float32) / 255
            side = albedo.shape[0]
            albedo = albedo[side // 8: side - side // 8, side // 8: side - side // 8]
            tiles = [_label(_face_crop(photo, points), name.rsplit(".", 1)[0][:22]),
                     _label(_face_crop(reconstruction, points * scale), f"fit {metrics['psnr_db']:.1f} dB"),
                     _label(cv2.resize(albedo, (_TILE, _TILE), interpolation=cv2.INTER_AREA), "albedo")]
            asset = load_face_asset(folder)
            light = fitted_light(folder)
            for light_name, environment in environments.items():
                # Exposed as the photo was: the face gets the fitted light's frontal irradiance.
                lighting = environment_lighting(environment, match_light_sh=light)
                tiles.append(_label(relit_preview(asset, lighting, yaw=_YAW_DEGREES, size=_TILE),
                                    f"relit: {light_name}"))
            rows.append(np.concatenate(tiles, axis=1))
            print(f"{name}: {metrics}", flush=True)
    cv2.imwrite(str(out / "real_portraits.png"), np.concatenate(rows, axis=0)[..., ::-1])
    (out / "real_portraits.json").write_text(json.dumps(records, indent=1) + "\n")
    return records


#: Views of the fitted head in ``ict_head_views.png``: front, three-quarter and profile (yaw, degrees).
HEAD_VIEWS = (("front", 0.0), ("three-quarter", 35.0), ("profile", 80.0))
#: The portrait fitted for ``ict_head_views.png``.
HEAD_VIEWS_PHOTO = "obama_2012.jpg"


def head_views(out: pathlib.Path, steps: int) -> pathlib.Path:
    """``ict_head_views.png``: :data:`HEAD_VIEWS_PHOTO` fitted at default settings (the ICT head), relit from the
    front, three-quarter and profile views under the two sample environments, each exposed as the photo was."""
    from svfri.data.hdri import sample_hdri_path
    from svfri.fitting.optimise import FitSettings
    from svfri.io.hdr import read_environment
    from svfri.io.images import read_photo
    from svfri.io.output_set import load_face_asset
    from svfri.pipeline.fit_job import REPORT_HDRIS, FitJobSettings, run_fit
    from svfri.pipeline.relight_job import fitted_light, relit_preview
    from svfri.render.relight import environment_lighting

    sample = pathlib.Path("samples") / HEAD_VIEWS_PHOTO
    with tempfile.TemporaryDirectory() as temporary:
        folder = pathlib.Path(temporary) / sample.stem
        run_fit(sample, folder, FitJobSettings(fit=FitSettings(steps=steps), report=False))
        import json

        points = np.asarray(json.loads((folder / "landmarks.json").read_text())["points"], np.float64)
        photo = _label(_face_crop(read_photo(sample).to_float(), points), "photo")
        asset, light = load_face_asset(folder), fitted_light(folder)
        rows = []
        for name in REPORT_HDRIS:
            lighting = environment_lighting(read_environment(sample_hdri_path(name)), match_light_sh=light)
            tiles = [photo] + [_label(relit_preview(asset, lighting, yaw=yaw, size=_TILE), f"{view}: {name}")
                               for view, yaw in HEAD_VIEWS]
            rows.append(np.concatenate(tiles, axis=1))
    path = out / "ict_head_views.png"
    cv2.imwrite(str(path), np.concatenate(rows, axis=0)[..., ::-1])
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/images"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--only", choices=["sample", "portraits", "head-views"], default=None,
                        help="make one of the sets")
    args = parser.parse_args(argv)
    import_tensorflow()
    if args.only in (None, "head-views"):
        print(f"wrote {head_views(args.out, args.steps)}")
        if args.only == "head-views":
            return
    if args.only != "sample":
        real_portraits(args.out, args.steps)
        if args.only == "portraits":
            return
    from svfri.data.hdri import SAMPLE_HDRIS, hdri_path, sample_hdri_path
    from svfri.errors import HdrError
    from svfri.io.hdr import read_environment
    from svfri.io.output_set import load_face_asset
    from svfri.fitting.optimise import FitSettings
    from svfri.pipeline.fit_job import FitJobSettings, run_fit
    from svfri.pipeline.relight_job import relit_preview
    from svfri.render.environment import metering_exposure_ev
    from svfri.render.relight import environment_lighting

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
            lighting = environment_lighting(environment, exposure_ev=metering_exposure_ev(environment))
            tiles.append(_label(relit_preview(asset, lighting, yaw=_YAW_DEGREES, size=_TILE), name))
        strip = np.concatenate(tiles, axis=1)
        cv2.imwrite(str(args.out / "relit_strip.png"), strip[..., ::-1])
    print(f"wrote {args.out / 'sample_report.png'} and {args.out / 'relit_strip.png'}; fit: {metrics}")


if __name__ == "__main__":
    main()

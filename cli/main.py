"""The ``svfri`` command line (Click). One command, one job; every command has ``--help``.

Errors: a :class:`svfri.errors.SvfriError` prints ``error: <message>`` on one line to stderr and exits with its code
(README, "Exit codes"); usage errors exit 2 (Click's convention); any other exception is an internal error, printed
on one line (the traceback with ``SVFRI_DEBUG=1``) with exit code 1; Ctrl-C exits 130 without a traceback.

Batch output: a progress bar only when stderr is a terminal; otherwise one line per photo as it finishes
(``--json-lines``: one JSON object per photo, then a final summary object).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click

import svfri
from svfri.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, SvfriError
from svfri.fitting.settings import ALBEDO_LEVELS, ENHANCE_MODES, FitSettings, RefineSettings
from svfri.native_logs import import_tensorflow

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: Environment variable: show tracebacks of internal errors (any command).
DEBUG_ENV = "SVFRI_DEBUG"


def _fail(error: SvfriError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


def _progress_on_terminal() -> bool:
    """Progress bars (carriage-return updates) only when a person is watching stderr."""
    return sys.stderr.isatty()


class _Group(click.Group):
    """The command group: Ctrl-C exits 130 with one line; an unexpected exception is one line and exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("error: interrupted (Ctrl-C); nothing half-written was left behind", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except SvfriError as error:
            _fail(error)
        except Exception as error:  # a bug: say so on one line, not a traceback (unless asked for)
            if os.environ.get(DEBUG_ENV):
                raise
            click.echo(f"error: internal error ({type(error).__name__}: {error}); please report it "
                       f"(set {DEBUG_ENV}=1 for the traceback)", err=True)
            sys.exit(EXIT_INTERNAL)


def _row_line(row: dict, index: int, total: int) -> tuple[str, bool]:
    """One human-readable line for a finished row, and whether it goes to stderr."""
    prefix = f"[{index}/{total}] " if total > 1 else ""
    if row["status"] == "ok":
        quality = row.get("metrics", {}).get("psnr_db")
        quality = f", face PSNR {quality:.2f} dB" if quality is not None else ""
        return f"{prefix}{row['input']} -> {row['output']} ({row['seconds']:.1f} s{quality})", False
    if row["status"] == "skipped":
        return f"{prefix}{row['input']}: skipped (already complete in {row['output']})", False
    return f"error: {row['error']}", True


class _BatchPrinter:
    """Presents a running batch: ``on_start`` / ``on_row`` callbacks of :func:`svfri.pipeline.batch.run_batch`.

    * ``--json-lines``: each finished row as one JSON object on stdout (flushed), errors also on stderr;
    * on a terminal (stderr a tty, several photos): a tqdm bar over the photos, finished lines printed above it;
    * otherwise: one line per finished photo (stdout; errors on stderr) — no carriage-return updates.
    ``--quiet`` and ``--json`` leave only the error lines.
    """

    def __init__(self, total: int, *, quiet: bool, as_json: bool, json_lines: bool):
        self.total, self.quiet, self.as_json, self.json_lines = total, quiet, as_json, json_lines
        self.finished = 0
        self.bar = None
        if total > 1 and not (quiet or as_json or json_lines) and _progress_on_terminal():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="photos", unit="photo", leave=False)

    def _echo(self, line: str, err: bool) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr if err else sys.stdout)
        else:
            click.echo(line, err=err)

    def on_row(self, row: dict) -> None:
        self.finished += 1
        if self.bar is not None:
            self.bar.update(1)
        line, err = _row_line(row, self.finished, self.total)
        if self.json_lines:
            click.echo(json.dumps(row))
            sys.stdout.flush()
        if err:
            self._echo(line, True)
        elif not (self.quiet or self.as_json or self.json_lines):
            self._echo(line, False)
            for note in row.get("metrics", {}).get("notes", []):
                self._echo(f"note: {row['input']}: {note}", True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _counts(result) -> dict:
    statuses = [row["status"] for row in result.rows]
    return {"total": result.total, "ok": statuses.count("ok"), "skipped": statuses.count("skipped"),
            "failed": statuses.count("failed"), "interrupted": result.interrupted}


def _report_batch(result, out: Path, *, as_json: bool, json_lines: bool, quiet: bool, what: str) -> None:
    """The end of a batch: the JSON report, the final JSON line, or the count line; then exits with its code."""
    counts = _counts(result)
    if as_json:
        click.echo(json.dumps({"exit_code": result.exit_code, **counts, "results": result.rows}, indent=2))
    elif json_lines:
        click.echo(json.dumps({"summary": counts, "exit_code": result.exit_code}))
    elif not quiet and result.total > 1:
        click.echo(f"{what}: {counts['ok'] + counts['skipped']}/{result.total} done")
    if result.interrupted:
        where = f"; summary so far in {out / 'summary.json'}" if result.total > 1 else ""
        click.echo(f"error: interrupted (Ctrl-C) after {counts['ok'] + counts['skipped']} of {result.total} "
                   f"photos{where}; run again with --skip-existing to resume", err=True)
    sys.exit(result.exit_code)


def _run_batch_command(photos, out, job, *, output_set, skip_existing, quiet, as_json, json_lines, debug, what,
                       runner=None):
    from svfri.pipeline.batch import run_batch

    printer = _BatchPrinter(len(photos), quiet=quiet, as_json=as_json, json_lines=json_lines)
    try:
        result = (runner or run_batch)(photos, out, job, output_set=output_set, skip_existing=skip_existing,
                                       debug=debug, on_row=printer.on_row)
    finally:
        printer.close()
    _report_batch(result, out, as_json=as_json, json_lines=json_lines, quiet=quiet, what=what)


def _report_files(report: dict, *, as_json: bool, quiet: bool) -> None:
    """Prints a single-folder job's report: JSON, or its notes (stderr) and the files it wrote."""
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif not quiet:
        for note in report["notes"]:
            click.echo(f"note: {note}", err=True)
        click.echo(" ".join(report["files"]))


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(svfri.__version__, "--version", prog_name="svfri")
def main() -> None:
    """svfri: one portrait photo -> relightable face (albedo, specular, normal maps, SH lighting, mesh)."""


def _batch_options(function):
    options = [
        click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Output folder (several inputs: one sub-folder per photo, named by its stem)."),
        click.option("--recursive", "-r", is_flag=True, help="Descend into sub-folders of folder inputs."),
        click.option("--face", "face_index", default=0, show_default=True, type=click.IntRange(min=0),
                     help="Which face when there are several, counted from the largest (0)."),
        click.option("--skip-existing", is_flag=True, help="Skip photos whose output folder is already complete."),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout at the end (for scripts)."),
        click.option("--json-lines", is_flag=True, help="Stream one JSON object per photo on stdout as it finishes, "
                     "then a final {\"summary\": ...} object (for scripts and logs)."),
        click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of internal errors."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _photos(inputs, out: Path, recursive: bool, as_json: bool, json_lines: bool) -> list[Path]:
    """The photos of a batch command (``--out`` and svfri's own files left out); usage errors raised."""
    from svfri.pipeline.inputs import expand_inputs

    if as_json and json_lines:
        raise svfri.errors.UsageError("--json and --json-lines exclude each other; choose one")
    photos = expand_inputs(list(inputs), recursive=recursive, exclude=[out])
    if not photos:
        raise svfri.errors.UsageError("no photos found in the given inputs")
    return photos


@main.command("mesh", context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@_batch_options
@click.option("--texture-size", default=512, show_default=True, type=click.IntRange(64, 4096),
              help="Side of the unwrapped texture and bake textures, in texels.")
@click.option("--ray-count", default=128, show_default=True, type=click.IntRange(16, 4096),
              help="Rays per vertex for the visibility bake.")
@click.option("--mesh", "mesh_kind", type=click.Choice(["ict", "template"]), default="ict", show_default=True,
              help="ict: the ICT-FaceKit head fitted to the photo (full head, eyes, teeth); template: the 468-point "
                   "Face Mesh subdivided (the face disc the networks were trained in).")
def mesh_command(inputs, out, recursive, face_index, skip_existing, quiet, as_json, json_lines, debug, texture_size,
                 ray_count, mesh_kind):
    """Geometry stage: photo -> fitted face mesh, UV unwrap, baked visibility.

    INPUTS are photo files, folders or glob patterns. Writes mesh.obj/.mtl, texture.png, visibility.npz,
    landmarks.json, fit.json and overlay.png per photo.
    """
    import_tensorflow()
    from svfri.geometry.face_models import ensure_face_models
    from svfri.pipeline.completeness import MESH_SET
    from svfri.pipeline.geometry_stage import GeometrySettings, run_geometry_stage

    try:
        photos = _photos(inputs, out, recursive, as_json, json_lines)
        settings = GeometrySettings(mesh=mesh_kind, face_index=face_index, texture_size=texture_size,
                                    ray_count=ray_count)
        ensure_face_models(quiet=quiet or as_json or json_lines)
        _run_batch_command(photos, out, lambda photo, folder: run_geometry_stage(photo, folder, settings, quiet=quiet),
                           output_set=MESH_SET, skip_existing=skip_existing, quiet=quiet, as_json=as_json,
                           json_lines=json_lines, debug=debug, what="mesh")
    except SvfriError as error:
        _fail(error)


@main.command("relight", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--hdr", required=True, type=click.Path(path_type=Path),
              help="Equirectangular environment map: .exr, .hdr, or an LDR panorama (.png/.jpg), 2:1.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output PNG (tone-mapped); a linear .exr is written beside it. [default: FOLDER/relit.png]")
@click.option("--rotate", "rotate_degrees", default=0.0, show_default=True, type=float,
              help="Turn the environment about the vertical axis, degrees.")
@click.option("--exposure", "exposure_ev", default=0.0, show_default=True, type=float,
              help="Scale the environment by 2^EV.")
@click.option("--match-photo-exposure", is_flag=True,
              help="Expose the environment so the face gets the photo's frontal irradiance (from lighting.json); "
                   "--exposure is added on top.")
@click.option("--yaw", type=float, default=None, help="Novel view: turn the head (and its light) by this yaw, degrees.")
@click.option("--pitch", type=float, default=None, help="Novel view: tilt the head up by this pitch, degrees.")
@click.option("--size", default=512, show_default=True, type=click.IntRange(32, 4096),
              help="Side of novel-view and turntable images, pixels.")
@click.option("--turntable", "turntable_frames", default=0, show_default=True, type=click.IntRange(0, 720),
              help="Also write an N-frame turntable GIF (FOLDER/relit_turntable.gif).")
@click.option("--background", type=click.Choice(["auto", "photo", "grey", "transparent"]), default="auto",
              show_default=True, help="auto = the photo in its own view, neutral grey in novel views.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
def relight_command(folder, hdr, out, rotate_degrees, exposure_ev, match_photo_exposure, yaw, pitch, size,
                    turntable_frames, background, quiet, as_json):
    """Render an output FOLDER (of `svfri mesh` / `svfri fit`, or any folder following the output contract)
    under an HDR environment map."""
    import_tensorflow()
    from svfri.pipeline.relight_job import RelightSettings, run_relight

    out = out or Path(folder) / "relit.png"
    settings = RelightSettings(rotate_degrees=rotate_degrees, exposure_ev=exposure_ev, yaw_degrees=yaw,
                               pitch_degrees=pitch, size=size, turntable_frames=turntable_frames,
                               background=background, match_photo_exposure=match_photo_exposure)
    try:
        report = run_relight(Path(folder), hdr, out, settings)
    except SvfriError as error:
        _fail(error)
    _report_files(report, as_json=as_json, quiet=quiet)


@main.command("fit", context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@_batch_options
@click.option("--steps", default=150, show_default=True, type=click.IntRange(0, 100000),
              help="Adam steps on the latent codes (0 = the networks' prediction alone).")
@click.option("--learning-rate", default=0.1, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Adam learning rate.")
@click.option("--resolution", default=0, show_default=True, type=click.IntRange(0, 4096),
              help="Side of the written maps; 0 keeps the networks' sizes (albedo 512, specular/normal 256).")
@click.option("--texture-size", default=256, show_default=True, type=click.IntRange(64, 4096),
              help="Side of the unwrapped photo texture and bake textures.")
@click.option("--loss-space", type=click.Choice(["srgb", "linear"]), default="srgb", show_default=True,
              help="Compare render and photo sRGB-encoded or linear.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the visibility bake's ray pattern.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default="auto", show_default=True,
              help="Where TensorFlow runs.")
@click.option("--save-every", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also write the maps every N steps into OUT/steps/ as the fit goes.")
@click.option("--latent-prior", default=FitSettings.latent_prior_weight, show_default=True,
              type=click.FloatRange(min=0), help="Weight of |z - z_encoder|^2: keeps the maps near the networks' "
              "prediction while the light moves (0 = the paper's unregularised fit).")
@click.option("--enhance", "enhance", default=FitSettings.enhance, show_default=True,
              type=click.Choice(ENHANCE_MODES),
              help="Where the enhancers run: after (once, on the fitted codes; the steps render the decoders' maps), "
              "loop (in every step, as the paper; slower) or off (the decoders' maps are written).")
@click.option("--albedo-level", "albedo_level", default=FitSettings.albedo_level, show_default=True,
              type=click.Choice(ALBEDO_LEVELS),
              help="Where the albedo's absolute level (skin tone) comes from: networks (the albedo networks' own "
                   "level, from the face) or context (a regressor on the photo around the face: background, hair, "
                   "clothes, eyes, teeth; it lost to networks on the held-out path-traced benchmark, README).")
@click.option("--hold-albedo-level/--free-albedo-level", "hold_albedo_level",
              default=FitSettings.hold_albedo_level, show_default=True,
              help="Keep the albedo's mean colour over the face at the networks' level during the fit, so the "
                   "light answers the photo's brightness (free: the fit may move both).")
@click.option("--refine-steps", default=RefineSettings.steps, show_default=True, type=click.IntRange(0, 100000),
              help="Detail refinement steps on the albedo texels after the latent fit (0 = off, the default: on "
                   "path-traced tuning scenes it put shading into the albedo; 60 gives a closer reconstruction).")
@click.option("--no-report", is_flag=True, help="Skip report.png (saves ~2 s per photo).")
@click.option("--mesh", "mesh_kind", type=click.Choice(["ict", "template"]), default="ict", show_default=True,
              help="ict: the ICT-FaceKit head fitted to the photo (full head, eyes, teeth); template: the 468-point "
                   "Face Mesh subdivided (the face disc the networks were trained in).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the batch on a Dask distributed cluster, e.g. tcp://HOST:8786 (pip install 'svfri[dask]').")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Run the batch on a local Dask cluster of N worker processes (pip install 'svfri[dask]').")
def fit_command(inputs, out, recursive, face_index, skip_existing, quiet, as_json, json_lines, debug, steps,
                learning_rate,
                resolution, texture_size, loss_space, seed, device, save_every, latent_prior, enhance,
                albedo_level, hold_albedo_level, refine_steps, no_report, mesh_kind, scheduler, workers):
    """Reconstruct: photo -> albedo, specular, normal maps, SH lighting and mesh (the full output set).

    INPUTS are photo files, folders or glob patterns; several inputs get one sub-folder each under --out.
    """
    tf = import_tensorflow()
    from svfri.geometry.face_models import ensure_face_models
    from svfri.pipeline.completeness import FIT_SET
    from svfri.pipeline.albedo_level import load_level_net
    from svfri.pipeline.fit_job import FitJobSettings, load_networks, run_fit
    from svfri.pipeline.geometry_stage import GeometrySettings

    try:
        if device == "cpu":
            tf.config.set_visible_devices([], "GPU")
        elif device == "gpu" and not tf.config.list_physical_devices("GPU"):
            raise svfri.errors.UsageError("--device gpu: TensorFlow sees no GPU on this machine; use --device cpu")
        photos = _photos(inputs, out, recursive, as_json, json_lines)
        ensure_face_models(quiet=quiet or as_json or json_lines)
        load_networks()
        if albedo_level == "context":
            load_level_net()
        settings = FitJobSettings(
            geometry=GeometrySettings(mesh=mesh_kind, face_index=face_index, texture_size=texture_size, seed=seed),
            fit=FitSettings(steps=steps, learning_rate=learning_rate, loss_space=loss_space,
                            latent_prior_weight=latent_prior, enhance=enhance, albedo_level=albedo_level,
                            hold_albedo_level=hold_albedo_level),
            refine=RefineSettings(steps=refine_steps), resolution=resolution, save_every=save_every, report=not no_report)

        show_steps = not (quiet or as_json or json_lines) and _progress_on_terminal()

        def job(photo, folder):
            if not show_steps:  # logs get one line per photo, not one carriage-return update per step
                return run_fit(photo, folder, settings)
            from tqdm import tqdm

            bar = tqdm(total=steps + refine_steps, desc=photo.name, unit="step", leave=False)
            try:
                return run_fit(photo, folder, settings,
                               on_step=lambda step, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.5f}")))
            finally:
                bar.close()

        runner = None
        if scheduler is not None or workers is not None:  # Dask: the job runs on the workers, so it must pickle
            if scheduler is not None and workers is not None:
                raise svfri.errors.UsageError("give --scheduler ADDRESS or --workers N, not both")
            import functools

            from svfri.pipeline.distributed import dask_runner

            runner = dask_runner(scheduler=scheduler, workers=workers)
            job = functools.partial(run_fit, settings=settings)
        _run_batch_command(photos, out, job, output_set=FIT_SET, skip_existing=skip_existing, quiet=quiet,
                           as_json=as_json, json_lines=json_lines, debug=debug, what="fit", runner=runner)
    except SvfriError as error:
        _fail(error)


@main.command("fetch-models", context_settings=CONTEXT)
def fetch_models_command():
    """Fetch and verify the face detector and face-mesh models (once; later runs use the cache)."""
    from svfri.geometry.face_models import ensure_face_models

    try:
        folder = ensure_face_models(quiet=False)
    except SvfriError as error:
        _fail(error)
    click.echo(f"face models ready in {folder}")


@main.command("export", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--format", "export_format", type=click.Choice(["glb", "obj", "both"]), default="glb",
              show_default=True, help="glTF 2.0 binary (face.glb), OBJ + MTL + maps (face.obj), or both.")
@click.option("--texture-size", default=1024, show_default=True, type=click.IntRange(0, 8192),
              help="Downscale maps larger than this many texels a side (0 keeps their size).")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Destination folder, or a .glb file name with --format glb. [default: FOLDER]")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
def export_command(folder, export_format, texture_size, out, quiet, as_json):
    """Export an output FOLDER (of `svfri fit` / `svfri mesh`) for engines and DCC tools: glTF 2.0 with a PBR
    material (Blender, three.js, Unity, Unreal, Godot) and/or Wavefront OBJ + MTL. See docs/export.md."""
    from svfri.pipeline.export_job import ExportSettings, run_export

    try:
        report = run_export(Path(folder), out=out, settings=ExportSettings(format=export_format,
                                                                           texture_size=texture_size))
    except SvfriError as error:
        _fail(error)
    _report_files(report, as_json=as_json, quiet=quiet)


if __name__ == "__main__":
    main()

"""Results are never lost or mixed up: completeness per command, whole-set commits, the folder lock, staged
snapshots, Ctrl-C and resume, svfri's own files never taken as photos, readable batch logs."""

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import svfri.pipeline.fit_job as fit_job
import svfri.pipeline.geometry_stage as geometry_stage
from svfri.errors import EXIT_INTERRUPTED, EXIT_SOME_FAILED, OutputError
from svfri.io import staging
from svfri.io.staging import LOCK_PREFIX, STAGING_PREFIX, FolderLock, StagedOutput
from svfri.pipeline.completeness import COMPLETE_MARKER, OUTPUT_FILES, is_complete, recorded_output_set
from svfri_cli.main import main

MESH_ARGS = ["--texture-size", "64", "--ray-count", "16"]
FIT_ARGS = ["--steps", "2", "--refine-steps", "0", "--texture-size", "64", "--no-report"]




def _photos(tmp_path, sample_photo, good=4):
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(1, good + 1):
        shutil.copy(sample_photo, folder / f"good{k}.png")
    (folder / "notes.jpg").write_text("not an image")
    cv2.imwrite(str(folder / "black.png"), np.zeros((200, 200, 3), np.uint8))
    return folder


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith((STAGING_PREFIX, LOCK_PREFIX))]


def test_killed_and_resumed_batch_does_every_good_photo_exactly_once(tmp_path, sample_photo, monkeypatch):
    photos = _photos(tmp_path, sample_photo)
    out = tmp_path / "out"
    completed: list[str] = []
    real_run, real_write = geometry_stage.run_geometry_stage, geometry_stage.write_geometry_outputs
    writes = {"count": 0}

    def counting_run(photo, folder, settings, **kwargs):
        metrics = real_run(photo, folder, settings, **kwargs)
        completed.append(Path(photo).name)
        return metrics

    def killed_on_third_write(result, folder, settings, **kwargs):
        writes["count"] += 1
        if writes["count"] == 3:  # Ctrl-C while the third good photo is being written
            (folder / "mesh.obj").write_text("half a mesh")
            raise KeyboardInterrupt
        return real_write(result, folder, settings, **kwargs)

    monkeypatch.setattr(geometry_stage, "run_geometry_stage", counting_run)
    monkeypatch.setattr(geometry_stage, "write_geometry_outputs", killed_on_third_write)
    first = CliRunner().invoke(main, ["mesh", str(photos), "--out", str(out), *MESH_ARGS])
    assert first.exit_code == EXIT_INTERRUPTED, first.output
    assert first.exception is None or isinstance(first.exception, SystemExit)
    interrupted_lines = [line for line in first.stderr.splitlines() if "interrupted" in line]
    assert interrupted_lines == [f"error: interrupted (Ctrl-C) after 2 of 6 photos; summary so far in "
                                 f"{out / 'summary.json'}; run again with --skip-existing to resume"]
    summary = json.loads((out / "summary.json").read_text())
    assert [(Path(r["input"]).name, r["status"]) for r in summary] == [
        ("black.png", "failed"), ("good1.png", "ok"), ("good2.png", "ok"), ("good3.png", "interrupted")]
    assert not (out / "good3").exists(), "the interrupted photo leaves nothing half-written"
    assert _leftovers(out) == [] and _leftovers(tmp_path) == []
    assert completed == ["good1.png", "good2.png"]

    monkeypatch.setattr(geometry_stage, "write_geometry_outputs", real_write)
    second = CliRunner().invoke(main, ["mesh", str(photos), "--out", str(out), "--skip-existing", *MESH_ARGS])
    assert second.exit_code == EXIT_SOME_FAILED, second.output
    assert sorted(completed) == ["good1.png", "good2.png", "good3.png", "good4.png"], "each good photo done once"
    rows = {Path(r["input"]).name: r for r in json.loads((out / "summary.json").read_text())}
    assert {name: row["status"] for name, row in rows.items()} == {
        "black.png": "failed", "good1.png": "skipped", "good2.png": "skipped", "good3.png": "ok", "good4.png": "ok",
        "notes.jpg": "failed"}
    for name in ("good1.png", "good2.png"):  # resume keeps the metrics of photos skipped as complete
        assert rows[name]["metrics"]["vertices"] == rows["good3.png"]["metrics"]["vertices"] > 7000
    for k in range(1, 5):
        assert recorded_output_set(out / f"good{k}") == "mesh"
    assert "mesh: 4/6 done" in second.stdout


def test_fit_never_skips_a_mesh_result_and_mesh_skips_a_fit_result(tmp_path, sample_photo, use_tiny):
    out = tmp_path / "face"
    runner = CliRunner()
    assert runner.invoke(main, ["mesh", str(sample_photo), "--out", str(out), *MESH_ARGS]).exit_code == 0
    assert is_complete(out, "mesh") and not is_complete(out, "fit")
    fit = runner.invoke(main, ["fit", str(sample_photo), "--out", str(out), "--skip-existing", *FIT_ARGS, "--json"])
    assert fit.exit_code == 0, fit.output
    assert json.loads(fit.stdout)["results"][0]["status"] == "ok"
    assert recorded_output_set(out) == "fit" and (out / "albedo.png").is_file()
    again = runner.invoke(main, ["fit", str(sample_photo), "--out", str(out), "--skip-existing", *FIT_ARGS, "--json"])
    row = json.loads(again.stdout)["results"][0]
    assert row["status"] == "skipped" and row["metrics"]["psnr_db"] > 0  # metrics read back from fit.json
    mesh = runner.invoke(main, ["mesh", str(sample_photo), "--out", str(out), "--skip-existing", *MESH_ARGS, "--json"])
    assert json.loads(mesh.stdout)["results"][0]["status"] == "skipped"
    assert "\r" not in fit.output + again.output, "no carriage-return progress when stderr is not a terminal"

    # mesh over a fit result, not skipped: none of the fit's maps stays beside the new marker
    replaced = runner.invoke(main, ["mesh", str(sample_photo), "--out", str(out), *MESH_ARGS])
    assert replaced.exit_code == 0
    assert recorded_output_set(out) == "mesh"
    for name in ("albedo.png", "specular.png", "normal.png", "lighting.json", "face.glb", "reconstruction.png"):
        assert not (out / name).exists(), name


def _earlier_fit(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "albedo.png").write_text("old albedo")
    (folder / "user-notes.txt").write_text("mine")
    (folder / COMPLETE_MARKER).write_text(json.dumps({"svfri_version": "0", "output_set": "fit"}))


def test_a_crash_mid_commit_leaves_no_new_maps_beside_the_old_marker(tmp_path, monkeypatch):
    folder = tmp_path / "face"
    _earlier_fit(folder)
    real_replace = os.replace
    calls = {"count": 0}

    def failing_replace(source, target):
        calls["count"] += 1
        if calls["count"] == 2:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(staging.os, "replace", failing_replace)
    with pytest.raises(OutputError, match="cannot write the results here"):
        with StagedOutput(folder, last=COMPLETE_MARKER, replaces=OUTPUT_FILES) as stage:
            for name in ("albedo.png", "mesh.obj", "normal.png"):
                (stage.path / name).write_text("new")
            (stage.path / COMPLETE_MARKER).write_text(json.dumps({"svfri_version": "1", "output_set": "fit"}))
    assert not (folder / COMPLETE_MARKER).exists(), "the old marker went first: the folder reads as incomplete"
    assert not is_complete(folder, "fit") and not is_complete(folder, "mesh")
    assert (folder / "user-notes.txt").read_text() == "mine"
    assert _leftovers(tmp_path) == []

    monkeypatch.setattr(staging.os, "replace", real_replace)
    with StagedOutput(folder, last=COMPLETE_MARKER, replaces=OUTPUT_FILES) as stage:
        (stage.path / "mesh.obj").write_text("new mesh")
        (stage.path / COMPLETE_MARKER).write_text(json.dumps({"svfri_version": "1", "output_set": "mesh"}))
    assert sorted(p.name for p in folder.iterdir()) == ["fit.json", "mesh.obj", "user-notes.txt"]


def test_a_new_folder_appears_whole_by_one_rename(tmp_path):
    folder = tmp_path / "new"
    with StagedOutput(folder, last=COMPLETE_MARKER) as stage:
        (stage.path / "mesh.obj").write_text("m")
        (stage.path / COMPLETE_MARKER).write_text("{}")
        staged_inode = os.stat(stage.path).st_ino
        assert not folder.exists()
    assert os.stat(folder).st_ino == staged_inode
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask, "the folder gets mkdir's mode, not mkdtemp's 0700"


def test_a_second_run_into_a_folder_in_use_fails_at_once_and_touches_nothing(tmp_path, sample_photo):
    out = tmp_path / "face"
    _earlier_fit(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with FolderLock(out):
        result = CliRunner().invoke(main, ["mesh", str(sample_photo), "--out", str(out), *MESH_ARGS])
        batch = CliRunner().invoke(main, ["mesh", str(sample_photo), str(sample_photo.with_name("grace_hopper.jpg")),
                                          "--out", str(out), *MESH_ARGS])
    assert result.exit_code == OutputError.exit_code
    assert result.stderr.splitlines() == [f"error: {sample_photo}: {out}: another svfri run (pid {os.getpid()}) is "
                                          "writing into this folder; wait for it to finish or choose another --out"]
    assert batch.exit_code == OutputError.exit_code and len(batch.stderr.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    folder = tmp_path / "face"
    dead = tmp_path / f"{STAGING_PREFIX}face-{2 ** 22 + 7}-abc"
    live = tmp_path / f"{STAGING_PREFIX}face-{os.getpid()}-xyz"
    dead.mkdir()
    live.mkdir()
    with StagedOutput(folder) as stage:
        (stage.path / "a.txt").write_text("a")
    assert not dead.exists() and live.exists()


def test_save_every_snapshots_are_staged_and_an_internal_error_is_one_line(tmp_path, sample_photo, use_tiny,
                                                                           monkeypatch):
    out = tmp_path / "face"
    _earlier_fit(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_glb(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(fit_job, "write_glb", broken_glb)
    monkeypatch.setattr(fit_job, "write_ict_glb_from_folder", broken_glb)
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(out), *FIT_ARGS, "--save-every", "1"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: {sample_photo}: internal error (ZeroDivisionError: boom); please "
                                          "report it (--debug shows the traceback)"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "no snapshot beside the earlier result"
    assert _leftovers(tmp_path) == []


def test_a_failing_report_is_a_note_not_a_failed_fit(tmp_path, sample_photo, use_tiny, monkeypatch):
    def broken_report(*args, **kwargs):
        raise RuntimeError("matplotlib backend unavailable")

    monkeypatch.setattr(fit_job, "_report", broken_report)
    out = tmp_path / "face"
    args = [a for a in FIT_ARGS if a != "--no-report"]
    result = CliRunner().invoke(main, ["fit", str(sample_photo), "--out", str(out), *args, "--save-every", "1"])
    assert result.exit_code == 0, result.output
    assert (f"note: {sample_photo}: report.png could not be made (RuntimeError: matplotlib backend unavailable); "
            "the fit is complete without it") in result.stderr.splitlines()
    assert not (out / "report.png").exists() and is_complete(out, "fit")
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["step_0001", "step_0002"]


def test_recursive_inputs_never_take_the_output_or_svfri_files(tmp_path, sample_photo):
    photos = tmp_path / "photos"
    (photos / "trip").mkdir(parents=True)
    shutil.copy(sample_photo, photos / "trip" / "a.png")
    runner = CliRunner()
    for _ in range(2):  # the second run sees the first run's results inside photos/
        result = runner.invoke(main, ["mesh", str(photos), "-r", "--out", str(photos / "results"), *MESH_ARGS,
                                      "--json"])
        assert result.exit_code == 0, result.output
        assert [Path(r["input"]).name for r in json.loads(result.stdout)["results"]] == ["a.png"]
    elsewhere = runner.invoke(main, ["mesh", str(photos), "-r", "--out", str(tmp_path / "elsewhere"), *MESH_ARGS,
                                     "--json"])
    assert [Path(r["input"]).name for r in json.loads(elsewhere.stdout)["results"]] == ["a.png"]


def test_batch_logs_are_one_line_per_photo_and_json_lines_stream(tmp_path, sample_photo):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(sample_photo, photos / "a.png")
    (photos / "b.jpg").write_text("not an image")
    runner = CliRunner()
    plain = runner.invoke(main, ["mesh", str(photos), "--out", str(tmp_path / "o1"), *MESH_ARGS])
    assert plain.exit_code == EXIT_SOME_FAILED
    assert "\r" not in plain.output
    lines = plain.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"[1/2] {photos / 'a.png'} -> ") and lines[1] == "mesh: 1/2 done"
    assert plain.stderr.splitlines() == [f"error: {photos / 'b.jpg'}: not an image svfri can read (JPEG, PNG, WebP, "
                                         "TIFF, BMP...)"]

    streamed = runner.invoke(main, ["mesh", str(photos), "--out", str(tmp_path / "o2"), *MESH_ARGS, "--json-lines"])
    records = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert [r.get("status") for r in records[:2]] == ["ok", "failed"]
    assert records[2] == {"summary": {"total": 2, "ok": 1, "skipped": 0, "failed": 1, "interrupted": False},
                          "exit_code": EXIT_SOME_FAILED}
    both = runner.invoke(main, ["mesh", str(photos), "--out", str(tmp_path / "o3"), "--json", "--json-lines"])
    assert both.exit_code == 2 and "--json and --json-lines exclude each other" in both.stderr


def test_exported_part_textures_in_an_output_folder_are_not_photos(tmp_path, sample_photo):
    """``svfri export`` writes per-part textures (``face_iris_left_albedo.png``, ...) into the output folder; a later
    ``svfri fit DIR -r`` must not take them, or the folder's own maps, as photos."""
    from svfri.pipeline.export_job import EXPORT_FILE_NAMES
    from svfri.pipeline.inputs import expand_inputs

    folder = tmp_path / "photos"
    result = folder / "a"
    result.mkdir(parents=True)
    shutil.copy(sample_photo, folder / "a.png")
    (result / "fit.json").write_text(json.dumps({"svfri_version": "test"}))
    written = sorted(name for name in EXPORT_FILE_NAMES if name.endswith(".png"))
    assert "face_iris_left_albedo.png" in written and "face_teeth_albedo.png" in written
    for name in written + ["albedo.png", "sclera.png", "iris.png"]:
        shutil.copy(sample_photo, result / name)
    shutil.copy(sample_photo, result / "holiday.png")          # a real photo the user put there is still found
    found = sorted(path.name for path in expand_inputs([str(folder)], recursive=True))
    assert found == ["a.png", "holiday.png"]


def test_every_part_texture_a_fit_writes_is_an_output_file():
    """Part textures (eyes) are replaced by a new commit and never taken as photos: they must be OUTPUT_FILES."""
    from svfri.pipeline.completeness import OUTPUT_FILES
    from svfri.pipeline.head_parts import PART_SPECS

    textures = {spec.texture for spec in PART_SPECS.values() if spec.texture}
    assert textures and textures <= set(OUTPUT_FILES)

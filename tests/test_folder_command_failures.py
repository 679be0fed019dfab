"""`svfri relight` / `svfri export` on damaged folders and unwritable outputs: one line and an exit code each;
Ctrl-C and internal errors of any command are one line too."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import svfri.pipeline.export_job as export_job
import svfri.pipeline.relight_job as relight_job
from svfri.errors import EXIT_INTERRUPTED, InputError, OutputError
from svfri.io.hdr import write_exr
from svfri_cli.main import main


@pytest.fixture(scope="module")
def mesh_folder(tmp_path_factory, sample_photo):
    out = tmp_path_factory.mktemp("folder") / "face"
    result = CliRunner().invoke(main, ["mesh", str(sample_photo), "--out", str(out), "--texture-size", "64",
                                       "--ray-count", "16"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture()
def folder(tmp_path, mesh_folder):
    copy = tmp_path / "face"
    shutil.copytree(mesh_folder, copy)
    return copy


@pytest.fixture()
def hdr(tmp_path):
    return write_exr(tmp_path / "env.exr", np.ones((16, 32, 3), np.float32))


def _one_line(result, code, message):
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    return lines[0]


def _relight(folder, hdr, *extra):
    return CliRunner().invoke(main, ["relight", str(folder), "--hdr", str(hdr), "--size", "32", "--quiet", *extra])


@pytest.mark.parametrize("damage", ["truncated", "not a zip", "empty"])
def test_corrupt_visibility_file(folder, hdr, damage):
    path = folder / "visibility.npz"
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "not a zip": b"hello", "empty": b""}[damage])
    expected = f"{path}: corrupt or truncated"
    _one_line(_relight(folder, hdr), InputError.exit_code, expected)
    _one_line(CliRunner().invoke(main, ["export", str(folder), "--quiet"]), InputError.exit_code, expected)
    assert not (folder / "relit.png").exists() and not (folder / "face.glb").exists()


def test_unreadable_map(folder, hdr):
    (folder / "albedo.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    line = _one_line(_relight(folder, hdr), InputError.exit_code, str(folder / "albedo.png"))
    assert "corrupt" in line
    _one_line(CliRunner().invoke(main, ["export", str(folder), "--format", "obj", "--quiet"]), InputError.exit_code,
              str(folder / "albedo.png"))
    assert not (folder / "face.obj").exists()


def test_failed_exr_and_gif_writes(folder, hdr, tmp_path):
    out = tmp_path / "renders" / "relit.png"
    out.parent.mkdir()
    (out.parent / "relit.exr").mkdir()  # something that cannot be replaced by a file
    _one_line(_relight(folder, hdr, "--out", str(out)), OutputError.exit_code, str(out.parent / "relit.exr"))

    shutil.rmtree(out.parent / "relit.exr")
    (out.parent / "relit_turntable.gif").mkdir()
    line = _one_line(_relight(folder, hdr, "--out", str(out), "--turntable", "2"), OutputError.exit_code,
                     str(out.parent / "relit_turntable.gif"))
    assert "the turntable GIF cannot be written" in line
    assert not list(out.parent.glob(".*.tmp"))


def test_export_into_an_unwritable_place(folder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    _one_line(CliRunner().invoke(main, ["export", str(folder), "--out", str(blocker / "sub"), "--quiet"]),
              OutputError.exit_code, "cannot write here")


def test_not_an_output_folder(tmp_path, hdr):
    _one_line(_relight(tmp_path / "nowhere", hdr), InputError.exit_code, "no such folder")


def test_ctrl_c_in_a_single_folder_command_exits_130_in_one_line(folder, hdr, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(relight_job, "run_relight", interrupted)
    result = _relight(folder, hdr)
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.stderr.splitlines() == ["error: interrupted (Ctrl-C); nothing half-written was left behind"]


def test_an_internal_error_is_one_line_with_exit_code_1(folder, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(export_job, "run_export", bug)
    result = CliRunner().invoke(main, ["export", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: internal error (ZeroDivisionError: division by zero); please report "
                                          "it (set SVFRI_DEBUG=1 for the traceback)"]

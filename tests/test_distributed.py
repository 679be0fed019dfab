"""The Dask path of ``svfri fit`` (svfri.pipeline.distributed): same rows and summary as the local batch, a dying
worker loses only its photo, models load once per worker, ``--workers N`` on the command line, resume after a
killed run, and the one-line error (exit code 40) without Dask."""

import csv
import logging
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from svfri.errors import NotYetError
from svfri.pipeline import distributed as svfri_distributed
from svfri.pipeline.batch import run_batch
from svfri.pipeline.completeness import COMPLETE_MARKER, FIT_SET, OUTPUT_SET_KEY, is_complete

REPO = Path(__file__).resolve().parents[1]
#: A photo with a file of this suffix beside it makes the fake job kill its worker process.
DYING = ".die"


def fake_fit(photo: Path, folder: Path) -> dict:
    """A cheap stand-in for run_fit: commits a complete-looking folder and returns metrics (kills its worker
    process, as an out-of-memory kill would, for photos with a ``.die`` file beside them)."""
    if Path(photo).with_suffix(DYING).exists():
        os._exit(17)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = {"psnr_db": float(len(Path(photo).stem)), "pid": 0}
    (folder / COMPLETE_MARKER).write_text(json.dumps({OUTPUT_SET_KEY: FIT_SET, "metrics_whole_face": metrics}))
    return {"psnr_db": metrics["psnr_db"]}


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    import cloudpickle
    import dask

    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # workers cannot import this test module
    with dask.config.set(svfri_distributed.LOCAL_SCHEDULER_CONFIG):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    yield cluster
    cluster.close()


def _photos(folder: Path, names) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / f"{name}.png"
        shutil.copyfile(REPO / "samples" / "astronaut.png", path)
        paths.append(path)
    return paths


def _comparable(rows):
    return [{k: v for k, v in row.items() if k not in ("seconds", "worker", "output")} for row in rows]


def test_same_rows_and_summary_as_the_local_batch(tmp_path, dask_cluster):
    photos = _photos(tmp_path / "in", ["alpha", "bravo", "charlie"])
    local = run_batch(photos, tmp_path / "local", fake_fit, output_set=FIT_SET)
    remote = svfri_distributed.run_batch_distributed(photos, tmp_path / "dask", fake_fit, output_set=FIT_SET,
                                                     scheduler=dask_cluster.scheduler_address)
    assert remote.exit_code == local.exit_code == 0
    assert _comparable(remote.rows) == _comparable(local.rows)
    assert [row["input"] for row in remote.rows] == [str(p) for p in photos]      # input order
    assert len({row["worker"] for row in remote.rows}) >= 1
    for name in ("summary.json", "summary.csv"):
        assert (tmp_path / "dask" / name).is_file()
    header = lambda path: next(csv.reader(path.open()))  # noqa: E731
    assert header(tmp_path / "dask" / "summary.csv") == header(tmp_path / "local" / "summary.csv")


def test_dying_worker_loses_only_its_photo_and_skip_existing_resumes(tmp_path, dask_cluster):
    photos = _photos(tmp_path / "in", ["alpha", "bravo", "charlie", "delta"])
    photos[1].with_suffix(DYING).touch()
    out = tmp_path / "out"
    result = svfri_distributed.run_batch_distributed(photos, out, fake_fit, output_set=FIT_SET,
                                                     scheduler=dask_cluster.scheduler_address)
    status = {Path(row["input"]).stem: row["status"] for row in result.rows}
    assert status == {"alpha": "ok", "bravo": "failed", "charlie": "ok", "delta": "ok"}
    assert not (out / "bravo").exists()
    failed = result.failed[0]
    assert "worker" in failed["error"] and failed["exit_code"] == svfri_distributed.EXIT_WORKER_DIED
    assert result.exit_code == 3
    summary = json.loads((out / "summary.json").read_text())
    assert [row["status"] for row in summary] == ["ok", "failed", "ok", "ok"]

    # Resume: the dead worker's photo (its worker no longer dies) is fitted, the others are skipped.
    photos[1].with_suffix(DYING).unlink()
    again = svfri_distributed.run_batch_distributed(photos, out, fake_fit, output_set=FIT_SET, skip_existing=True,
                                                    scheduler=dask_cluster.scheduler_address)
    assert [row["status"] for row in again.rows] == ["skipped", "ok", "skipped", "skipped"]
    assert again.exit_code == 0 and all(is_complete(out / p.stem, FIT_SET) for p in photos)


def test_models_load_once_per_worker(dask_cluster):
    """The worker plugin loaded the networks in each worker process; the cached loader returns the same object."""
    from distributed import Client

    def networks_identity():
        from svfri.pipeline.fit_job import _load_networks, load_networks

        first = load_networks()
        return _load_networks.cache_info().currsize, first is load_networks()

    with Client(dask_cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=300)            # a worker killed by an earlier test is restarted
        client.register_plugin(svfri_distributed._worker_plugin(1, None), name=svfri_distributed.PLUGIN_NAME)
        answers = client.run(networks_identity)
    assert len(answers) == 2
    assert all(size == 1 and same for size, same in answers.values())


def _cli(args, **options):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "cli.main", "fit", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


SMALL_FIT = ["--steps", "10", "--refine-steps", "2", "--texture-size", "64", "--no-report", "-q"]


def test_cli_workers_fits_and_resumes_after_the_run_is_killed(tmp_path):
    pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    photos = _photos(tmp_path / "in", ["p1", "p2", "p3", "p4"])
    out = tmp_path / "out"
    first = _cli([*map(str, photos), "--out", str(out), "--workers", "2", *SMALL_FIT], start_new_session=True)
    deadline = time.monotonic() + 600
    while not any(is_complete(out / p.stem, FIT_SET) for p in photos):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)                    # the client and its local cluster, mid-batch
    first.communicate()
    done_before = {p.stem for p in photos if is_complete(out / p.stem, FIT_SET)}
    assert done_before

    second = _cli([*map(str, photos), "--out", str(out), "--workers", "2", "--skip-existing", *SMALL_FIT])
    stdout, stderr = second.communicate(timeout=600)
    assert second.returncode == 0, stderr
    rows = json.loads((out / "summary.json").read_text())
    assert {Path(row["input"]).stem for row in rows if row["status"] == "skipped"} == done_before
    assert all(row["status"] in ("ok", "skipped") for row in rows)
    assert all(is_complete(out / p.stem, FIT_SET) for p in photos)
    fitted = [json.loads((out / p.stem / COMPLETE_MARKER).read_text()) for p in photos]
    assert all(record["metrics_whole_face"]["psnr_db"] > 15 for record in fitted)


def test_missing_dask_is_a_one_line_error_with_exit_code_40(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(NotYetError) as caught:
        svfri_distributed.require_dask()
    assert caught.value.exit_code == 40
    assert "pip install 'svfri[dask]'" in str(caught.value) and "\n" not in str(caught.value)


def test_scheduler_or_workers_but_not_both():
    with pytest.raises(Exception, match="--scheduler"):
        svfri_distributed.run_batch_distributed([], Path("/nonexistent"), functools.partial(fake_fit),
                                                output_set=FIT_SET, scheduler="tcp://x:1", workers=2)

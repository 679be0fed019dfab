"""benchmarks.speed times the latent steps and the refinement steps apart."""

from __future__ import annotations

import json
import time

from svfri.fitting.settings import FitSettings, RefineSettings


def test_latent_and_refinement_steps_are_timed_apart(tmp_path, monkeypatch):
    import svfri.pipeline.fit_job as fit_job
    from benchmarks.speed import run_photo

    def fake_run_fit(path, folder, settings, *, on_step=None):
        for step in range(settings.fit.steps):
            time.sleep(0.02)
            on_step(step, 1.0)
        for step in range(settings.refine.steps):
            time.sleep(0.002)
            on_step(settings.fit.steps + step, 1.0)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "fit.json").write_text(json.dumps({"timings_seconds": {"optimise": 0.1, "refine": 0.01}}))
        return {"psnr_db": 30.0}

    monkeypatch.setattr(fit_job, "run_fit", fake_run_fit)
    settings = fit_job.FitJobSettings(fit=FitSettings(steps=4), refine=RefineSettings(steps=3), report=False)
    run = run_photo(tmp_path / "photo.png", tmp_path / "out", settings, label="x")
    assert len(run.step_seconds) == 4 and len(run.refine_step_seconds) == 3
    assert run.step_median > 5 * run.refine_step_median

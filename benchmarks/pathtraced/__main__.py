"""``python -m benchmarks.pathtraced [--quick]``: the path-traced benchmark (see :mod:`benchmarks.pathtraced.run`).

Writes ``docs/benchmarks/pathtraced.md`` and ``.json`` (``--quick``: ``pathtraced_quick.*``) stamped with the commit
measured, and ``pathtraced_grid.png`` (photo | networks | default fit | truth albedo per skin type, full run only).
Renders and fits are kept under ``--work`` (default ``~/.cache/svfri/pathtraced``); renders are reused across runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quick", is_flag=True, help="Two small scenes, short fits, no ablations or consistency set (~2 min).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the report [default: docs/benchmarks of the repository].")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path),
              default=Path.home() / ".cache" / "svfri" / "pathtraced", show_default=True,
              help="Renders (reused) and fitted output folders.")
@click.option("--no-ablations", is_flag=True, help="Skip the ablation rows.")
@click.option("--require-clean", is_flag=True, help="Refuse to run on a tree with uncommitted changes.")
@click.option("--plan", "plan_kind", type=click.Choice(["report", "tuning"]), default="report", show_default=True,
              help="report: held-out maps and seeds (README numbers); tuning: training maps and tuning seeds, for "
                   "choosing defaults (never reported as quality).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N scenes of the plan.")
@click.option("--no-consistency", is_flag=True, help="Skip the lighting-consistency set (one head, six lights).")
def main(quick: bool, out: Path | None, work: Path, no_ablations: bool, require_clean: bool, plan_kind: str,
         limit: int | None, no_consistency: bool) -> None:
    from benchmarks.pathtraced.pictures import write_grid
    from benchmarks.pathtraced.report import source_stamp, write_report
    from benchmarks.pathtraced.run import REPO_ROOT, run_benchmark

    stamp = source_stamp(REPO_ROOT)
    if require_clean and stamp["dirty"]:
        click.echo(f"error: uncommitted changes to {', '.join(stamp['dirty_files'])}; commit first", err=True)
        sys.exit(2)
    out = out or REPO_ROOT / "docs" / "benchmarks"
    work = work / (plan_kind + ("_quick" if quick else ""))
    clock = time.perf_counter()
    results = run_benchmark(quick=quick, work=work, ablations=not (quick or no_ablations), kind=plan_kind,
                            limit=limit, consistency_set=not no_consistency,
                            echo=lambda line: click.echo(line, err=True))
    command = ("python -m benchmarks.pathtraced" + (" --quick" if quick else "") + (" --no-ablations" if no_ablations else "")
               + (f" --plan {plan_kind}" if plan_kind != "report" else "") + (f" --limit {limit}" if limit else "")
               + (" --no-consistency" if no_consistency else ""))
    stem = "pathtraced" + ("_tuning" if plan_kind == "tuning" else "") + ("_quick" if quick else "")
    md, js = write_report(results, out, stem, command=command, stamp=stamp, seconds=time.perf_counter() - clock)
    written = [md, js]
    if not quick:
        written.append(write_grid(results, work, out / "pathtraced_grid.png"))
    click.echo(" ".join(str(path) for path in written))


if __name__ == "__main__":
    main()

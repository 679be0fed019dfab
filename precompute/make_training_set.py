"""Synthesises the networks' training (or held-out test) set into sharded ``.npz`` files.

What a sample is and how it is stored: :mod:`svfri.synth.dataset`. The run is resumable: shards already
written (with the expected seeds) are skipped, so an interrupted run continues where it stopped.

Usage (repository root)::

    python -m precompute.make_training_set --out /work/data/svfri_train --count 2000 --split train \
        --start-seed 0 --workers 2
    python -m precompute.make_training_set --out /work/data/svfri_train --count 128 --split test \
        --start-seed 1000000 --workers 2
    python -m precompute.make_training_set --preview docs/images/training_samples.png --count 6

``--preview`` writes a contact sheet (photo | T | T mask | GT albedo | GT specular | GT normal, one row per
sample, seeds ``start_seed ..``) instead of a data set. The HDR maps must be in the cache first
(``python -m precompute.fetch_hdris``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from svfri.errors import SvfriError  # noqa: E402
from svfri.synth.dataset import (  # noqa: E402
    DEFAULT_SHARD_SIZE, SPLITS, SynthesisSettings, generate_split, synthesize_sample,
)

#: Side of each tile of the preview sheet, pixels; gap between tiles.
PREVIEW_TILE = 160
PREVIEW_GAP = 4
PREVIEW_COLUMNS = ("photo", "T", "T mask", "GT albedo", "GT specular", "GT normal")
_LABEL_HEIGHT = 18


def _tile(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    image = cv2.resize(image, (PREVIEW_TILE, PREVIEW_TILE), interpolation=cv2.INTER_AREA)
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def preview_sheet(seeds: list[int], *, split: str, settings: SynthesisSettings) -> np.ndarray:
    """The contact sheet as uint8 RGB ``[rows, columns, 3]`` (one row per seed, a label strip on top)."""
    rows = []
    for seed in seeds:
        sample = synthesize_sample(seed, split=split, settings=settings)
        tiles = [sample.photo, sample.texture[..., :3], sample.texture[..., 3], sample.albedo / 255.0,
                 sample.specular / 255.0, sample.normal / 255.0]
        strip = [_tile(t) for t in tiles]
        row = np.full((PREVIEW_TILE, len(strip) * (PREVIEW_TILE + PREVIEW_GAP) - PREVIEW_GAP, 3), 255, np.uint8)
        for k, tile in enumerate(strip):
            row[:, k * (PREVIEW_TILE + PREVIEW_GAP):k * (PREVIEW_TILE + PREVIEW_GAP) + PREVIEW_TILE] = tile
        cv2.putText(row, f"{seed} {sample.hdri} yaw {sample.pose.yaw:+.0f}", (4, PREVIEW_TILE - 6),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    width = rows[0].shape[1]
    header = np.full((_LABEL_HEIGHT, width, 3), 255, np.uint8)
    for k, name in enumerate(PREVIEW_COLUMNS):
        cv2.putText(header, name, (k * (PREVIEW_TILE + PREVIEW_GAP) + 4, _LABEL_HEIGHT - 5),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    parts = [header]
    for row in rows:
        parts += [row, np.full((PREVIEW_GAP, width, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="dataset folder (outside the repository)")
    parser.add_argument("--count", type=int, required=True, help="number of samples")
    parser.add_argument("--split", choices=SPLITS, default="train")
    parser.add_argument("--start-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE)
    parser.add_argument("--render-size", type=int, default=SynthesisSettings.render_size)
    parser.add_argument("--texture-size", type=int, default=SynthesisSettings.texture_size)
    parser.add_argument("--map-size", type=int, default=SynthesisSettings.map_size)
    parser.add_argument("--ray-count", type=int, default=SynthesisSettings.ray_count)
    parser.add_argument("--preview", type=Path, help="write a contact sheet PNG of --count samples instead")
    args = parser.parse_args(argv)
    settings = SynthesisSettings(render_size=args.render_size, texture_size=args.texture_size,
                                 map_size=args.map_size, ray_count=args.ray_count)
    try:
        if args.preview:
            sheet = preview_sheet(list(range(args.start_seed, args.start_seed + args.count)), split=args.split,
                                  settings=settings)
            args.preview.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.preview), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(f"wrote {args.preview} ({args.preview.stat().st_size // 1024} KiB)")
            return 0
        if args.out is None:
            parser.error("--out is required unless --preview is given")
        clock = time.perf_counter()

        def progress(done, total, message):
            print(f"[{time.perf_counter() - clock:7.1f} s] {message}", flush=True)

        entry = generate_split(args.out, split=args.split, count=args.count, start_seed=args.start_seed,
                               settings=settings, shard_size=args.shard_size, workers=args.workers,
                               progress=progress)
        print(f"{args.split}: {entry['count']} samples in {len(entry['shards'])} shards under {args.out}, "
              f"complete={entry['complete']}, {entry.get('last_run', {})}")
        return 0
    except SvfriError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())

"""Fetches the 18 CC0 HDR environment maps of ``@pmndrs/assets@1.7.0`` into the svfri cache.

What it does (:func:`svfri.data.hdri.fetch_hdris`): ``npm pack`` into a temporary folder, decode each
``package/hdri/<name>.exr.js`` (a base64 data URL) to EXR bytes, check them against the pinned sha256, read
them with :func:`svfri.io.hdr.read_environment`, clean them (negatives, channel drop-out), write
``<name>.exr`` and ``manifest.json`` into the cache folder (``$SVFRI_HDRI_DIR`` or ``~/.cache/svfri/hdri``).

With ``--samples-out models/hdri`` it also writes the small copies that ship with svfri
(:data:`svfri.data.hdri.SAMPLE_HDRIS`, 128 x 64 half-float EXR, solid-angle-weighted area downsampling by
:func:`svfri.render.environment.resize_environment`).

Usage (repository root)::

    python -m precompute.fetch_hdris [--dest DIR] [--npm npm] [--samples-out models/hdri]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from svfri.data.hdri import SAMPLE_HDRIS, fetch_hdris, hdri_cache_dir, load_hdri
from svfri.errors import SvfriError
from svfri.io.hdr import read_environment, write_exr
from svfri.render.environment import resize_environment

#: Size of the shipped sample maps (width x height = 2 : 1).
SAMPLE_HEIGHT = 64
SAMPLE_WIDTH = 128


def write_samples(source_dir: Path, out_dir: Path, *, names=SAMPLE_HDRIS) -> list[Path]:
    """Writes ``SAMPLE_WIDTH x SAMPLE_HEIGHT`` half-float copies of cached maps ``names`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        small = resize_environment(load_hdri(name, source_dir), SAMPLE_HEIGHT, SAMPLE_WIDTH)
        path = write_exr(out_dir / f"{name}.exr", small, half=True)
        read_environment(path)  # Verify it reads back.
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help="cache folder (default: $SVFRI_HDRI_DIR or "
                        "~/.cache/svfri/hdri)")
    parser.add_argument("--npm", default="npm", help="npm executable (default: npm)")
    parser.add_argument("--samples-out", type=Path, default=None,
                        help=f"also write {SAMPLE_WIDTH}x{SAMPLE_HEIGHT} copies of {', '.join(SAMPLE_HDRIS)} here")
    args = parser.parse_args(argv)
    dest = args.dest if args.dest is not None else hdri_cache_dir()
    start = time.perf_counter()
    try:
        manifest = fetch_hdris(dest, npm=args.npm)
        print(f"{len(manifest['maps'])} maps from {manifest['source']} ({manifest['licence']}) in {dest} "
              f"({time.perf_counter() - start:.1f} s)")
        print(f"{'name':<10} {'split':<9} {'size':>8} {'raw min':>10} {'raw max':>10} {'clean max':>10} "
              f"{'sanitised':>9} {'repaired':>8}  mean RGB")
        for entry in manifest["maps"]:
            print(f"{entry['name']:<10} {entry['split']:<9} {entry['width']}x{entry['height']} "
                  f"{entry['raw_min']:>10.4g} {entry['raw_max']:>10.4g} {entry['clean_max']:>10.4g} "
                  f"{entry['sanitised_pixels']:>9d} {entry['dropout_repaired_pixels']:>8d}  "
                  f"{' '.join(f'{value:.3f}' for value in entry['clean_mean_rgb'])}")
        if args.samples_out is not None:
            for path in write_samples(dest, args.samples_out):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                print(f"sample {path} {path.stat().st_size} bytes sha256 {digest}")
    except SvfriError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

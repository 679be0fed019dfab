"""Contact sheet of synthetic skin map sets across the six skin types (docs/images/skin_contact_sheet.png).

Columns are the skin types I..VI, two blocks of rows give two faces (seeded) per type; each block shows the
sRGB albedo, the specular intensity, the roughness and the encoded normal map, cropped to the face disc. Column labels give the
type, the ITA of the base skin colour and the measured ITA of the cheeks in the generated albedo.
The layout is the canonical template's (``models/face_template.npz``), the same masks the training set uses.

Usage (from the repository root)::

    .venv/bin/python -m precompute.make_contact_sheet [--out docs/images/skin_contact_sheet.png]
"""

from __future__ import annotations

import argparse
import pathlib

import cv2
import numpy as np

from svfri.geometry.template import load_face_template
from svfri.math import colorimetry
from svfri.synth import skin_color, skin_maps

__all__ = ["make_contact_sheet", "main"]

_DEFAULT_OUT = pathlib.Path("docs/images/skin_contact_sheet.png")
_FACES_PER_TYPE = 2
_MAP_SIZE = 256
_TILE = 200
#: UV crop of the face disc (stand-in layout: centre 0.5, radius 0.45).
_CROP = (0.04, 0.96)
_LABEL_HEIGHT = 34
_ROW_LABEL_WIDTH = 78
_BACKGROUND = 255
_TEXT_COLOUR = (20, 20, 20)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def _tile(image: np.ndarray) -> np.ndarray:
    """Crops the face disc from a ``[S, S]`` or ``[S, S, 3]`` float image in [0, 1]; returns uint8 RGB tile."""
    size = image.shape[0]
    lo, hi = int(_CROP[0] * size), int(_CROP[1] * size)
    crop = image[lo:hi, lo:hi]
    if crop.ndim == 2:
        crop = np.repeat(crop[..., None], 3, axis=-1)
    crop = cv2.resize(crop.astype(np.float32), (_TILE, _TILE), interpolation=cv2.INTER_AREA)
    return np.clip(np.round(crop * 255.0), 0, 255).astype(np.uint8)


def make_contact_sheet(out: pathlib.Path, *, base_seed: int = 1000) -> dict:
    """Renders the sheet to ``out`` (PNG) and returns per-face stats (type, base ITA, cheek ITA, beard)."""
    masks = {name: cv2.resize(mask, (_MAP_SIZE, _MAP_SIZE), interpolation=cv2.INTER_AREA)
             for name, mask in load_face_template().region_masks.items()}
    cheek = (masks["cheeks"] > 0.8) & (masks["beard"] < 0.1) & (masks["under_eye"] < 0.1)
    columns, stats = [], []
    for skin_type in range(1, 7):
        for k in range(_FACES_PER_TYPE):
            seed = base_seed + 10 * skin_type + k
            params = skin_maps.sample_params(np.random.default_rng(seed), skin_type=skin_type,
                                             beard_probability=0.5)
            sample = skin_maps.generate_skin_maps(masks, seed=seed, params=params)
            base_ita = float(colorimetry.ita_degrees(params.tone.albedo()))
            cheek_ita = float(colorimetry.ita_degrees(sample.albedo[cheek].mean(axis=0)))
            stats.append({"seed": seed, "skin_type": skin_type, "base_ita": base_ita, "cheek_ita": cheek_ita,
                          "beard_density": params.beard_density, "age": params.age})
            columns.append((f"{_ROMAN[skin_type]} {base_ita:+.0f}", f"cheek {cheek_ita:+.0f}",
                            [_tile(sample.albedo_srgb()), _tile(sample.specular), _tile(sample.roughness),
                             _tile(sample.normal_map)]))
    row_names = ["albedo", "specular", "rough", "normal"]
    n_cols = 6
    n_blocks = len(columns) // n_cols
    block_height = 2 * _LABEL_HEIGHT + len(row_names) * _TILE
    sheet = np.full((n_blocks * block_height, _ROW_LABEL_WIDTH + n_cols * _TILE, 3), _BACKGROUND, dtype=np.uint8)
    # Column c of block b holds face k = b of skin type c + 1.
    for index, (label1, label2, tiles) in enumerate(columns):
        skin_index, block = divmod(index, _FACES_PER_TYPE)
        x, y0 = _ROW_LABEL_WIDTH + skin_index * _TILE, block * block_height
        cv2.putText(sheet, label1, (x + 8, y0 + 24), _FONT, 0.6, _TEXT_COLOUR, 1, cv2.LINE_AA)
        cv2.putText(sheet, label2, (x + 8, y0 + _LABEL_HEIGHT + 24), _FONT, 0.5, _TEXT_COLOUR, 1, cv2.LINE_AA)
        for r, tile in enumerate(tiles):
            y = y0 + 2 * _LABEL_HEIGHT + r * _TILE
            sheet[y:y + _TILE, x:x + _TILE] = tile
    for block in range(n_blocks):
        for r, name in enumerate(row_names):
            y = block * block_height + 2 * _LABEL_HEIGHT + r * _TILE + _TILE // 2
            cv2.putText(sheet, name, (6, y), _FONT, 0.5, _TEXT_COLOUR, 1, cv2.LINE_AA)
    cv2.putText(sheet, "type, ITA deg", (4, 24), _FONT, 0.38, _TEXT_COLOUR, 1, cv2.LINE_AA)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {out}")
    return {"faces": stats, "categories": sorted({int(skin_color.ita_category(s["cheek_ita"])) for s in stats})}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: writes the sheet and prints the per-face ITA values."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=_DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = make_contact_sheet(args.out)
    for face in result["faces"]:
        print(f"seed {face['seed']}: type {face['skin_type']} base ITA {face['base_ita']:+.1f} "
              f"cheek ITA {face['cheek_ita']:+.1f} beard {face['beard_density']:.2f} age {face['age']:.2f}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

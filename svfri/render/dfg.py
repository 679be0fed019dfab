"""Split-sum DFG table: lazy, cached loading and a differentiable bilinear lookup (TensorFlow).

The table is precomputed offline by ``python -m precompute.make_dfg_table`` into ``models/dfg_table.npz``
(provenance and measured accuracy in ``models/dfg_table.md``). With Schlick's Fresnel the split-sum
specular directional albedo is (Karis 2013, "Real shading in Unreal Engine 4"; Lagarde & de Rousiers 2014,
"Moving Frostbite to PBR", section 4.9.2)::

    int f_s(v, l) (n.l) dl = F0 * DFG1(n.v, roughness) + DFG2(n.v, roughness)

for GGX / height-correlated Smith (:mod:`svfri.math.brdf`), ``alpha = roughness^2``.

The file is found through the installed ``svfri_models`` package (``importlib.resources``) or, in a source
checkout, the repository's ``models/`` folder next to ``svfri/``. Loading happens on first use, never at
import, and is cached; a missing or corrupt file raises :class:`svfri.errors.ModelError`.
"""

from __future__ import annotations

import dataclasses
import functools
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from svfri.assets import models_dir
from svfri.errors import ModelError

__all__ = ["DFG_TABLE_FILENAME", "DfgTable", "load_dfg_table", "dfg_lookup"]

#: File name of the table inside the models folder.
DFG_TABLE_FILENAME = "dfg_table.npz"
#: Largest DFG1 + DFG2 accepted when validating (1 plus sampling noise; single scattering is <= 1).
_MAX_DFG_SUM = 1.0 + 1e-3
#: Tolerance on the axes being uniform on [0, 1].
_AXIS_TOLERANCE = 1e-5
#: What to tell the user when the table is unusable.
_REGENERATE_HINT = "reinstall svfri or regenerate it with `python -m precompute.make_dfg_table`"


@dataclasses.dataclass(frozen=True)
class DfgTable:
    """The loaded table.

    Attributes:
      dfg: ``[N_v, N_r, 2]`` float32, ``(DFG1, DFG2)`` at node ``(n_dot_v[i], roughness[j])``.
      n_dot_v: ``[N_v]`` node positions, uniform on ``[0, 1]``.
      roughness: ``[N_r]`` node positions (perceptual roughness), uniform on ``[0, 1]``.
      path: where it was read from.
    """

    dfg: np.ndarray
    n_dot_v: np.ndarray
    roughness: np.ndarray
    path: Path


def _validate_axis(axis: np.ndarray, name: str, path: Path) -> None:
    if axis.ndim != 1 or axis.size < 2 or not np.allclose(axis, np.linspace(0.0, 1.0, axis.size),
                                                         atol=_AXIS_TOLERANCE):
        raise ModelError(f"DFG table {path} has a bad '{name}' axis (expected uniform nodes on [0, 1]); "
                         f"{_REGENERATE_HINT}")


@functools.lru_cache(maxsize=4)
def load_dfg_table(path: Path | str | None = None) -> DfgTable:
    """Reads and validates the DFG table (cached per path).

    Args:
      path: ``.npz`` file; default ``<models>/dfg_table.npz`` (see module docstring).

    Returns:
      The :class:`DfgTable`.

    Raises:
      ModelError: the file is missing, unreadable, or its arrays have the wrong shape or values.
    """
    path = Path(path) if path is not None else models_dir() / DFG_TABLE_FILENAME
    if not path.is_file():
        raise ModelError(f"DFG table not found at {path}; {_REGENERATE_HINT}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            dfg = np.asarray(archive["dfg"], dtype=np.float32)
            n_dot_v = np.asarray(archive["n_dot_v"], dtype=np.float64)
            roughness = np.asarray(archive["roughness"], dtype=np.float64)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ModelError(f"DFG table {path} is unreadable or corrupt ({error}); {_REGENERATE_HINT}") from error
    _validate_axis(n_dot_v, "n_dot_v", path)
    _validate_axis(roughness, "roughness", path)
    if dfg.shape != (n_dot_v.size, roughness.size, 2):
        raise ModelError(f"DFG table {path} has shape {dfg.shape}, expected "
                         f"{(n_dot_v.size, roughness.size, 2)}; {_REGENERATE_HINT}")
    if not np.all(np.isfinite(dfg)) or dfg.min() < 0.0 or (dfg.sum(axis=-1)).max() > _MAX_DFG_SUM:
        raise ModelError(f"DFG table {path} holds values outside [0, 1]; {_REGENERATE_HINT}")
    dfg.setflags(write=False)
    return DfgTable(dfg=dfg, n_dot_v=n_dot_v, roughness=roughness, path=path)


def dfg_lookup(n_dot_v: tf.Tensor, roughness: tf.Tensor, *, table: DfgTable | None = None) -> tf.Tensor:
    """Bilinear lookup of ``(DFG1, DFG2)``; inputs clamped to ``[0, 1]`` (clamp-to-edge).

    Differentiable (piecewise linear) in ``n_dot_v`` and ``roughness``; the table itself is a constant.

    Args:
      n_dot_v: ``[...]`` cosine between shading normal and view direction.
      roughness: ``[...]`` perceptual roughness (``alpha = roughness^2``), broadcast against ``n_dot_v``.
      table: a loaded table; default :func:`load_dfg_table` ``()``.

    Returns:
      ``[..., 2]`` ``(DFG1, DFG2)``, dtype of ``n_dot_v``.

    Raises:
      ModelError: the default table is missing or corrupt.
    """
    table = table if table is not None else load_dfg_table()
    n_dot_v = tf.convert_to_tensor(n_dot_v)
    dtype = n_dot_v.dtype
    roughness = tf.convert_to_tensor(roughness, dtype=dtype)
    n_dot_v, roughness = n_dot_v + tf.zeros_like(roughness), roughness + tf.zeros_like(n_dot_v)
    rows, columns = table.dfg.shape[:2]
    values = tf.constant(table.dfg.reshape(rows * columns, 2), dtype=dtype)

    def split(coordinate, count):
        position = tf.clip_by_value(coordinate, 0.0, 1.0) * (count - 1)
        lower = tf.clip_by_value(tf.floor(position), 0.0, count - 2)
        return tf.cast(lower, tf.int32), (position - lower)[..., None]

    row, row_fraction = split(n_dot_v, rows)
    column, column_fraction = split(roughness, columns)
    index = row * columns + column

    def at(offset):
        return tf.gather(values, index + offset)

    top = at(0) * (1.0 - column_fraction) + at(1) * column_fraction
    bottom = at(columns) * (1.0 - column_fraction) + at(columns + 1) * column_fraction
    return top * (1.0 - row_fraction) + bottom * row_fraction

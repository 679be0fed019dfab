"""Tests of the shipped split-sum DFG table (models/dfg_table.npz) and svfri.render.dfg."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from precompute.make_dfg_table import DEFAULT_SAMPLE_COUNT, dfg_importance_sampled_np, dfg_reference_np
from svfri.errors import ModelError
from svfri.render import dfg

#: Points (n.v, roughness) checked against the brute-force reference, on and between table nodes.
CHECK_POINTS = [(1.0, 0.3), (0.9, 0.5), (0.7, 0.25), (0.5, 0.8), (0.33, 0.45), (0.2, 0.6), (0.12, 0.35),
                (0.05, 0.9), (0.6, 1.0)]
#: The brief's acceptance bound (the measured error is ~1e-3, see models/dfg_table.md).
ABSOLUTE_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def table():
    return dfg.load_dfg_table()


def test_table_matches_independent_quadrature(table):
    n_dot_v = np.array([p[0] for p in CHECK_POINTS])
    roughness = np.array([p[1] for p in CHECK_POINTS])
    got = dfg.dfg_lookup(tf.constant(n_dot_v), tf.constant(roughness)).numpy()
    errors = []
    for (v, r), value in zip(CHECK_POINTS, got):
        reference = dfg_reference_np(v, r, polar_nodes=512, azimuth_nodes=512)
        errors.append(np.abs(value - reference).max())
    assert max(errors) < ABSOLUTE_TOLERANCE, errors
    assert max(errors) < 3e-3, errors  # what the 64x64 table actually achieves (interpolation included)


def test_limits_bounds_and_monotonicity(table):
    np.testing.assert_allclose(dfg.dfg_lookup(1.0, 0.0, table=table).numpy(), [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(dfg.dfg_lookup(1.0, 0.02, table=table).numpy(), [1.0, 0.0], atol=1e-3)
    values = table.dfg.astype(np.float64)
    assert values.min() >= 0.0
    assert (values.sum(axis=-1)).max() <= 1.0 + 1e-5  # white-furnace-like bound, up to sampling noise
    # Fresnel's share (DFG2) grows towards grazing for every roughness, for n.v >= 0.1 (closer to grazing it
    # is not monotonic at low roughness: the brute-force reference shows the same, e.g. at roughness 6/63).
    away = table.n_dot_v >= 0.1
    assert np.all(np.diff(values[away, :, 1], axis=0) <= 1e-6)
    # Facing the view, rougher surfaces lose more energy to shadowing-masking.
    assert np.all(np.diff(values[-1, :, :].sum(axis=-1)) <= 1e-6)
    # Mirror limit over all n.v: DFG1 = 1 - Fc, DFG2 = Fc with Fc = (1 - n.v)^5.
    fresnel_weight = (1.0 - np.maximum(table.n_dot_v, 1e-4)) ** 5
    np.testing.assert_allclose(values[:, 0, 1], fresnel_weight, atol=1e-5)
    np.testing.assert_allclose(values[:, 0, 0], 1.0 - fresnel_weight, atol=1e-5)


def test_shipped_table_reproduces_from_the_generator(table):
    row = 40
    regenerated = dfg_importance_sampled_np(table.n_dot_v[row], table.roughness, DEFAULT_SAMPLE_COUNT)
    np.testing.assert_allclose(table.dfg[row], regenerated, atol=1e-6)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_lookup_is_bilinear_clamped_and_broadcast(table, dtype):
    rows, columns = table.dfg.shape[:2]
    i, j = 17, 30
    node_v, node_r = table.n_dot_v[i], table.roughness[j]
    at_node = dfg.dfg_lookup(tf.constant(node_v, dtype), tf.constant(node_r, dtype), table=table)
    assert at_node.dtype == dtype and at_node.shape == (2,)
    np.testing.assert_allclose(at_node.numpy(), table.dfg[i, j], atol=1e-6)
    mid_v = 0.5 * (table.n_dot_v[i] + table.n_dot_v[i + 1])
    mid_r = 0.5 * (table.roughness[j] + table.roughness[j + 1])
    expected = table.dfg[i:i + 2, j:j + 2].astype(np.float64).mean(axis=(0, 1))
    np.testing.assert_allclose(dfg.dfg_lookup(tf.constant(mid_v, dtype), tf.constant(mid_r, dtype),
                                              table=table).numpy(), expected, atol=1e-6)
    # Clamp to edge.
    np.testing.assert_allclose(dfg.dfg_lookup(tf.constant(1.5, dtype), tf.constant(-0.2, dtype), table=table).numpy(),
                               table.dfg[rows - 1, 0], atol=1e-6)
    # Broadcasting: [4, 1] n.v against [3] roughness.
    got = dfg.dfg_lookup(tf.constant(np.linspace(0.1, 0.9, 4)[:, None], dtype),
                         tf.constant([0.2, 0.5, 0.8], dtype), table=table)
    assert got.shape == (4, 3, 2)
    assert columns == table.roughness.size


def test_lookup_gradients_match_finite_differences(table):
    n_dot_v = tf.constant([0.31, 0.77], tf.float64)
    roughness = tf.constant([0.43, 0.66], tf.float64)
    theoretical, numerical = tf.test.compute_gradient(
        lambda v, r: dfg.dfg_lookup(v, r, table=table), [n_dot_v, roughness], delta=1e-5)
    for t, n in zip(theoretical, numerical):
        np.testing.assert_allclose(t, n, atol=1e-6)


def test_missing_and_corrupt_files_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        dfg.load_dfg_table(tmp_path / "absent.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not an npz archive at all")
    with pytest.raises(ModelError, match="unreadable or corrupt"):
        dfg.load_dfg_table(garbage)
    wrong_shape = tmp_path / "wrong_shape.npz"
    np.savez(wrong_shape, dfg=np.zeros((8, 8, 3), np.float32), n_dot_v=np.linspace(0, 1, 8),
             roughness=np.linspace(0, 1, 8))
    with pytest.raises(ModelError, match="shape"):
        dfg.load_dfg_table(wrong_shape)
    missing_key = tmp_path / "missing_key.npz"
    np.savez(missing_key, dfg=np.zeros((8, 8, 2), np.float32))
    with pytest.raises(ModelError, match="corrupt"):
        dfg.load_dfg_table(missing_key)
    bad_values = tmp_path / "bad_values.npz"
    np.savez(bad_values, dfg=np.full((8, 8, 2), np.nan, np.float32), n_dot_v=np.linspace(0, 1, 8),
             roughness=np.linspace(0, 1, 8))
    with pytest.raises(ModelError, match="outside"):
        dfg.load_dfg_table(bad_values)


def test_default_table_is_found_and_cached():
    first = dfg.load_dfg_table()
    assert first is dfg.load_dfg_table()
    assert first.path.name == dfg.DFG_TABLE_FILENAME and first.dfg.shape == (64, 64, 2)

"""The ICT-FaceKit head in models/ict_head.npz: loader, mode arithmetic, triangles, render mesh."""

import numpy as np
import pytest

from svfri.geometry.ict_head import PART_NAMES, VERTEX_COUNT, load_ict_head


@pytest.fixture(scope="module")
def head():
    return load_ict_head()


def test_loader_shapes_and_dtypes(head):
    assert head.neutral.shape == (VERTEX_COUNT, 3) and head.neutral.dtype == np.float32
    assert head.identity_modes.shape[1:] == (VERTEX_COUNT, 3) and head.identity_modes.dtype == np.float32
    assert head.expression_modes.shape == (53, VERTEX_COUNT, 3)
    assert head.part_names == PART_NAMES
    assert not head.neutral.flags.writeable and not head.render_uv.flags.writeable
    np.testing.assert_array_equal(head.render_source[head.render_faces], head.faces)

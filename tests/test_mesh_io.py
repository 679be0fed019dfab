"""OBJ/MTL writing and reading back (svfri.io.mesh_io): one material and several (the ICT head's parts)."""

from __future__ import annotations

import numpy as np
import pytest

from svfri.io.mesh_io import ObjMaterial, read_obj, write_obj


def _mesh(rng, blocks=3, per_block=4):
    vertices = rng.normal(size=(blocks * per_block, 3))
    uv = rng.uniform(size=(blocks * per_block, 2))
    normals = rng.normal(size=vertices.shape)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    faces, material = [], []
    for b in range(blocks):
        base = b * per_block
        faces += [[base, base + 1, base + 2], [base + 1, base + 3, base + 2]]
        material += [b, b]
    return vertices, np.array(faces), uv, normals, np.array(material)


def test_multi_material_round_trip_and_trimesh_order(tmp_path):
    rng = np.random.default_rng(0)
    vertices, faces, uv, normals, material = _mesh(rng)
    materials = [ObjMaterial("face", "skin", {"albedo": "albedo.png"}), ObjMaterial("sclera", "eyes",
                 {"albedo": "sclera.png"}, roughness=0.1, ior=1.376),
                 ObjMaterial("teeth", "mouth", diffuse_linear=(0.6, 0.55, 0.5), roughness=0.3, ior=1.62)]
    path = tmp_path / "mesh.obj"
    write_obj(path, vertices, faces, uv, normals, materials=materials, face_material=material)
    back = read_obj(path)
    assert np.allclose(back.vertices, vertices, atol=1e-5) and np.allclose(back.uv, uv, atol=1e-5)
    names = np.array(back.material_names)[back.face_material]
    expected = {tuple(sorted(f)): materials[m].name for f, m in zip(faces.tolist(), material)}
    assert {tuple(sorted(f)): n for f, n in zip(back.faces.tolist(), names)} == expected
    mtl = (tmp_path / "mesh.mtl").read_text()
    assert "newmtl teeth" in mtl and "Ni 1.62" in mtl and "map_Kd sclera.png" in mtl
    trimesh = pytest.importorskip("trimesh")
    loaded = trimesh.load(path, process=False, force="mesh")
    # Other readers (trimesh, used by the benchmarks) must see the vertices in the file's order.
    assert np.allclose(np.asarray(loaded.vertices), vertices, atol=1e-5)


def test_multi_material_refuses_shared_vertices(tmp_path):
    rng = np.random.default_rng(1)
    vertices, faces, uv, normals, material = _mesh(rng)
    faces[2, 0] = 0  # a block-1 triangle uses a block-0 vertex
    with pytest.raises(ValueError, match="two materials"):
        write_obj(tmp_path / "m.obj", vertices, faces, uv, normals,
                  materials=[ObjMaterial("a"), ObjMaterial("b"), ObjMaterial("c")], face_material=material)


def test_read_obj_declines_foreign_corners(tmp_path):
    path = tmp_path / "foreign.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nvn 0 0 1\nf 1/1/1 2/3/1 3/2/1\n")
    assert read_obj(path) is None

"""Reading and writing: photos, HDR maps, meshes (OBJ/MTL, glTF), output folders (staged, atomic)."""

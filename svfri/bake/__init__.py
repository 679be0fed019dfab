"""Per-photo baking of the fixed mesh: ray-cast SH visibility and bent normals, the G-buffer rasteriser, UV bakes and the photo unwrap."""

"""Path-traced portraits (Mitsuba 3, optional: ``pip install 'svfri[bench]'``) with exactly known reflectance.

* :mod:`~svfri.synth.pathtraced.heads` -- ICT-FaceKit heads with procedural skin, eyes, teeth, hair cap, clothes;
* :mod:`~svfri.synth.pathtraced.mitsuba_render` -- the Mitsuba scene, AOVs (uv, normals, part IDs);
* :mod:`~svfri.synth.pathtraced.camera` -- metering, white balance, noise, JPEG of the rendered radiance;
* :mod:`~svfri.synth.pathtraced.scenes` -- one scene from a seed and its truth in photo space;
* :mod:`~svfri.synth.pathtraced.worker` -- the render process (Mitsuba must start before TensorFlow).

Used by the held-out benchmark (``benchmarks/pathtraced``, which fixes which seeds and maps are for tuning and
reporting) and by the training-scene renderer (``precompute/render_training_scenes.py``, seeds and maps disjoint
from both). Importing this package does not import Mitsuba.
"""

"""The conventions every module of svfri follows, stated once.

Spaces
------
* **Photo pixels**: ``(u, v)`` with ``u`` to the right and ``v`` down, origin at the top-left corner of the
  top-left pixel; pixel ``(i, j)`` (row ``i``, column ``j``) has its centre at ``(j + 0.5, i + 0.5)``.
* **World / mesh space**: right-handed, ``+X`` to the subject's left (the viewer's right), ``+Y`` up,
  ``+Z`` out of the face towards the camera (OpenGL convention). Units are centimetres, set by scaling the
  fitted mesh so that its outer-eye-corner distance equals :data:`OUTER_EYE_CORNER_DISTANCE_CM`.
* **Camera**: scaled orthographic (weak perspective), looking down ``-Z``. ``world_to_pixel`` is a 3x4 matrix
  ``P`` with ``[u, v, 1]^T = P @ [X, Y, Z, 1]^T`` (its last row is ``[0, 0, 0, 1]``). The view direction
  (surface to camera) is ``+Z`` for every pixel.
* **UV**: ``(s, t)`` in ``[0, 1]^2``, ``t`` up (OpenGL/glTF/OBJ convention). Texture row ``i`` of an
  ``N x N`` map holds ``t = 1 - (i + 0.5) / N``.
* **Tangent frame**: ``T = dP/ds``, ``B = dP/dt`` orthonormalised against the normal ``N``, handedness in
  the 4th tangent component as glTF stores it (``B = w * cross(N, T)``).
* **Normal maps**: tangent space, OpenGL convention (``+Y`` = ``+t`` = up), stored as ``0.5 * n + 0.5``.

Colour
------
* Albedo maps are stored sRGB-encoded; the renderer works in linear RGB (IEC 61966-2-1 transfer function).
* Specular maps are linear greyscale intensity in ``[0, 1]``, a scale on the skin's ``F0``.
* Renders are written as linear EXR and as sRGB-encoded PNG.

Lighting
--------
* Real spherical harmonics to band 2, 9 coefficients, orthonormal over the sphere, ordered by
  ``(l, m)``: ``(0,0) (1,-1) (1,0) (1,1) (2,-2) (2,-1) (2,0) (2,1) (2,2)``, with no Condon-Shortley phase
  (see :mod:`svfri.math.sh`). Lighting coefficients describe incoming **radiance**
  ``L(w) = sum_i c_i Y_i(w)`` in linear RGB, ``w`` the direction towards the light, in world space.
* Lambertian convention: outgoing radiance ``= albedo / pi * irradiance``. A surface of albedo 1 under
  constant radiance 1 with no occlusion reflects radiance 1 (the white-furnace test).
* Equirectangular environment maps: column ``u`` in ``[0, 1)`` maps to azimuth ``phi = 2 pi u``, row ``v``
  in ``[0, 1]`` (top to bottom) maps to polar angle ``theta = pi v`` from ``+Y``; direction
  ``(x, y, z) = (sin(theta) sin(phi), cos(theta), -sin(theta) cos(phi))``, so the map's centre column
  (``u = 0.5``) is the direction ``+Z`` (behind the camera: the light that falls on the front of the face),
  ``u = 0`` is ``-Z``, and, seen from inside the sphere facing the centre, ``u`` grows to the right (``-X``),
  as in an ordinary panorama photo.
"""

#: Adult mean outer-eye-corner (exocanthion) distance, used to give world space centimetre units.
#: Approximate population mean (Farkas, "Anthropometry of the Head and Face", ex-ex ~ 9 cm).
OUTER_EYE_CORNER_DISTANCE_CM = 9.0

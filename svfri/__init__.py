"""svfri: single-view facial reflectance inference.

One portrait photo -> albedo, specular and normal maps in a fixed UV layout, SH lighting and the face mesh,
by optimising network latent codes through a differentiable physically based renderer (Geng et al. 2021).
Conventions used everywhere are stated once in :mod:`svfri.conventions`.
"""

__version__ = "0.1.0"

"""Pure math: spherical harmonics, BRDF terms, colour transfer and colorimetry, sampling, image metrics."""

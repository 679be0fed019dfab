"""Latent-code optimisation through the renderer (the fit of Geng et al. 2021, section 6)."""

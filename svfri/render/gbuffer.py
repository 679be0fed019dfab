"""The G-buffer record, re-exported where the renderer's callers look for it.

The record itself (:class:`~svfri.geometry.gbuffer.GBuffer`, :class:`~svfri.geometry.gbuffer.BlockMap`) lives in
:mod:`svfri.geometry.gbuffer`, below both :mod:`svfri.bake` (which rasterises it) and :mod:`svfri.render` (which
shades it), so that neither of the two imports the other for it (docs/architecture.md, "Layers").
"""

from svfri.geometry.gbuffer import VIEW_DIRECTION, BlockMap, GBuffer

__all__ = ["GBuffer", "BlockMap", "VIEW_DIRECTION"]

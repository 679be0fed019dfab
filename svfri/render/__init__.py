"""Rendering: the G-buffer record, the differentiable shader, texture sampling, the DFG table, HDR environments and relighting."""

"""Geometry: face detection and mesh regression, the camera, the canonical template, subdivision, mesh operations."""

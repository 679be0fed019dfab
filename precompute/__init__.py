"""Offline precomputation scripts (run as ``python -m precompute.<name>`` from the repository root).

They import :mod:`svfri` and write into ``models/``; :mod:`svfri` never imports this package.
"""

"""Only the package list lives here (setup.cfg holds the rest): svfri/* plus the mapped cli/ and models/ folders.

models/'s data folders (hdri/, level/, networks/) have no ``__init__.py`` but are importable as namespace packages,
so they are listed as packages of their own (setuptools warns about, and will stop shipping, data folders that are
importable but not listed); their files are named in setup.cfg's package_data.
"""

from setuptools import find_packages, setup

MODEL_DATA_PACKAGES = ["svfri_models.hdri", "svfri_models.level", "svfri_models.networks"]

setup(packages=find_packages(include=["svfri", "svfri.*"]) + ["svfri_cli", "svfri_models"] + MODEL_DATA_PACKAGES)

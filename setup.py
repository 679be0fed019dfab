"""Only the package list lives here (setup.cfg holds the rest): svfri/* plus the mapped cli/ and models/ folders."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["svfri", "svfri.*"]) + ["svfri_cli", "svfri_models"])

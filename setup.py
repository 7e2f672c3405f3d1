"""Package layout that pyproject.toml cannot express: ``models/`` installed as package data.

The GVC model and its scenario files stay in the repository's ``models/`` folder (where
modellers edit them) and are installed as the package ``gvcdyn.bundled_models``, so that
``gvcdyn demo`` works after a plain ``pip install .``. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["gvcdyn", "gvcdyn.*"]), "gvcdyn.bundled_models"],
    package_dir={"gvcdyn.bundled_models": "models"},
)

"""Package layout that pyproject.toml cannot express: data folders installed inside gvcdyn.

The shipped model and its scenarios stay in the repository's ``models/`` folder, and its
calibration config, case table and mapping in ``calibration/`` (where modellers edit
them). They are installed as ``gvcdyn/bundled/models/`` and ``gvcdyn/bundled/calibration/``
(side by side, so the relative paths inside the files still hold), so that every command
finds them by name after a plain ``pip install .`` (``gvcdyn/bundled/__init__.py``).
Only the data files listed in pyproject.toml's package-data go in: the folders' Python
scripts (analyses, reports) are not part of the package. Everything else is in
pyproject.toml.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

#: package -> folder of the repository whose data files (not scripts) are shipped
DATA_PACKAGES = {
    "gvcdyn.bundled.models": "models",
    "gvcdyn.bundled.models.scenarios": "models/scenarios",
    "gvcdyn.bundled.calibration": "calibration",
}


class BuildDataWithoutScripts(build_py):
    """build_py that takes no Python modules from the data folders."""

    def find_package_modules(self, package, package_dir):
        if package in DATA_PACKAGES:
            return []
        return super().find_package_modules(package, package_dir)


setup(
    packages=[*find_packages(include=["gvcdyn", "gvcdyn.*"]), *DATA_PACKAGES],
    package_dir=DATA_PACKAGES,
    cmdclass={"build_py": BuildDataWithoutScripts},
)

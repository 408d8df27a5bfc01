"""Where templates, migrations and config files are, in a checkout and in an installed wheel.

In a checkout they sit at the repository top, beside ``clinic/``; the wheel carries copies
inside the package (see ``force-include`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    inside_package = PACKAGE_DIR / name
    if inside_package.is_dir():
        return inside_package
    return PACKAGE_DIR.parent / name


TEMPLATES_DIR = resource_dir("templates")
MIGRATIONS_DIR = resource_dir("migrations")
CONFIG_DIR = resource_dir("config")
STATIC_DIR = PACKAGE_DIR / "static"

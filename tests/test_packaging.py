"""The wheel carries what the app needs at run time; README and CI agree on the test command."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_readme_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    test_command = next(block for block in blocks if "pytest" in block)
    assert test_command in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_wheel_ships_templates_migrations_and_config(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("clinic-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "clinic/templates/base.html",
        "clinic/migrations/env.py",
        "clinic/migrations/alembic.ini",
        "clinic/migrations/versions/0001_initial_schema.py",
        "clinic/config/default.toml",
        "clinic/static/clinic.css",
    ):
        assert required in names, required

    # Run the app from the unpacked wheel (not the checkout): migrate, then render a page.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import clinic, clinic.paths as p;"
        f"assert str(p.TEMPLATES_DIR).startswith({str(site)!r}), p.TEMPLATES_DIR;"
        f"assert str(p.MIGRATIONS_DIR).startswith({str(site)!r}), p.MIGRATIONS_DIR;"
        "from flask_migrate import upgrade;"
        f"app = clinic.create_app({{'INSTANCE_PATH': {str(tmp_path / 'inst')!r}}});"
        "ctx = app.app_context(); ctx.push(); upgrade();"
        "r = app.test_client().get('/login'); assert r.status_code == 200, r.status_code;"
        "print('wheel app ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "wheel app ok" in result.stdout, result.stderr[-2000:]
